"""The household's visitor pages: invite (the code and QR shown once), cancel, and answer a walk-in
waiting at the booth; a neighbour's invitations and visits are out of reach."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from linli.visitors import services
from linli.visitors.models import Invitation, InvitationStatus, VisitStatus
from linli.web.views.auth import RESIDENT_BACKEND


def resident_client(user) -> Client:
    client = Client()
    client.force_login(user, backend=RESIDENT_BACKEND)
    return client


def local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def invite(side, name="李四", **extra):
    now = timezone.now()
    return services.invite(actor=side.users["resident"], house=side.house, visitor_name=name,
                           starts_at=now - dt.timedelta(minutes=5), ends_at=now + dt.timedelta(hours=4), **extra)


@pytest.mark.django_db
def test_the_invitation_form_offers_the_next_four_hours_and_one_use(district):
    page = resident_client(district.a.users["resident"]).get("/m/visitors/new/")
    assert page.status_code == 200
    form = page.context["form"]
    start, end = form.initial["starts_at"], form.initial["ends_at"]
    assert end - start == dt.timedelta(hours=4) and abs(timezone.now() - start) < dt.timedelta(minutes=2)
    assert form.initial["uses"] == 1 and form.initial["house"] == district.a.house.pk
    assert 'type="datetime-local"' in page.content.decode()


@pytest.mark.django_db
def test_a_new_invitations_code_is_shown_once_and_admits_the_visitor(district):
    client = resident_client(district.a.users["resident"])
    now = timezone.now()
    answer = client.post("/m/visitors/new/", {
        "house": district.a.house.pk, "visitor_name": "张三", "visitor_phone": "13612345678",
        "starts_at": local(now), "ends_at": local(now + dt.timedelta(hours=4)), "uses": 2, "plate": "鲁B88888"})
    invitation = Invitation.objects.get(visitor_name="张三")
    assert answer.status_code == 302 and answer["Location"] == f"/m/visitors/{invitation.pk}/"
    assert invitation.uses_allowed == 2 and invitation.plate == "鲁B88888"
    assert invitation.visitor_phone_masked == "136****5678"
    first = client.get(answer["Location"])
    assert first["Cache-Control"] == "no-store"
    html = first.content.decode()
    code = re.search(r'id="invite-code">([^<]+)<', html).group(1)
    assert "<svg" in html and "只显示这一次" in html
    assert "13612345678" not in html
    second = client.get(answer["Location"]).content.decode()
    assert code not in second and "只在创建时显示一次" in second and "<svg" not in second
    visit = services.honour_invitation(code=code, actor=district.a.users["guard"])
    assert visit.invitation_id == invitation.pk


@pytest.mark.django_db
def test_an_invitation_that_ends_before_it_starts_is_refused_naming_the_field(district):
    client = resident_client(district.a.users["resident"])
    now = timezone.now()
    answer = client.post("/m/visitors/new/", {
        "house": district.a.house.pk, "visitor_name": "张三", "starts_at": local(now + dt.timedelta(hours=2)),
        "ends_at": local(now + dt.timedelta(hours=1)), "uses": 1})
    assert answer.status_code == 400
    assert answer.context["form"].errors["ends_at"] == ["结束时间必须晚于开始时间"]
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_a_resident_cannot_invite_for_a_house_they_do_not_live_in(district):
    client = resident_client(district.a.users["resident"])
    now = timezone.now()
    answer = client.post("/m/visitors/new/", {
        "house": district.a.other_house.pk, "visitor_name": "张三", "starts_at": local(now),
        "ends_at": local(now + dt.timedelta(hours=4)), "uses": 1})
    assert answer.status_code == 400 and "house" in answer.context["form"].errors
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_the_list_sorts_invitations_into_active_used_and_ended(district, django_assert_max_num_queries):
    active, _code = invite(district.a, "甲")
    used, used_code = invite(district.a, "乙")
    services.honour_invitation(code=used_code, actor=district.a.users["guard"])
    cancelled, _code = invite(district.a, "丙")
    services.cancel_invitation(actor=district.a.users["resident"], invitation=cancelled)
    client = resident_client(district.a.users["resident"])
    client.get("/m/visitors/")
    with django_assert_max_num_queries(12):
        html = client.get("/m/visitors/").content.decode()
    sections = {name: html.split(f'id="{name}"')[1].split("</ul>")[0] for name in ("active", "used", "ended")}
    assert f"invitation-{active.pk}" in sections["active"] and "取消邀请" in sections["active"]
    assert f"invitation-{used.pk}" in sections["used"] and "1 / 1" in sections["used"]
    assert f"invitation-{cancelled.pk}" in sections["ended"] and "已取消" in sections["ended"]


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_one_invitation_or_many(district, django_assert_max_num_queries):
    invite(district.a)
    client = resident_client(district.a.users["resident"])
    client.get("/m/visitors/")
    with django_assert_max_num_queries(12) as one:
        client.get("/m/visitors/")
    for n in range(4):
        invite(district.a, f"访客{n}")
    services.register_walk_in(actor=district.a.users["guard"], house=district.a.house, visitor_name="王五")
    services.register_walk_in(actor=district.a.users["guard"], house=district.a.house, visitor_name="赵六")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get("/m/visitors/").status_code == 200


@pytest.mark.django_db
def test_a_resident_cancels_an_invitation_and_its_code_stops_working(district):
    invitation, code = invite(district.a)
    client = resident_client(district.a.users["resident"])
    answer = client.post(f"/m/visitors/{invitation.pk}/cancel/", follow=True)
    assert "邀请已取消" in answer.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.CANCELLED
    with pytest.raises(services.VisitRefused) as refused:
        services.honour_invitation(code=code, actor=district.a.users["guard"])
    assert refused.value.reason == "cancelled"


@pytest.mark.django_db
def test_a_neighbours_invitation_is_not_found(district):
    theirs, _code = invite(district.b)
    client = resident_client(district.a.users["resident"])
    assert client.get(f"/m/visitors/{theirs.pk}/").status_code == 404
    assert client.post(f"/m/visitors/{theirs.pk}/cancel/").status_code == 404
    assert f"invitation-{theirs.pk}" not in client.get("/m/visitors/").content.decode()
    theirs.refresh_from_db()
    assert theirs.status == InvitationStatus.ACTIVE


@pytest.mark.django_db
def test_a_household_lets_in_a_walk_in_waiting_at_the_booth(district):
    visit = services.register_walk_in(actor=district.a.users["guard"], house=district.a.house, visitor_name="王五",
                                      purpose="送水", visitor_phone="13712345678")
    client = resident_client(district.a.users["resident"])
    html = client.get("/m/visitors/").content.decode()
    waiting = html.split('id="walk-ins"')[1]
    assert f"visit-{visit.pk}" in waiting and "送水" in waiting and "137****5678" in waiting
    assert "13712345678" not in html
    answer = client.post(f"/m/visitors/walk-ins/{visit.pk}/answer/", {"admit": "1"}, follow=True)
    assert "已同意访客进入" in answer.content.decode()
    visit.refresh_from_db()
    assert visit.status == VisitStatus.ADMITTED and visit.answered_by == district.a.users["resident"]
    assert 'id="walk-ins"' not in answer.content.decode()


@pytest.mark.django_db
def test_a_household_turns_a_walk_in_away_and_cannot_change_its_mind(district):
    visit = services.register_walk_in(actor=district.a.users["guard"], house=district.a.house, visitor_name="王五")
    client = resident_client(district.a.users["resident"])
    client.post(f"/m/visitors/walk-ins/{visit.pk}/answer/", {"admit": "0"})
    visit.refresh_from_db()
    assert visit.status == VisitStatus.REFUSED
    again = client.post(f"/m/visitors/walk-ins/{visit.pk}/answer/", {"admit": "1"}, follow=True)
    assert "该来访已处理" in again.content.decode()
    visit.refresh_from_db()
    assert visit.status == VisitStatus.REFUSED


@pytest.mark.django_db
def test_a_neighbours_walk_in_cannot_be_answered(district):
    visit = services.register_walk_in(actor=district.b.users["guard"], house=district.b.house, visitor_name="王五")
    client = resident_client(district.a.users["resident"])
    assert client.post(f"/m/visitors/walk-ins/{visit.pk}/answer/", {"admit": "1"}).status_code == 404
    visit.refresh_from_db()
    assert visit.status == VisitStatus.PENDING_HOST
