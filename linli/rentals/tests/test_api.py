"""The rentals API: listings, tenancies with masked tenant numbers, and the police export
(出租房屋登记) that only officers and managers with the export permission get, audited as a reveal."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.models import AuditEntry
from linli.core.tests.apiclient import ApiClient
from linli.rentals import selectors
from linli.rentals.models import Listing, Tenancy
from linli.rentals.testing import TENANT_PHONES, side_records, tenant_id_number

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


def _xlsx_text(content: bytes) -> str:
    from openpyxl import load_workbook

    book = load_workbook(BytesIO(content), read_only=True)
    return "\n".join(str(c) for row in book.active.iter_rows(values_only=True) for c in row if c is not None)


def _both_sides(d):
    return side_records(d.a, "a"), side_records(d.b, "b")


def test_an_owner_lists_a_house_and_registers_a_tenant_through_the_api(district):
    a = district.a
    owner = ApiClient(a.users["resident"])
    listing = owner.post("/api/rentals/listings", {"house_id": a.house.pk, "rent_fen": 210000,
                                                   "deposit_fen": 420000, "available_from": "2024-05-01",
                                                   "description": "朝南两居室"})
    assert listing.status_code == 201, listing.content
    assert "phone" not in listing.content.decode()
    tenancy = owner.post("/api/rentals/tenancies", {
        "house_id": a.house.pk, "tenant_name": "李租客", "id_number": tenant_id_number("a"),
        "phone": TENANT_PHONES["a"], "lease_start": "2024-05-01", "lease_end": "2099-04-30", "rent_fen": 210000,
        "purpose": "residential", "listing_id": listing.json()["id"]})
    assert tenancy.status_code == 201, tenancy.content
    body = tenancy.json()
    assert body["tenant_name"] == "李租客" and body["landlord_name"] == a.owner.name
    assert body["tenant_id_number"].startswith("3702") and "*" in body["tenant_id_number"]
    assert tenant_id_number("a") not in tenancy.content.decode() and TENANT_PHONES["a"] not in tenancy.content.decode()
    assert owner.get(f"/api/rentals/listings/{listing.json()['id']}").json()["status"] == "let"
    bad = owner.post("/api/rentals/tenancies", {
        "house_id": a.house.pk, "tenant_name": "赵", "id_number": "123", "lease_start": "2024-01-01",
        "lease_end": "2023-01-01", "rent_fen": 1})
    assert bad.status_code == 422
    manager = ApiClient(a.users["property_manager"])
    ended = manager.post(f"/api/rentals/tenancies/{body['id']}/end", {"on": "2024-06-30"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    family_house = ApiClient(a.users["resident"]).post("/api/rentals/tenancies", {
        "house_id": a.other_house.pk, "tenant_name": "越权", "id_number": tenant_id_number("b"),
        "lease_start": "2024-01-01", "lease_end": "2025-01-01", "rent_fen": 1})
    assert family_house.status_code == 404


def test_the_police_export_lists_only_the_officers_compound_and_is_audited_as_a_reveal(district):
    d = district
    ta, tb = (r["tenancy"] for r in _both_sides(d))
    officer = ApiClient(d.a.users["community_officer"])
    before = AuditEntry.objects.count()
    response = officer.get("/api/rentals/registrations/export", compound_id=d.a.compound.pk, format="xlsx")
    assert response.status_code == 200, response.content
    assert "spreadsheetml" in response["Content-Type"] and "attachment" in response["Content-Disposition"]
    text = _xlsx_text(response.content)
    assert tenant_id_number("a") in text and TENANT_PHONES["a"] in text and d.a.house.standard_address in text
    assert d.a.owner.name in text and "居住" in text
    assert tenant_id_number("b") not in text and d.b.house.standard_address not in text
    entries = AuditEntry.objects.filter(pk__gt=before)
    reveal = entries.get(action="reveal")
    assert (reveal.object_type, reveal.object_id, reveal.user_id) == (
        "people.person", str(ta.tenant_id), d.a.users["community_officer"].pk)
    export = entries.get(action="export")
    assert export.object_type == "places.compound" and export.after["rows"] == 1
    assert tenant_id_number("a") not in str(list(entries.values_list("before", "after")))
    assert officer.get("/api/rentals/registrations/export", compound_id=d.b.compound.pk).status_code == 404
    pdf = ApiClient(d.a.users["property_manager"]).get("/api/rentals/registrations/export",
                                                       compound_id=d.a.compound.pk, format="pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf["Content-Type"] == "application/pdf"
    for role in ("customer_service", "cashier", "guard", "grid_worker", "resident"):
        refused = ApiClient(d.a.users[role]).get("/api/rentals/registrations/export", compound_id=d.a.compound.pk)
        assert refused.status_code in (403, 404), role
    assert AuditEntry.objects.filter(pk__gt=before, action="reveal").count() == 2
    assert tb.tenant_id not in set(AuditEntry.objects.filter(pk__gt=before, object_type="people.person")
                                   .values_list("object_id", flat=True))


def test_the_export_window_keeps_leases_that_overlap_it(district):
    d = district
    tenancy = _both_sides(d)[0]["tenancy"]
    officer = d.a.users["community_officer"]
    assert [r.tenancy for r in selectors.rental_registration_rows(officer, compound_id=d.a.compound.pk,
                                                                  since=dt.date(2030, 1, 1),
                                                                  until=dt.date(2030, 12, 31))] == [tenancy]
    assert selectors.rental_registration_rows(officer, compound_id=d.a.compound.pk, until=dt.date(2023, 12, 31)) == []


def test_rental_lists_take_the_same_queries_for_one_row_or_many(district):
    d = district
    _both_sides(d)
    clients = [ApiClient(d.a.users["property_manager"]), ApiClient(d.a.users["resident"]),
               ApiClient(d.a.users["community_officer"])]

    def queries():
        counts = []
        for client in clients:
            for url in ("/api/rentals/listings", "/api/rentals/tenancies"):
                with CaptureQueriesContext(connection) as ctx:
                    assert client.get(url).status_code == 200
                counts.append(len(ctx.captured_queries))
        return counts

    queries()
    few = queries()
    from linli.people import services as people
    from linli.places import services as places
    from linli.rentals import services

    manager = d.a.users["property_manager"]
    for i in range(6):
        house = places.create_house(actor=d.admin, unit=d.a.unit, number=f"60{i}", floor=6, built_area="60.00")
        people.add_residency(actor=d.admin, person=d.a.owner, house=house, role="owner", since=d.a.residency.since)
        services.create_listing(actor=manager, house=house, rent_fen=100000 + i, available_from=d.a.residency.since)
        services.register_tenancy(actor=manager, house=house, tenant_name=f"租客{i}", id_type="passport",
                                  id_number=f"E1234567{i}", phone="", lease_start=d.a.residency.since,
                                  lease_end=d.a.residency.since.replace(year=2099), rent_fen=100000)
    assert Listing.objects.filter(compound=d.a.compound).count() == 7
    assert Tenancy.objects.filter(compound=d.a.compound).count() == 7
    assert queries() == few
    assert max(few) <= 4
