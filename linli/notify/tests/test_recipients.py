"""Who hears about it: staff by the grants that cover the compound, residents by current residency."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.accounts import services as accounts
from linli.core.testing import ID_NUMBERS
from linli.notify.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    PushSubscription,
    WechatBinding,
)
from linli.notify.services import Audience, notify, resolve_recipients
from linli.people import services as people

pytestmark = pytest.mark.django_db


def _ids(compound, audience):
    return {r.user_id for r in resolve_recipients(compound.pk, audience)}


def _resident(district, house, name, phone, id_number):
    person = people.create_person(actor=district.admin, compound=house.compound, name=name,
                                  id_type="mainland_id", id_number=id_number, phone=phone)
    residency = people.add_residency(actor=district.admin, person=person, house=house, role="owner",
                                     since=dt.date(2020, 1, 1))
    return accounts.create_resident_account(actor=district.admin, person=person), residency


def test_roles_reach_staff_whose_grants_cover_the_compound_and_nobody_across_the_street(district):
    a, b = district.a, district.b
    roles = ("property_manager", "guard", "community_officer", "street_officer", "grid_worker")
    assert _ids(a.compound, Audience(roles=roles)) == {a.users[r].pk for r in roles}
    assert _ids(b.compound, Audience(roles=("guard",))) == {b.users["guard"].pk}
    # The city admin's region grant covers both streets' compounds.
    assert _ids(a.compound, Audience(roles=("city_admin",))) == {district.city_admin.pk}
    assert _ids(b.compound, Audience(roles=("city_admin",))) == {district.city_admin.pk}
    # A role nobody holds there reaches nobody; inactive staff are skipped.
    a.users["guard"].is_active = False
    a.users["guard"].save()
    assert _ids(a.compound, Audience(roles=("guard",))) == set()


def test_residents_of_a_building_are_those_living_there_now(district):
    a = district.a
    neighbour, _ = _resident(district, a.other_house, "邻居", "13700137001", ID_NUMBERS["a_neighbour"])
    _moved, residency = _resident(district, a.other_house, "搬走", "13700137002", "110101199003077774")
    people.end_residency(actor=district.admin, residency=residency, until=dt.date(2024, 1, 1))
    in_building = _ids(a.compound, Audience(residents_of_building=a.building.pk))
    assert in_building == {a.users["resident"].pk, neighbour.pk}
    assert _ids(a.compound, Audience(residents_of_house=a.other_house.pk)) == {neighbour.pk}
    assert _ids(a.compound, Audience(residents_of_compound=a.compound.pk)) == in_building
    # Side b's building, named with side a's compound, reaches nobody.
    assert _ids(a.compound, Audience(residents_of_building=district.b.building.pk)) == set()


def test_named_users_are_kept_only_when_they_belong_to_the_compound(district):
    a, b = district.a, district.b
    named = (a.users["cashier"].pk, b.users["guard"].pk, a.users["resident"].pk, b.users["resident"].pk)
    assert _ids(a.compound, Audience(user_ids=named)) == {a.users["cashier"].pk, a.users["resident"].pk}


def test_channels_follow_the_recipient_kind_and_what_they_signed_up_for(district, settings):
    a = district.a
    guard, resident = a.users["guard"], a.users["resident"]
    settings.WECHAT = {**settings.WECHAT, "app_id": "wx-test"}
    PushSubscription.objects.create(user=guard, endpoint="https://push.invalid/g", p256dh="x", auth="y")
    WechatBinding.objects.create(user=resident, openid="o-resident")
    audience = Audience(roles=("guard",), residents_of_building=a.building.pk)

    info = notify(compound_id=a.compound.pk, audience=audience, title="停车费提醒", body="", category="notice")
    assert _channels(info) == {(guard.pk, "console_feed"), (guard.pk, "inbox"), (guard.pk, "webpush"),
                               (resident.pk, "inbox"), (resident.pk, "wechat")}
    fire = notify(compound_id=a.compound.pk, audience=audience, title="烟感报警", body="3号楼", severity="critical",
                  life_safety=True)
    assert (resident.pk, "sms") in _channels(fire)
    inbox_only = notify(compound_id=a.compound.pk, audience=audience, title="公告", body="", channels=("inbox",))
    assert _channels(inbox_only) == {(guard.pk, "inbox"), (resident.pk, "inbox")}
    # Inbox rows are the delivery itself; the others wait for the dispatcher.
    rows = Delivery.objects.filter(notification=fire)
    assert {d.status for d in rows if d.channel == Channel.INBOX} == {DeliveryStatus.SENT}
    assert all(d.next_attempt_at is not None for d in rows if d.channel != Channel.INBOX)
    assert {d.priority for d in rows} == {2}


def _channels(notification):
    return set(Delivery.objects.filter(notification=notification).values_list("recipient_id", "channel"))


def test_a_repeated_call_with_the_same_dedupe_key_is_a_no_op(district):
    a = district.a
    kwargs = {"compound_id": a.compound.pk, "audience": Audience(roles=("guard",)), "title": "烟感报警",
              "body": "", "dedupe_key": "alarm:1:raised"}
    first = notify(**kwargs)
    again = notify(**{**kwargs, "title": "changed"})
    assert again.pk == first.pk and Notification.objects.filter(dedupe_key="alarm:1:raised").count() == 1
    assert Delivery.objects.filter(notification=first).count() == 2


def test_resolution_and_writing_take_the_same_few_queries_for_one_resident_or_thirty(district):
    a = district.a
    audience = Audience(roles=("property_manager", "guard", "community_officer"), residents_of_building=a.building.pk)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            notify(compound_id=a.compound.pk, audience=audience, title="烟感报警", body="", life_safety=True)
        return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]])

    few = queries()
    for i in range(30):
        house = a.house if i % 2 else a.other_house
        _resident(district, house, f"住户{i}", f"1370000{i:04d}", _id_number(i))
    many = queries()
    assert many == few, f"{few} queries for one resident, {many} for thirty-one"
    # Compound, staff, residents, push subscriptions, two inserts, and the audit entry (2-4: its chain
    # lock is a query of its own on PostgreSQL).
    assert few <= 10
    latest = Notification.objects.order_by("-id").first()
    assert latest.recipient_count == 3 + 31


def _id_number(i):
    from linli.people.identity import mainland_id_check_char

    first17 = f"11010119900101{i:03d}"
    return first17 + mainland_id_check_char(first17)


def test_resolved_later_the_same_people_hear_once_and_the_hot_transaction_writes_one_row(district):
    from linli.notify.services import resolve_pending

    a = district.a
    audience = Audience(roles=("guard", "property_manager"), residents_of_building=a.building.pk)
    now = notify(compound_id=a.compound.pk, audience=audience, title="烟感报警", body="", life_safety=True)
    with CaptureQueriesContext(connection) as hot:
        later = notify(compound_id=a.compound.pk, audience=audience, title="烟感报警", body="", life_safety=True,
                       resolve_later=True)
    writes = [q["sql"] for q in hot.captured_queries if q["sql"].startswith("INSERT")]
    assert [w.split('"')[1] for w in writes] == ["notify_notification", "core_auditentry"]
    assert not Delivery.objects.filter(notification=later).exists() and later.resolved_at is None

    assert resolve_pending() == 1
    assert _channels(later) == _channels(now) != set()
    later.refresh_from_db()
    assert later.recipient_count == now.recipient_count and later.resolved_at is not None
    assert resolve_pending() == 0  # resolved once: nobody hears twice
    assert Delivery.objects.filter(notification=later).count() == Delivery.objects.filter(notification=now).count()


def test_the_dispatcher_resolves_queued_notifications_before_it_sends(district):
    from linli.notify.dispatcher import dispatch_due
    from linli.notify.models import FeedItem

    a = district.a
    note = notify(compound_id=a.compound.pk, audience=Audience(roles=("guard",)), title="烟感报警", body="",
                  life_safety=True, resolve_later=True)
    assert dispatch_due() >= 1
    sent = Delivery.objects.get(notification=note, channel=Channel.CONSOLE_FEED)
    assert sent.status == DeliveryStatus.SENT and sent.recipient_id == a.users["guard"].pk
    assert FeedItem.objects.filter(user_id=a.users["guard"].pk).exists()


def test_a_queued_notification_with_a_dedupe_key_already_written_returns_the_first(district):
    a = district.a
    kwargs = {"compound_id": a.compound.pk, "audience": Audience(roles=("guard",)), "title": "烟感报警",
              "body": "", "dedupe_key": "rule:1:event:9:-:guard", "resolve_later": True}
    first = notify(**kwargs)
    again = notify(**{**kwargs, "title": "changed"})
    assert again.pk == first.pk and again.title == "烟感报警"
    assert Notification.objects.filter(dedupe_key=kwargs["dedupe_key"]).count() == 1
