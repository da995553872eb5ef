"""The inbox is each user's own; staff see the outbox of their compounds with delivery status."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.accounts import services as accounts
from linli.core.testing import ID_NUMBERS
from linli.core.tests.apiclient import ApiClient
from linli.notify.dispatcher import dispatch_due
from linli.notify.models import Delivery
from linli.notify.services import Audience, notify
from linli.people import services as people

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


def _neighbour(district):
    a = district.a
    person = people.create_person(actor=district.admin, compound=a.compound, name="邻居", id_type="mainland_id",
                                  id_number=ID_NUMBERS["a_neighbour"], phone="13700137001")
    people.add_residency(actor=district.admin, person=person, house=a.other_house, role="owner",
                         since=dt.date(2020, 1, 1))
    return accounts.create_resident_account(actor=district.admin, person=person)


def _to_building(district, title, **kwargs):
    a = district.a
    return notify(compound_id=a.compound.pk, audience=Audience(roles=("guard",), residents_of_building=a.building.pk),
                  title=title, body="", **kwargs)


def test_a_resident_reads_only_their_own_inbox_and_marks_it_read(district):
    resident, neighbour = district.a.users["resident"], _neighbour(district)
    _to_building(district, "停水通知", category="notice")
    notify(compound_id=district.a.compound.pk, audience=Audience(residents_of_house=district.a.house.pk),
           title="物业费账单", body="", category="notice")
    api, other = ApiClient(resident), ApiClient(neighbour)
    mine = api.get("/api/notifications/inbox").json()
    assert [i["title"] for i in mine["items"]] == ["物业费账单", "停水通知"]
    assert [i["title"] for i in other.get("/api/notifications/inbox").json()["items"]] == ["停水通知"]
    assert api.get("/api/notifications/inbox/unread-count").json() == {"unread": 2}

    first = mine["items"][0]["id"]
    assert other.post(f"/api/notifications/inbox/{first}/read").status_code == 404  # not theirs
    read = api.post(f"/api/notifications/inbox/{first}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert [i["title"] for i in api.get("/api/notifications/inbox", unread=True).json()["items"]] == ["停水通知"]
    assert api.post("/api/notifications/inbox/read-all").json() == {"updated": 1}
    assert api.get("/api/notifications/inbox/unread-count").json() == {"unread": 0}
    assert other.get("/api/notifications/inbox/unread-count").json() == {"unread": 1}


def test_staff_see_their_compounds_notifications_with_delivery_status(district):
    n = _to_building(district, "烟感报警", severity="critical", life_safety=True, alarm_id=district.a.alarm.pk)
    dispatch_due()
    manager, guard_b = ApiClient(district.a.users["property_manager"]), ApiClient(district.b.users["guard"])
    listed = manager.get("/api/notifications", alarm_id=district.a.alarm.pk).json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert item["title"] == "烟感报警" and item["delivery_status"] == {"sent": 4}  # feed + inbox for guard, inbox + sms
    detail = manager.get(f"/api/notifications/{n.pk}").json()
    assert {(d["channel"], d["status"]) for d in detail["deliveries"]} == {
        ("console_feed", "sent"), ("inbox", "sent"), ("sms", "sent")}
    assert guard_b.get(f"/api/notifications/{n.pk}").status_code == 404
    assert guard_b.get("/api/notifications").json()["count"] == 0
    # Residents have their inbox, not the outbox.
    assert ApiClient(district.a.users["resident"]).get("/api/notifications").json()["count"] == 0


def test_lists_take_the_same_queries_for_one_row_or_many(district):
    manager = ApiClient(district.a.users["property_manager"])
    resident = ApiClient(district.a.users["resident"])

    def queries(client, url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _to_building(district, "通知0")
    queries(manager, "/api/notifications"), queries(resident, "/api/notifications/inbox")  # tokens first used
    few = (queries(manager, "/api/notifications"), queries(resident, "/api/notifications/inbox"))
    for i in range(1, 15):
        _to_building(district, f"通知{i}")
    many = (queries(manager, "/api/notifications"), queries(resident, "/api/notifications/inbox"))
    assert few == many
    assert many[0] <= 5 and many[1] <= 3  # authentication, then the count, the page (and delivery counts)
    assert Delivery.objects.filter(channel="inbox").count() == 30
