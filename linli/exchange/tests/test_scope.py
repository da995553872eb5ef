"""Every role on both sides against the exchange endpoints: nothing imported into, nothing exported
from, the other side (the authorization matrix for these file endpoints)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from linli.accounts.services import issue_token
from linli.core.testing import ID_NUMBERS, PHONES
from linli.exchange.selectors import EXPORT_LISTS
from linli.exchange.tests.sheets import (
    BUILDING_HEADERS,
    HOUSE_HEADERS,
    PERSON_HEADERS,
    VEHICLE_HEADERS,
    all_text,
    table_counts,
    workbook,
)
from linli.exchange.tests.test_imports import new_id
from linli.exchange.workbooks import XLSX_CONTENT_TYPE


def foreign_sheets(code: str) -> dict[str, bytes]:
    return {
        "buildings": workbook(BUILDING_HEADERS, [[code, "9", 6, 0, 1, "", ""]]),
        "houses": workbook(HOUSE_HEADERS, [[code, "3", "1", "101", 1, 50, "", "", ""]]),
        "persons": workbook(PERSON_HEADERS, [[code, "越权", "", new_id(1), "", "", "", "3", "2", "501", "租户", ""]]),
        "vehicles": workbook(VEHICLE_HEADERS, [[code, "鲁B77777", "", "", "3", "2", "501"]]),
    }


def markers(side) -> list[str]:
    """Text that only the other side's rows carry."""
    return [side.compound.code, side.compound.name, side.owner.name, side.family.name, side.vehicle.plate,
            side.real_unit.name, side.company.name]


@pytest.mark.parametrize("tag", ["a", "b"])
def test_no_role_imports_into_or_exports_from_the_other_side(district, tag):
    own, other = (district.a, district.b) if tag == "a" else (district.b, district.a)
    failures: list[str] = []
    for role, user in own.users.items():
        _, raw = issue_token(user=user, name="scope")
        api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        before = table_counts()
        for kind, data in foreign_sheets(other.compound.code).items():
            response = api.post("/api/exchange/imports", {
                "kind": kind, "dry_run": "false",
                "file": SimpleUploadedFile("x.xlsx", data, content_type=XLSX_CONTENT_TYPE)})
            if response.status_code not in (400, 403):
                failures.append(f"{role}_{tag} import {kind}: {response.status_code}")
        if table_counts() != before:
            failures.append(f"{role}_{tag}: an import wrote something")
        for name in EXPORT_LISTS:
            for params in ({}, {"compound_id": other.compound.pk}):
                response = api.get(f"/api/exchange/exports/{name}", params)
                if response.status_code == 403:
                    continue
                if params and EXPORT_LISTS[name].filters.get("compound_id"):
                    # Naming the other side's compound is naming a record out of scope: 404, no sheet.
                    if response.status_code != 404:
                        failures.append(f"{role}_{tag} export {name} {params}: {response.status_code}")
                    continue
                if response.status_code != 200:
                    failures.append(f"{role}_{tag} export {name} {params}: {response.status_code}")
                    continue
                text = all_text(b"".join(response.streaming_content))
                leaked = [m for m in markers(other) if m in text]
                clear = [v for v in [*ID_NUMBERS.values(), *PHONES.values()] if v in text]
                if leaked or clear:
                    failures.append(f"{role}_{tag} export {name} {params}: {leaked} {clear}")
    assert not failures, "\n".join(failures)


def test_residents_do_not_bulk_import(district):
    resident = district.a.users["resident"]
    _, raw = issue_token(user=resident, name="scope")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    sheet = workbook(VEHICLE_HEADERS, [[district.a.compound.code, "鲁B77777", "", "", "3", "2", "502"]])
    before = table_counts()

    response = api.post("/api/exchange/imports", {
        "kind": "vehicles", "dry_run": "false",
        "file": SimpleUploadedFile("x.xlsx", sheet, content_type=XLSX_CONTENT_TYPE)})

    assert response.status_code == 403
    assert table_counts() == before
