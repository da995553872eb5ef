"""The notices API: a manager drafts, publishes and withdraws; residents read and leave receipts;
staff see the read rate; lists take the same queries for one notice or many."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.tests.apiclient import ApiClient
from linli.notices import services

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


def test_a_manager_publishes_a_notice_a_resident_reads_it_and_the_read_rate_shows(district):
    a = district.a
    manager, resident = ApiClient(a.users["property_manager"]), ApiClient(a.users["resident"])
    created = manager.post("/api/notices", {"compound_id": a.compound.pk, "title": "停水通知", "body": "明日停水。",
                                            "category": "maintenance", "building_id": a.building.pk,
                                            "pinned": True})
    assert created.status_code == 201, created.content
    notice = created.json()
    assert notice["status"] == "draft" and notice["audience"] == "building" and notice["read_at"] is None
    assert resident.get(f"/api/notices/{notice['id']}").status_code == 404
    published = manager.post(f"/api/notices/{notice['id']}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert resident.get("/api/notices/unread-count").json() == {"unread": 1}
    read = resident.post(f"/api/notices/{notice['id']}/read")
    assert read.status_code == 200
    assert resident.post(f"/api/notices/{notice['id']}/read").json() == read.json()
    assert resident.get("/api/notices/unread-count").json() == {"unread": 0}
    assert resident.get(f"/api/notices/{notice['id']}").json()["read_at"] is not None
    figures = manager.get(f"/api/notices/{notice['id']}/reads").json()
    assert figures == {"notice_id": notice["id"], "readers": 1, "audience": 1, "rate": 1.0}
    assert resident.get(f"/api/notices/{notice['id']}/reads").status_code == 403
    again = manager.post(f"/api/notices/{notice['id']}/publish")
    assert again.status_code == 422 and "status" in again.json()["error"]["fields"]
    withdrawn = manager.post(f"/api/notices/{notice['id']}/withdraw", {"reason": "已恢复供水"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert resident.get("/api/notices").json()["count"] == 0


def test_bad_notices_are_refused_naming_the_field(district):
    a = district.a
    manager = ApiClient(a.users["property_manager"])
    too_long = manager.post("/api/notices", {"compound_id": a.compound.pk, "title": "长", "body": "字" * 5001})
    assert too_long.status_code == 422 and "body" in too_long.json()["error"]["fields"]
    bad_role = manager.post("/api/notices", {"compound_id": a.compound.pk, "title": "岗位", "body": "正文",
                                             "roles": ["resident"]})
    assert bad_role.status_code == 422 and "roles" in bad_role.json()["error"]["fields"]
    guard = ApiClient(a.users["guard"])
    assert guard.post("/api/notices", {"compound_id": a.compound.pk, "title": "越权", "body": "正文"}).status_code == 403
    other = manager.post("/api/notices", {"compound_id": district.b.compound.pk, "title": "越权", "body": "正文"})
    assert other.status_code == 404


def test_an_emergency_broadcast_through_the_api(district):
    a = district.a
    manager, resident = ApiClient(a.users["property_manager"]), ApiClient(a.users["resident"])
    sent = manager.post("/api/notices/emergency", {"building_id": a.building.pk, "title": "火情",
                                                   "body": "请立即从安全通道撤离。"})
    assert sent.status_code == 201 and sent.json()["category"] == "emergency"
    assert [n["id"] for n in resident.get("/api/notices").json()["items"]] == [sent.json()["id"]]
    assert resident.post("/api/notices/emergency", {"building_id": a.building.pk, "title": "假",
                                                    "body": "假"}).status_code == 403


def test_notice_lists_take_the_same_queries_for_one_notice_or_many(district):
    a = district.a
    staff, resident = a.users["property_manager"], a.users["resident"]
    clients = [ApiClient(staff), ApiClient(resident), ApiClient(a.users["guard"])]

    def publish(i):
        notice = services.draft_notice(actor=staff, compound=a.compound, title=f"通知{i}", body="正文",
                                       building=a.building if i % 2 else None)
        notice = services.publish_notice(actor=staff, notice=notice)
        services.mark_notice_read(actor=resident, notice=notice)

    def queries():
        counts = []
        for client in clients:
            for url in ("/api/notices", "/api/notices/unread-count"):
                with CaptureQueriesContext(connection) as ctx:
                    assert client.get(url).status_code == 200
                counts.append(len(ctx.captured_queries))
        return counts

    publish(0)
    queries()  # tokens first used
    few = queries()
    for i in range(1, 9):
        publish(i)
    assert ApiClient(resident).get("/api/notices").json()["count"] == 9
    assert queries() == few
    assert max(few) <= 4
