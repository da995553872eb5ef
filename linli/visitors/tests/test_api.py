"""The visitors API: the clear code only in the creation answer, masked phones, refusals as 409 with
the reason, walk-ins, and bounded queries for every list."""

import datetime as dt

import pytest
from django.utils import timezone

from linli.core.testing import PHONES
from linli.core.tests.apiclient import ApiClient
from linli.visitors import services
from linli.visitors.tests.conftest import invite


def _window(hours=2):
    now = timezone.now()
    return {"starts_at": now.isoformat(), "ends_at": (now + dt.timedelta(hours=hours)).isoformat()}


def test_a_resident_invites_and_the_code_is_shown_once_with_its_qr(district):
    client = ApiClient(district.a.users["resident"])
    created = client.post("/api/visitors/invitations", {"house_id": district.a.house.pk, "visitor_name": "王小明",
                                                        "visitor_phone": PHONES["b_family"], "uses": 2,
                                                        **_window()})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["code"] and body["qr_svg"].startswith("<svg") and body["visitor_phone"] == "139****9002"
    assert PHONES["b_family"] not in created.content.decode()
    detail = client.get(f"/api/visitors/invitations/{body['id']}")
    assert detail.status_code == 200 and body["code"] not in detail.content.decode()
    assert "code" not in detail.json()


def test_a_resident_cannot_invite_for_the_house_next_door(district):
    client = ApiClient(district.a.users["resident"])
    response = client.post("/api/visitors/invitations", {"house_id": district.a.other_house.pk,
                                                         "visitor_name": "王小明", **_window()})
    assert response.status_code in (403, 404)
    too_long = client.post("/api/visitors/invitations", {"house_id": district.a.house.pk, "visitor_name": "王小明",
                                                         **_window(hours=24 * 8)})
    assert too_long.status_code == 422 and "ends_at" in too_long.json()["error"]["fields"]


def test_the_guard_honours_a_code_and_a_second_use_is_refused_with_the_reason(district):
    _, code = invite(district)
    guard = ApiClient(district.a.users["guard"])
    admitted = guard.post("/api/visitors/honour", {"code": code, "gate": "东门"})
    assert admitted.status_code == 200 and admitted.json()["status"] == "admitted"
    again = guard.post("/api/visitors/honour", {"code": code})
    assert again.status_code == 409 and again.json()["error"]["code"] == "used_up"
    assert ApiClient(district.b.users["guard"]).post("/api/visitors/honour", {"code": code}).json()["error"][
        "code"] == "unknown_code"


@pytest.mark.parametrize("role", ["resident", "technician", "cashier", "customer_service"])
def test_only_gate_roles_honour_codes(district, role):
    _, code = invite(district)
    response = ApiClient(district.a.users[role]).post("/api/visitors/honour", {"code": code})
    assert response.status_code == 403
    assert services.honour_invitation(code=code).status == "admitted"  # still unused


def test_walk_in_through_the_api(district):
    guard = ApiClient(district.a.users["guard"])
    created = guard.post("/api/visitors/walk-ins", {"house_id": district.a.house.pk, "visitor_name": "李师傅",
                                                    "visitor_phone": PHONES["b_owner"], "purpose": "维修"})
    assert created.status_code == 201 and created.json()["visitor_phone"] == "139****9001"
    pk = created.json()["id"]
    assert guard.post(f"/api/visitors/walk-ins/{pk}/answer", {"admit": True}).status_code == 403
    resident = ApiClient(district.a.users["resident"])
    answered = resident.post(f"/api/visitors/walk-ins/{pk}/answer", {"admit": False})
    assert answered.status_code == 200 and answered.json()["status"] == "refused"
    assert ApiClient(district.b.users["resident"]).get(f"/api/visitors/visits/{pk}").status_code == 404


@pytest.mark.parametrize("role", ["guard", "resident"])
def test_the_lists_take_a_bounded_number_of_queries(district, role, django_assert_max_num_queries):
    for _ in range(6):
        _, code = invite(district, uses=2)
        services.honour_invitation(code=code)
        services.register_walk_in(actor=district.a.users["guard"], house=district.a.house, visitor_name="访客")
    client = ApiClient(district.a.users[role])
    with django_assert_max_num_queries(8):
        invitations = client.get("/api/visitors/invitations", limit=50)
    with django_assert_max_num_queries(8):
        visits = client.get("/api/visitors/visits", limit=50)
    assert invitations.json()["count"] == 6 and visits.json()["count"] == 12
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    assert client.get("/api/visitors/visits", since=since, house_id=district.a.house.pk).json()["count"] == 12
    assert client.get("/api/visitors/invitations", active_only="true").json()["count"] == 6
