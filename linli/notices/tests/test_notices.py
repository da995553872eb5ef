"""Notices: who they reach (compound, building, unit, staff roles), scheduling, read receipts and
the emergency broadcast to a building."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.accounts import services as accounts
from linli.core.errors import Forbidden
from linli.core.testing import ID_NUMBERS
from linli.notices import selectors, services
from linli.notices.models import Notice, NoticeRead, NoticeStatus
from linli.notify.models import Channel, Delivery, Notification, PushSubscription, WechatBinding
from linli.people import services as people
from linli.places import services as places

pytestmark = pytest.mark.django_db


def _family_account(d):
    return accounts.create_resident_account(actor=d.admin, person=d.a.family)


def _resident_of_building_4(d):
    """A resident of house 101 in building 4 of side A's compound (next to building 3)."""
    building = places.create_building(actor=d.admin, compound=d.a.compound, number="4", floors_above=6)
    house = places.create_house(actor=d.admin, unit=building.units.get(), number="101", floor=1,
                                built_area="70.00")
    person = people.create_person(actor=d.admin, compound=d.a.compound, name="四号楼住户", id_type="mainland_id",
                                  id_number=ID_NUMBERS["a_neighbour"], phone="13700137001")
    people.add_residency(actor=d.admin, person=person, house=house, role="owner", since=dt.date(2018, 1, 1))
    return building, accounts.create_resident_account(actor=d.admin, person=person)


def _publish(d, **fields):
    manager = d.a.users["property_manager"]
    fields.setdefault("title", "停电通知")
    fields.setdefault("body", "明天上午检修线路。")
    return services.publish_notice(actor=manager, notice=services.draft_notice(actor=manager, compound=d.a.compound,
                                                                               **fields))


def test_a_building_notice_reaches_that_buildings_residents_and_not_the_next_buildings(district):
    d = district
    building_4, neighbour = _resident_of_building_4(d)
    notice = _publish(d, building=d.a.building, category="maintenance")
    resident = d.a.users["resident"]
    assert list(selectors.notices_for(resident)) == [notice]
    assert list(selectors.notices_for(neighbour)) == []
    assert list(selectors.notices_for(d.b.users["resident"])) == []
    sent = Notification.objects.get(pk=notice.notification_id)
    told = set(Delivery.objects.filter(notification=sent).values_list("recipient_id", flat=True))
    assert resident.pk in told and neighbour.pk not in told
    assert set(Delivery.objects.filter(notification=sent).values_list("channel", flat=True)) == {Channel.INBOX}
    for_4 = _publish(d, building=building_4, title="四号楼通知")
    assert list(selectors.notices_for(neighbour)) == [for_4]


def test_a_unit_notice_reaches_the_units_households_only(district):
    d = district
    _building_4, neighbour = _resident_of_building_4(d)
    notice = _publish(d, unit=d.a.unit)
    assert notice.building_id == d.a.building.pk
    assert list(selectors.notices_for(d.a.users["resident"])) == [notice]
    assert list(selectors.notices_for(neighbour)) == []
    told = set(Delivery.objects.filter(notification_id=notice.notification_id).values_list("recipient_id", flat=True))
    assert told == {d.a.users["resident"].pk}


def test_a_staff_role_notice_is_never_shown_to_residents(district):
    d = district
    notice = _publish(d, roles=("guard",), title="夜班交接")
    resident, guard, technician = d.a.users["resident"], d.a.users["guard"], d.a.users["technician"]
    assert list(selectors.notices_for(resident)) == []
    assert selectors.unread_count(resident) == 0
    assert notice in selectors.notices_for(guard)
    assert selectors.unread_count(guard) == 1
    assert selectors.unread_count(technician) == 0
    told = set(Delivery.objects.filter(notification_id=notice.notification_id).values_list("recipient_id", flat=True))
    assert told == {guard.pk}
    with pytest.raises(ValidationError, match="岗位"):
        _publish(d, roles=("resident",))


def test_a_scheduled_notice_appears_at_its_time_and_not_before_and_publishes_once(district):
    d = district
    at = timezone.now() + dt.timedelta(hours=2)
    manager = d.a.users["property_manager"]
    notice = services.draft_notice(actor=manager, compound=d.a.compound, title="业主大会", body="周六召开。",
                                   publish_at=at)
    notice = services.publish_notice(actor=manager, notice=notice)
    assert notice.status == NoticeStatus.SCHEDULED
    resident = d.a.users["resident"]
    assert services.publish_due(now=at - dt.timedelta(seconds=1)) == 0
    assert list(selectors.notices_for(resident)) == []
    assert services.publish_due(now=at) == 1
    assert services.publish_due(now=at + dt.timedelta(minutes=1)) == 0
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHED and notice.published_at == at
    assert list(selectors.notices_for(resident)) == [notice]
    assert Notification.objects.filter(source=f"notice:{notice.pk}").count() == 1


def test_an_expired_or_withdrawn_notice_is_gone_for_residents_but_kept_for_staff(district):
    d = district
    resident, manager = d.a.users["resident"], d.a.users["property_manager"]
    short = _publish(d, title="临时通知", expires_at=timezone.now() + dt.timedelta(seconds=1))
    Notice.objects.filter(pk=short.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    kept = _publish(d, title="长期通知")
    assert list(selectors.notices_for(resident)) == [kept]
    services.withdraw_notice(actor=manager, notice=kept, reason="内容有误")
    assert list(selectors.notices_for(resident)) == []
    assert {n.status for n in selectors.notices_for(manager)} == {"published", "withdrawn"}
    with pytest.raises(ValidationError, match="撤回"):
        services.withdraw_notice(actor=manager, notice=kept, reason="再撤一次")


def test_read_receipts_count_each_reader_once(district):
    d = district
    family = _family_account(d)
    notice = _publish(d)
    resident = d.a.users["resident"]
    assert selectors.unread_count(resident) == 1
    first = services.mark_notice_read(actor=resident, notice=notice)
    again = services.mark_notice_read(actor=resident, notice=notice)
    assert first.pk == again.pk and first.read_at == again.read_at
    assert selectors.unread_count(resident) == 0
    assert selectors.notice(resident, notice.pk).read_at == first.read_at
    assert selectors.read_figures(d.a.users["property_manager"], notice) == (1, 2)
    services.mark_notice_read(actor=family, notice=notice)
    assert selectors.read_figures(d.a.users["customer_service"], notice) == (2, 2)
    assert NoticeRead.objects.filter(notice=notice).count() == 2
    with pytest.raises(Forbidden):
        selectors.read_figures(resident, notice)
    with pytest.raises(Forbidden):
        selectors.read_figures(d.a.users["guard"], notice)


def test_an_emergency_broadcast_reaches_every_resident_of_the_building_on_every_channel(district, settings):
    d = district
    settings.WECHAT = {**settings.WECHAT, "app_id": "wx-test"}
    family = _family_account(d)
    residents = [d.a.users["resident"], family]
    for i, user in enumerate(residents):
        PushSubscription.objects.create(user=user, endpoint=f"https://push.invalid/e{i}", p256dh="B" + "A" * 86,
                                        auth="A" * 22)
        WechatBinding.objects.create(user=user, openid=f"openid-{i}")
    _, neighbour = _resident_of_building_4(d)
    notice = services.emergency_broadcast(actor=d.a.users["property_manager"], building=d.a.building,
                                          title="燃气泄漏，请立即撤离", body="3号楼燃气泄漏，请勿使用明火，立即下楼。")
    assert notice.status == NoticeStatus.PUBLISHED and notice.category == "emergency" and notice.pinned
    sent = Notification.objects.get(pk=notice.notification_id)
    assert sent.severity == "critical" and sent.life_safety
    channels = {user.pk: set(Delivery.objects.filter(notification=sent, recipient=user).values_list("channel",
                                                                                                   flat=True))
                for user in [*residents, neighbour]}
    every = {Channel.INBOX, Channel.WEBPUSH, Channel.SMS, Channel.WECHAT}
    assert channels == {residents[0].pk: every, residents[1].pk: every, neighbour.pk: set()}
    assert list(selectors.notices_for(d.a.users["resident"])) == [notice]


def test_only_notice_staff_draft_and_only_managers_and_officers_broadcast(district):
    d = district
    for role in ("guard", "technician", "cashier"):
        with pytest.raises(Forbidden):
            services.draft_notice(actor=d.a.users[role], compound=d.a.compound, title="越权", body="越权")
    with pytest.raises(Forbidden):
        services.emergency_broadcast(actor=d.a.users["customer_service"], building=d.a.building, title="紧急",
                                     body="紧急")
    officer = services.emergency_broadcast(actor=d.a.users["community_officer"], building=d.a.building,
                                           title="暴雨预警", body="请关好门窗。")
    assert officer.author == d.a.users["community_officer"]
    drafted = services.draft_notice(actor=d.a.users["customer_service"], compound=d.a.compound, title="通知",
                                    body="正文")
    assert drafted.status == NoticeStatus.DRAFT


def test_a_notice_body_is_plain_text_of_at_most_5000_characters(district):
    d = district
    manager = d.a.users["property_manager"]
    with pytest.raises(ValidationError) as err:
        services.draft_notice(actor=manager, compound=d.a.compound, title="长文", body="字" * 5001)
    assert "body" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.draft_notice(actor=manager, compound=d.a.compound, title="楼栋", body="正文", building=d.b.building)
    assert "building" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.draft_notice(actor=manager, compound=d.a.compound, title="过期", body="正文",
                              expires_at=timezone.now() - dt.timedelta(days=1))
    assert "expires_at" in err.value.message_dict
