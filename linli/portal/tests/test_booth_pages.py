"""The guard's booth on a phone: parcels taken in and handed over against the household's code,
visitor codes checked, walk-ins registered and answered; each guard only within their compound."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from linli.notify.models import Notification
from linli.parcels import services as parcels
from linli.parcels.models import Parcel, Status
from linli.visitors import services as visitors
from linli.visitors.models import Visit, VisitStatus
from linli.web.views.auth import RESIDENT_BACKEND, STAFF_BACKEND


def staff_client(user) -> Client:
    client = Client()
    client.force_login(user, backend=STAFF_BACKEND)
    return client


def invite(side, **extra):
    now = timezone.now()
    return visitors.invite(actor=side.users["resident"], house=side.house, visitor_name="张三",
                           starts_at=now - dt.timedelta(minutes=1), ends_at=now + dt.timedelta(hours=4), **extra)


@pytest.mark.django_db
def test_only_booth_staff_reach_the_booth(district):
    assert Client().get("/m/booth/")["Location"].startswith("/login/")
    resident = Client()
    resident.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    assert resident.get("/m/booth/")["Location"].startswith("/login/")
    assert staff_client(district.a.users["technician"]).get("/m/booth/").status_code == 403
    for role in ("guard", "customer_service", "property_manager"):
        assert staff_client(district.a.users[role]).get("/m/booth/").status_code == 200, role


@pytest.mark.django_db
def test_customer_service_registers_parcels_and_walk_ins_but_checks_no_codes(district):
    html = staff_client(district.a.users["customer_service"]).get("/m/booth/").content.decode()
    assert "登记快递" in html and "登记临时访客" in html and "核验访客邀请码" not in html
    html = staff_client(district.a.users["guard"]).get("/m/booth/").content.decode()
    assert "核验访客邀请码" in html


@pytest.mark.django_db
def test_the_house_picker_walks_building_unit_house_within_the_guards_compound(district):
    client = staff_client(district.a.users["guard"])
    a, b = district.a, district.b
    first = client.get("/m/booth/parcels/new/")
    assert first.status_code == 200
    assert [x.pk for x in first.context["picker"]["buildings"]] == [a.building.pk]
    assert first.context["picker"]["houses"] == []
    picked = client.get(f"/m/booth/parcels/new/?building={a.building.pk}&unit={a.unit.pk}").context["picker"]
    assert {h.pk for h in picked["houses"]} == {a.house.pk, a.other_house.pk}
    foreign = client.get(f"/m/booth/parcels/new/?building={b.building.pk}&unit={b.unit.pk}").context["picker"]
    assert foreign["building_id"] is None and foreign["houses"] == []


@pytest.mark.django_db
def test_a_guard_registers_a_parcel_and_the_household_is_told(district):
    client = staff_client(district.a.users["guard"])
    answer = client.post(f"/m/booth/parcels/new/?building={district.a.building.pk}&unit={district.a.unit.pk}",
                         {"house": district.a.house.pk, "courier": "中通", "tracking_no": "ZT7788990011",
                          "position": "B-12"})
    parcel = Parcel.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/m/booth/parcels/?house={district.a.house.pk}"
    assert (parcel.house, parcel.courier, parcel.position, parcel.tracking_last4) == (
        district.a.house, "中通", "B-12", "0011")
    assert Notification.objects.filter(source=f"parcel:{parcel.pk}").exists()
    listed = client.get(answer["Location"]).content.decode()
    assert "快递已登记" in listed and f"parcel-{parcel.pk}" in listed
    assert parcel.pickup_code not in listed  # the guard must be told the code by the household


@pytest.mark.django_db
def test_a_parcel_form_without_a_house_or_with_a_bad_tracking_number_is_refused(district):
    client = staff_client(district.a.users["guard"])
    missing = client.post("/m/booth/parcels/new/", {"courier": "中通"})
    assert missing.status_code == 400 and missing.context["form"].errors["house"] == ["请选择房屋"]
    bad = client.post("/m/booth/parcels/new/", {"house": district.a.house.pk, "tracking_no": "快递?"})
    assert bad.status_code == 400 and bad.context["form"].errors["tracking_no"] == ["快递单号格式不正确"]
    assert not Parcel.objects.exists()


@pytest.mark.django_db
def test_a_guard_of_another_compound_cannot_register_for_this_house(district):
    client = staff_client(district.b.users["guard"])
    answer = client.post("/m/booth/parcels/new/", {"house": district.a.house.pk, "courier": "中通"})
    assert answer.status_code == 404
    walk_in = client.post("/m/booth/walk-ins/new/", {"house": district.a.house.pk, "visitor_name": "王五"})
    assert walk_in.status_code == 404
    assert not Parcel.objects.exists() and not Visit.objects.exists()


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_the_right_one_hands_the_parcel_over(district):
    parcel = parcels.register_parcel(actor=district.a.users["guard"], house=district.a.house, courier="顺丰")
    client = staff_client(district.a.users["guard"])
    wrong = "000000" if parcel.pickup_code != "000000" else "111111"
    refused = client.post(f"/m/booth/parcels/{parcel.pk}/pickup/?q=501", {"pickup_code": wrong})
    assert refused.status_code == 400 and "取件码不正确" in refused.content.decode()
    parcel.refresh_from_db()
    assert parcel.status == Status.WAITING and parcel.failed_code_attempts == 1
    empty = client.post(f"/m/booth/parcels/{parcel.pk}/pickup/", {"pickup_code": ""})
    assert empty.status_code == 400 and "请输入住户出示的取件码" in empty.content.decode()
    handed = client.post(f"/m/booth/parcels/{parcel.pk}/pickup/?q=501", {"pickup_code": parcel.pickup_code})
    assert handed.status_code == 302 and handed["Location"] == "/m/booth/parcels/?q=501"
    parcel.refresh_from_db()
    assert parcel.status == Status.PICKED_UP and parcel.picked_up_by == district.a.users["guard"]
    assert "取件成功" in client.get(handed["Location"]).content.decode()


@pytest.mark.django_db
def test_a_guard_cannot_hand_over_another_compounds_parcel(district):
    parcel = parcels.register_parcel(actor=district.a.users["guard"], house=district.a.house)
    client = staff_client(district.b.users["guard"])
    assert client.post(f"/m/booth/parcels/{parcel.pk}/pickup/", {"pickup_code": parcel.pickup_code}).status_code == 404
    assert f"parcel-{parcel.pk}" not in client.get("/m/booth/parcels/").content.decode()
    parcel.refresh_from_db()
    assert parcel.status == Status.WAITING


@pytest.mark.django_db
def test_the_waiting_parcels_are_found_by_house_number(district):
    mine = parcels.register_parcel(actor=district.a.users["guard"], house=district.a.house)
    other = parcels.register_parcel(actor=district.a.users["guard"], house=district.a.other_house)
    client = staff_client(district.a.users["guard"])
    html = client.get("/m/booth/parcels/?q=501").content.decode()
    assert f"parcel-{mine.pk}" in html and f"parcel-{other.pk}" not in html
    html = client.get(f"/m/booth/parcels/?house={district.a.other_house.pk}").content.decode()
    assert f"parcel-{other.pk}" in html and f"parcel-{mine.pk}" not in html


@pytest.mark.django_db
def test_the_booth_lists_cost_the_same_queries_for_few_or_many(district, django_assert_max_num_queries):
    guard = district.a.users["guard"]
    parcels.register_parcel(actor=guard, house=district.a.house)
    visitors.register_walk_in(actor=guard, house=district.a.house, visitor_name="王五")
    client = staff_client(guard)
    client.get("/m/booth/")
    counts = {}
    for url in ("/m/booth/", "/m/booth/parcels/"):
        with django_assert_max_num_queries(15) as one:
            assert client.get(url).status_code == 200
        counts[url] = len(one.captured_queries)
    for n in range(4):
        parcels.register_parcel(actor=guard, house=district.a.other_house)
        visitors.register_walk_in(actor=guard, house=district.a.other_house, visitor_name=f"访客{n}")
    for url, count in counts.items():
        with django_assert_max_num_queries(count):
            assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_a_visitor_code_admits_once_then_is_refused_with_the_reason(district):
    _invitation, code = invite(district.a, plate="鲁B88888", uses=2)
    client = staff_client(district.a.users["guard"])
    admitted = client.post("/m/booth/check/", {"code": code})
    html = admitted.content.decode()
    assert admitted.status_code == 200 and "允许进入" in html and "张三" in html and "鲁B88888" in html
    assert admitted.context["remaining"] == 1
    assert Visit.objects.get().status == VisitStatus.ADMITTED
    assert client.post("/m/booth/check/", {"code": code}).context["remaining"] == 0
    again = client.post("/m/booth/check/", {"code": code}).content.decode()
    assert "拒绝进入" in again and "邀请次数已用完" in again
    assert Visit.objects.count() == 2


@pytest.mark.django_db
def test_a_code_with_another_plate_is_refused(district):
    _invitation, code = invite(district.a, plate="鲁B88888")
    html = staff_client(district.a.users["guard"]).post("/m/booth/check/", {"code": code, "plate": "鲁B12345"})
    assert "车牌与邀请不符" in html.content.decode()
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_code_of_another_compound_or_a_made_up_one_is_unknown_at_this_booth(district):
    _invitation, code = invite(district.b)
    client = staff_client(district.a.users["guard"])
    for tried in (code, "not-a-code"):
        html = client.post("/m/booth/check/", {"code": tried}).content.decode()
        assert "拒绝进入" in html and "邀请码无效" in html
    assert client.post("/m/booth/check/", {"code": ""}).status_code == 400
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_walk_in_waits_for_the_household_and_the_booth_sees_the_answer(district):
    client = staff_client(district.a.users["guard"])
    answer = client.post(f"/m/booth/walk-ins/new/?building={district.a.building.pk}&unit={district.a.unit.pk}",
                         {"house": district.a.house.pk, "visitor_name": "王五", "purpose": "送水",
                          "visitor_phone": "13712345678"})
    visit = Visit.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/m/booth/visits/{visit.pk}/"
    waiting = client.get(answer["Location"]).content.decode()
    assert "等待住户确认" in waiting and 'http-equiv="refresh"' in waiting
    assert "137****5678" in waiting and "13712345678" not in waiting
    visitors.answer_walk_in(actor=district.a.users["resident"], visit=visit, admit=True)
    answered = client.get(answer["Location"]).content.decode()
    assert "允许进入" in answered and 'http-equiv="refresh"' not in answered
    assert "王五" in client.get("/m/booth/").content.decode()


@pytest.mark.django_db
def test_an_unanswered_walk_in_shows_as_timed_out_once_its_answer_time_passed(district):
    visit = visitors.register_walk_in(actor=district.a.users["guard"], house=district.a.house, visitor_name="王五")
    Visit.objects.filter(pk=visit.pk).update(answer_by=timezone.now() - dt.timedelta(seconds=1))
    html = staff_client(district.a.users["guard"]).get(f"/m/booth/visits/{visit.pk}/").content.decode()
    assert "拒绝进入" in html and "确认超时" in html and 'http-equiv="refresh"' not in html


@pytest.mark.django_db
def test_another_compounds_visit_is_not_found_at_the_booth(district):
    visit = visitors.register_walk_in(actor=district.b.users["guard"], house=district.b.house, visitor_name="王五")
    assert staff_client(district.a.users["guard"]).get(f"/m/booth/visits/{visit.pk}/").status_code == 404
