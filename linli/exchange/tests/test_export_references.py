"""An export naming a compound, building, house, person or any other record outside the caller's scope
answers 404, like every other out-of-scope reference, instead of an empty sheet; nothing is audited
as exported. Records within the scope still export."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from linli.core.models import AuditAction, AuditEntry
from linli.core.tests.apiclient import ApiClient
from linli.exchange.selectors import EXPORT_LISTS

pytestmark = pytest.mark.django_db

# (list, filter, the record it names on a side)
REFERENCES = [
    ("compounds", "community_id", lambda s: s.community),
    ("compounds", "region_id", lambda s: s.street),
    ("compounds", "property_company_id", lambda s: s.company),
    ("buildings", "compound_id", lambda s: s.compound),
    ("houses", "compound_id", lambda s: s.compound),
    ("houses", "building_id", lambda s: s.building),
    ("houses", "unit_id", lambda s: s.unit),
    ("persons", "compound_id", lambda s: s.compound),
    ("persons", "house_id", lambda s: s.house),
    ("residencies", "compound_id", lambda s: s.compound),
    ("residencies", "house_id", lambda s: s.house),
    ("residencies", "person_id", lambda s: s.owner),
    ("real_units", "compound_id", lambda s: s.compound),
    ("vehicles", "compound_id", lambda s: s.compound),
    ("vehicles", "house_id", lambda s: s.house),
    ("vehicles", "owner_id", lambda s: s.owner),
    ("audit", "compound_id", lambda s: s.compound),
]


def _exports() -> int:
    return AuditEntry.objects.filter(action=AuditAction.EXPORT).count()


def test_every_reference_filter_of_every_list_is_covered():
    named = {(name, param) for name, param, _ in REFERENCES}
    filters = {(e.name, f) for e in EXPORT_LISTS.values() for f, kind in e.filters.items()
               if kind is int and f.endswith("_id")}
    assert filters == named


@pytest.mark.parametrize(("name", "param", "record"), REFERENCES, ids=[f"{n}-{p}" for n, p, _ in REFERENCES])
def test_an_export_naming_a_record_outside_the_scope_answers_404(district, name, param, record):
    officer = district.a.users["street_officer"]
    api = ApiClient(officer)
    before = _exports()
    outside = api.get(f"/api/exchange/exports/{name}", **{param: record(district.b).pk})
    assert outside.status_code == 404, outside.content
    assert outside.json()["error"]["code"] == "not_found"
    missing = api.get(f"/api/exchange/exports/{name}", **{param: 987654})
    assert missing.status_code == 404 and missing.json() == outside.json()
    assert _exports() == before
    inside = api.get(f"/api/exchange/exports/{name}", **{param: record(district.a).pk})
    assert inside.status_code == 200


def test_the_console_download_answers_404_for_a_compound_outside_the_scope(district):
    console = Client()
    console.force_login(district.a.users["property_manager"], backend="linli.accounts.backends.StaffPasswordBackend")
    outside = console.get(reverse("exchange:download"), {"list": "houses", "compound_id": district.b.compound.pk})
    assert outside.status_code == 404
    inside = console.get(reverse("exchange:download"), {"list": "houses", "compound_id": district.a.compound.pk})
    assert inside.status_code == 200
