"""Residents pick a category of their own compound when reporting, yet never read the SLA figures;
satisfaction (mean rating, share rated 4–5, 回访率) per category and for the whole compound."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.core.tests.apiclient import ApiClient
from linli.workorders import selectors, services
from linli.workorders.tests.factories import category, leaking_pipe

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


def test_a_resident_lists_the_active_categories_of_their_own_compound_only(district):
    a, b = district.a, district.b
    plumbing = category(district)
    retired = category(district, code="retired", name="旧类别", active=False)
    foreign = category(district, side="b")
    resident = ApiClient(a.users["resident"])
    listed = resident.get("/api/workorders/categories", limit=500)
    assert listed.status_code == 200
    assert {c["id"] for c in listed.json()["items"]} == {plumbing.pk}
    assert resident.get("/api/workorders/categories", compound_id=b.compound.pk).json()["items"] == []
    assert resident.get(f"/api/workorders/categories/{plumbing.pk}").status_code == 200
    assert resident.get(f"/api/workorders/categories/{foreign.pk}").status_code == 404
    assert resident.get(f"/api/workorders/categories/{retired.pk}").status_code == 404
    assert resident.patch(f"/api/workorders/categories/{plumbing.pk}", {"name": "改名"}).status_code == 403
    today = timezone.localdate()
    period = {"since": (today - dt.timedelta(days=1)).isoformat(), "until": (today + dt.timedelta(days=1)).isoformat()}
    assert resident.get(f"/api/workorders/compounds/{a.compound.pk}/sla", **period).status_code == 403
    assert ApiClient(a.users["cashier"]).get(f"/api/workorders/compounds/{a.compound.pk}/sla",
                                             **period).status_code == 200


def _finish(district, order, rating=None):
    a = district.a
    cs, tech = a.users["customer_service"], a.users["technician"]
    services.accept(actor=cs, order=order)
    services.assign(actor=cs, order=order, assignee=tech)
    services.start(actor=tech, order=order)
    services.complete(actor=tech, order=order)
    if rating is not None:
        services.follow_up(actor=cs, order=order, rating=rating)


def test_satisfaction_counts_ratings_and_the_follow_up_visit_rate_per_category_and_compound(district):
    a = district.a
    plumbing, lights = category(district), category(district, code="lights", name="照明")
    for rating in (5, 4, 2, None):  # four plumbing repairs done, three visited
        _finish(district, leaking_pipe(district, plumbing), rating)
    _finish(district, leaking_pipe(district, lights))  # done, never visited
    closed_unvisited = leaking_pipe(district, lights)
    _finish(district, closed_unvisited)
    services.close(actor=a.users["customer_service"], order=closed_unvisited)
    leaking_pipe(district, lights)  # still waiting: not finished, so not in the visit rate
    now = timezone.now()
    window = {"since": now - dt.timedelta(hours=1), "until": now + dt.timedelta(hours=1)}
    manager = a.users["property_manager"]
    by_category = {f.category_id: f for f in selectors.sla_figures(manager, **window)}
    p, lt = by_category[plumbing.pk], by_category[lights.pk]
    assert (p.finished, p.visited, p.visit_rate) == (4, 3, 0.75)
    assert (p.rated, round(p.mean_rating, 4), round(p.satisfied_share, 4)) == (3, 3.6667, 0.6667)
    assert (lt.submitted, lt.finished, lt.visited, lt.visit_rate, lt.mean_rating) == (3, 2, 0, 0.0, None)
    (overall,) = selectors.sla_figures(manager, by_category=False, **window)
    assert (overall.category_id, overall.submitted, overall.finished, overall.visited) == (None, 7, 6, 3)
    assert overall.visit_rate == 0.5 and overall.satisfied_share == 2 / 3

    today = timezone.localdate()
    period = {"since": (today - dt.timedelta(days=1)).isoformat(), "until": (today + dt.timedelta(days=1)).isoformat()}
    body = ApiClient(manager).get(f"/api/workorders/compounds/{a.compound.pk}/sla", **period).json()
    assert body["overall"]["visit_rate"] == 0.5 and body["overall"]["category_id"] is None
    assert {c["category_id"]: c["visit_rate"] for c in body["categories"]} == {plumbing.pk: 0.75, lights.pk: 0.0}
    empty = ApiClient(district.b.users["property_manager"]).get(
        f"/api/workorders/compounds/{district.b.compound.pk}/sla", **period).json()
    assert empty["overall"] is None and empty["categories"] == []
