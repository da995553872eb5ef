"""The work-order API: categories for managers, reports by residents for their own house and by
staff on someone's behalf, scoped lists, every move as POST /workorders/{id}/<action>, the grab
pool and the SLA figures of a compound."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.core.testing import PHONES
from linli.core.tests.apiclient import ApiClient
from linli.events import media
from linli.workorders.models import WorkOrder
from linli.workorders.tests.factories import category, leaking_pipe, photo_ref, technician

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


def _move(client, order_id, action, body=None):
    return client.post(f"/api/workorders/{order_id}/{action}", body or {})


def test_a_manager_sets_up_a_category_and_invalid_settings_name_the_field(district):
    a = district.a
    manager = ApiClient(a.users["property_manager"])
    created = manager.post("/api/workorders/categories", {"compound_id": a.compound.pk, "code": "lift", "kind": "repair",
                                                          "name": "电梯维修", "deadline_minutes": 120,
                                                          "warning_minutes": 30, "dispatch_mode": "grab"})
    assert created.status_code == 201, created.content
    cat = created.json()
    assert cat["dispatch_mode"] == "grab" and cat["deadline_minutes"] == 120
    late_warning = manager.patch(f"/api/workorders/categories/{cat['id']}", {"warning_minutes": 120})
    assert late_warning.status_code == 422 and "warning_minutes" in late_warning.json()["error"]["fields"]
    bad_code = manager.post("/api/workorders/categories", {"compound_id": a.compound.pk, "code": "Lift!",
                                                           "kind": "repair", "name": "x", "deadline_minutes": 60})
    assert bad_code.status_code == 422 and "code" in bad_code.json()["error"]["fields"]
    technician_a = ApiClient(a.users["technician"])
    assert technician_a.patch(f"/api/workorders/categories/{cat['id']}", {"name": "改"}).status_code == 403
    assert ApiClient(district.b.users["property_manager"]).get(
        f"/api/workorders/categories/{cat['id']}").status_code == 404


def test_a_resident_reports_for_their_own_house_and_sees_only_their_own_orders(district):
    a = district.a
    cat = category(district)
    resident = ApiClient(a.users["resident"])
    neighbours = resident.post("/api/workorders", {"compound_id": a.compound.pk, "category_id": cat.pk,
                                                   "title": "楼上漏水", "house_id": a.other_house.pk})
    assert neighbours.status_code == 404
    reported = resident.post("/api/workorders", {"compound_id": a.compound.pk, "category_id": cat.pk,
                                                 "title": "厨房水管漏水", "house_id": a.house.pk,
                                                 "contact_phone": PHONES["a_owner"]})
    assert reported.status_code == 201, reported.content
    order = reported.json()
    assert order["channel"] == "portal" and order["status"] == "submitted"
    assert order["contact_phone"] == "138****8001" and PHONES["a_owner"] not in reported.content.decode()
    assert [s["action"] for s in order["steps"]] == ["submit"]
    # Staff file a second order on the neighbour's behalf; the resident does not see it.
    staff = ApiClient(a.users["customer_service"])
    on_behalf = staff.post("/api/workorders", {"compound_id": a.compound.pk, "category_id": cat.pk,
                                               "title": "楼道堆物", "channel": "hotline_12345"})
    assert on_behalf.status_code == 201 and on_behalf.json()["channel"] == "hotline_12345"
    assert [o["id"] for o in resident.get("/api/workorders").json()["items"]] == [order["id"]]
    assert resident.get(f"/api/workorders/{on_behalf.json()['id']}").status_code == 404
    portal = staff.post("/api/workorders", {"compound_id": a.compound.pk, "category_id": cat.pk, "title": "x",
                                            "channel": "portal"})
    assert portal.status_code == 422 and "channel" in portal.json()["error"]["fields"]
    no_title = resident.post("/api/workorders", {"compound_id": a.compound.pk, "category_id": cat.pk})
    assert no_title.status_code == 422 and "title" in no_title.json()["error"]["fields"]


def test_an_order_moves_from_report_to_closure_through_the_api(district):
    a = district.a
    cat = category(district, paid=True)
    order = leaking_pipe(district, cat)
    dispatcher, tech = ApiClient(a.users["customer_service"]), ApiClient(a.users["technician"])
    resident = ApiClient(a.users["resident"])
    assert _move(resident, order.pk, "accept").status_code == 403
    assert _move(dispatcher, order.pk, "accept").json()["status"] == "accepted"
    not_a_tech = _move(dispatcher, order.pk, "assign", {"assignee_id": a.users["guard"].pk})
    assert not_a_tech.status_code == 422 and "assignee_id" in not_a_tech.json()["error"]["fields"]
    assigned = _move(dispatcher, order.pk, "assign", {"assignee_id": a.users["technician"].pk})
    assert assigned.json()["status"] == "assigned" and assigned.json()["assignee_id"] == a.users["technician"].pk
    assert _move(tech, order.pk, "start").json()["status"] == "in_progress"
    suspended = _move(dispatcher, order.pk, "suspend", {"reason": "等配件"})
    assert suspended.json()["status"] == "suspended"
    assert _move(dispatcher, order.pk, "resume").json()["status"] == "in_progress"
    ref = photo_ref(a.compound.pk)
    media.save(ref, b"\xff\xd8 repaired pipe")
    try:
        no_price = _move(tech, order.pk, "complete", {"photos": [ref]})
        assert no_price.status_code == 422 and "price_fen" in no_price.json()["error"]["fields"]
        fractional = _move(tech, order.pk, "complete", {"photos": [ref], "price_fen": 12.5})
        assert fractional.status_code == 422 and "price_fen" in fractional.json()["error"]["fields"]
        done = _move(tech, order.pk, "complete", {"photos": [ref], "price_fen": 8000, "note": "更换三通"})
    finally:
        media.delete([ref])
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "done" and done.json()["price_fen"] == 8000 and done.json()["photos"] == [ref]
    bad_rating = _move(resident, order.pk, "visit", {"rating": 6})
    assert bad_rating.status_code == 422 and "rating" in bad_rating.json()["error"]["fields"]
    assert _move(resident, order.pk, "visit", {"rating": 5, "comment": "及时"}).json()["status"] == "visited"
    closed = _move(dispatcher, order.pk, "close")
    assert closed.json()["status"] == "closed"
    assert [s["action"] for s in closed.json()["steps"]] == [
        "submit", "accept", "assign", "start", "suspend", "resume", "complete", "visit", "close"]
    reopened = _move(resident, order.pk, "reopen", {"reason": "又漏了"})
    assert reopened.json()["status"] == "accepted" and reopened.json()["reopen_count"] == 1
    illegal = _move(tech, order.pk, "start")
    assert illegal.status_code in (403, 422)


def test_transfer_return_and_cancel(district):
    a = district.a
    cat = category(district)
    order = leaking_pipe(district, cat)
    second = technician(district)
    dispatcher = ApiClient(a.users["property_manager"])
    _move(dispatcher, order.pk, "accept")
    _move(dispatcher, order.pk, "assign", {"assignee_id": a.users["technician"].pk})
    moved = _move(dispatcher, order.pk, "transfer", {"assignee_id": second.pk, "note": "换人"})
    assert moved.json()["assignee_id"] == second.pk
    assert _move(ApiClient(a.users["technician"]), order.pk, "start").status_code == 403
    no_reason = _move(ApiClient(second), order.pk, "return", {})
    assert no_reason.status_code == 422 and "note" in no_reason.json()["error"]["fields"]
    returned = _move(ApiClient(second), order.pk, "return", {"note": "不会修"})
    assert returned.json()["status"] == "accepted" and returned.json()["assignee_id"] is None
    cancelled = _move(ApiClient(a.users["resident"]), order.pk, "cancel", {"reason": "自己修好了"})
    assert cancelled.json()["status"] == "cancelled"


def test_the_first_grab_wins_and_the_pool_shows_only_untaken_orders(district):
    a = district.a
    cat = category(district, code="sanitation", dispatch_mode="grab")
    order = leaking_pipe(district, cat)
    second = technician(district)
    first_tech, second_tech = ApiClient(a.users["technician"]), ApiClient(second)
    _move(ApiClient(a.users["property_manager"]), order.pk, "accept")
    assert [o["id"] for o in first_tech.get("/api/workorders/pool").json()["items"]] == [order.pk]
    assert ApiClient(district.b.users["technician"]).get("/api/workorders/pool").json()["count"] == 0
    won = _move(first_tech, order.pk, "grab")
    assert won.status_code == 200 and won.json()["assignee_id"] == a.users["technician"].pk
    lost = _move(second_tech, order.pk, "grab")
    assert lost.status_code == 409
    assert second_tech.get("/api/workorders/pool").json()["count"] == 0


def test_sla_figures_for_a_compound_and_period(district):
    a = district.a
    cat = category(district)
    order = leaking_pipe(district, cat)
    tech = ApiClient(a.users["technician"])
    dispatcher = ApiClient(a.users["property_manager"])
    _move(dispatcher, order.pk, "accept")
    _move(dispatcher, order.pk, "assign", {"assignee_id": a.users["technician"].pk})
    _move(tech, order.pk, "start")
    _move(tech, order.pk, "complete")
    _move(ApiClient(a.users["resident"]), order.pk, "visit", {"rating": 4})
    leaking_pipe(district, cat)
    today = timezone.localdate()
    period = {"since": (today - dt.timedelta(days=1)).isoformat(), "until": (today + dt.timedelta(days=1)).isoformat()}
    response = dispatcher.get(f"/api/workorders/compounds/{a.compound.pk}/sla", **period)
    assert response.status_code == 200, response.content
    (figures,) = response.json()["categories"]
    assert (figures["category_id"], figures["submitted"], figures["finished"], figures["on_time"]) == (cat.pk, 2, 1, 1)
    assert figures["mean_rating"] == 4.0 and figures["satisfied_share"] == 1.0
    assert dispatcher.get(f"/api/workorders/compounds/{district.b.compound.pk}/sla", **period).status_code == 404
    assert ApiClient(a.users["resident"]).get(f"/api/workorders/compounds/{a.compound.pk}/sla",
                                              **period).status_code == 403
    backwards = dispatcher.get(f"/api/workorders/compounds/{a.compound.pk}/sla", since=period["until"],
                               until=period["since"])
    assert backwards.status_code == 422 and "until" in backwards.json()["error"]["fields"]


def test_work_order_lists_take_the_same_queries_for_one_row_or_many(district):
    a = district.a
    cat = category(district, dispatch_mode="grab")
    manager, resident, tech = (ApiClient(a.users["property_manager"]), ApiClient(a.users["resident"]),
                               ApiClient(a.users["technician"]))
    urls = ((manager, "/api/workorders"), (resident, "/api/workorders"), (tech, "/api/workorders/pool"),
            (manager, "/api/workorders/categories"))

    def queries():
        counts = []
        for client, url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            counts.append(len(ctx.captured_queries))
        return counts

    def one():
        order = leaking_pipe(district, cat)
        _move(manager, order.pk, "accept")

    one()
    queries()  # tokens first used
    few = queries()
    for i in range(8):
        one()
        category(district, code=f"extra{i}")
    assert WorkOrder.objects.count() == 9
    assert queries() == few
    assert max(few) <= 4  # authentication, the count, the page
