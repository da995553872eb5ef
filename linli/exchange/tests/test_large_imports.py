"""Ten thousand rows import in seconds: lookups are in bulk, never one query per row."""

from __future__ import annotations

import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.models import AuditEntry
from linli.exchange.services import import_workbook
from linli.exchange.tests.sheets import HOUSE_HEADERS, PERSON_HEADERS, workbook
from linli.exchange.tests.test_imports import new_id
from linli.people.models import Person, Residency
from linli.places import services as places
from linli.places.models import House


def test_ten_thousand_houses_import_with_a_bounded_number_of_queries(district):
    compound = district.a.compound
    places.create_building(actor=district.admin, compound=compound, number="9", floors_above=100, unit_count=10)
    rows = [[compound.code, "9", str(unit), f"{floor}{door:02d}", floor, 80, "", "", ""]
            for unit in range(1, 11) for floor in range(1, 101) for door in range(1, 11)]
    data = workbook(HOUSE_HEADERS, rows)
    audit_before = AuditEntry.objects.count()

    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        report = import_workbook(actor=district.a.users["property_manager"], kind="houses", data=data,
                                 dry_run=False)
    elapsed = time.monotonic() - started

    assert report.ok, report.errors[:5]
    assert report.created == {"houses": 10_000}
    assert House.objects.filter(building__number="9").count() == 10_000
    assert AuditEntry.objects.count() - audit_before == 10_000
    lookups = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("INSERT")]
    assert len(lookups) < 30, lookups
    assert len(queries) < 400  # inserts go in batches of ~100 rows (SQLite's variable limit)
    assert elapsed < 60, elapsed


def test_ten_thousand_persons_with_residencies_import_in_reasonable_time(district):
    a = district.a
    rows = [[a.compound.code, f"居民{n}", "", new_id(n), f"139{n:08d}", "", "", "3", "2", "502", "同住人", ""]
            for n in range(10_000)]
    data = workbook(PERSON_HEADERS, rows)

    started = time.monotonic()
    report = import_workbook(actor=a.users["property_manager"], kind="persons", data=data, dry_run=False)
    elapsed = time.monotonic() - started

    assert report.ok, report.errors[:5]
    assert report.created == {"persons": 10_000, "residencies": 10_000}
    assert Residency.objects.filter(house=a.other_house).count() == 10_000
    assert Person.objects.filter(name="居民9999").get().id_number_plain() == new_id(9999)
    assert elapsed < 90, elapsed
