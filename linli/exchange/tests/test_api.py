"""The exchange API at /api/exchange/: templates, imports with a JSON report, exports as files."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from linli.accounts.services import issue_token
from linli.core.testing import ID_NUMBERS, PHONES
from linli.exchange.tests.sheets import (
    PERSON_HEADERS,
    all_text,
    fill_template,
    read_cells,
    table_counts,
    workbook,
)
from linli.exchange.tests.test_imports import new_id
from linli.exchange.workbooks import XLSX_CONTENT_TYPE
from linli.people.models import Person


def client_for(user) -> Client:
    _, raw = issue_token(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def upload(data: bytes, name: str = "sheet.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=XLSX_CONTENT_TYPE)


def test_a_template_downloads_as_xlsx_and_an_unknown_kind_is_a_404(district):
    api = client_for(district.a.users["property_manager"])

    ok = api.get("/api/exchange/templates/houses")
    missing = api.get("/api/exchange/templates/elephants")

    assert ok.status_code == 200
    assert ok["Content-Type"] == XLSX_CONTENT_TYPE
    assert read_cells(ok.content)[0][:4] == ["小区编码", "楼号", "单元号", "房号"]
    assert missing.status_code == 404
    assert "elephants" in missing.json()["error"]["message"]


def test_a_dry_run_answers_a_report_and_a_real_import_with_bad_rows_is_a_400_writing_nothing(district):
    manager = district.a.users["property_manager"]
    api = client_for(manager)
    code = district.a.compound.code
    rows = [[code, "王五", "", new_id(1), "", "", "", "", "", "", "", ""],
            [code, "赵六", "", new_id(2)[:-1] + "0", "", "", "", "", "", "", "", ""],
            [district.b.compound.code, "钱七", "", new_id(3), "", "", "", "", "", "", "", ""]]
    data = workbook(PERSON_HEADERS, rows)
    before = table_counts()

    dry = api.post("/api/exchange/imports", {"kind": "persons", "dry_run": "true", "file": upload(data)})
    real = api.post("/api/exchange/imports", {"kind": "persons", "dry_run": "false", "file": upload(data)})

    assert dry.status_code == 200
    assert dry.json()["ok"] is False
    assert real.status_code == 400
    body = real.json()
    assert (body["ok"], body["rows"], body["created"]) == (False, 3, {})
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "证件号码"), (4, "小区编码")]
    assert "无权导入该小区" in body["errors"][1]["message"]
    assert table_counts() == before


def test_a_filled_template_imports_through_the_api(district):
    api = client_for(district.a.users["property_manager"])
    template = api.get("/api/exchange/templates/persons").content
    data = fill_template(template, [[district.a.compound.code, "王五", "居民身份证", new_id(1), "13912340001",
                                     "户籍人口", "", "3", "2", "502", "业主", "2024-01-01"]])

    response = api.post("/api/exchange/imports", {"kind": "persons", "dry_run": "false", "file": upload(data)})

    assert response.status_code == 200, response.json()
    assert response.json()["created"] == {"persons": 1, "residencies": 1}
    assert Person.objects.filter(name="王五").exists()


def test_a_bad_file_or_an_unknown_kind_is_refused_naming_the_problem(district):
    api = client_for(district.admin)
    not_xlsx = api.post("/api/exchange/imports", {"kind": "persons", "file": upload(b"hello")})
    wrong_headers = api.post("/api/exchange/imports",
                             {"kind": "persons", "file": upload(workbook(["楼号"], [["3"]]))})
    unknown = api.post("/api/exchange/imports", {"kind": "cats", "file": upload(b"x")})

    assert not_xlsx.status_code == 400
    assert "xlsx" in not_xlsx.json()["error"]["message"]
    assert wrong_headers.status_code == 400
    assert "表头缺少列" in wrong_headers.json()["error"]["message"]
    assert unknown.status_code == 404
    assert "cats" in unknown.json()["error"]["message"]


def test_exports_download_masked_and_filtered_and_need_the_export_permission(district):
    manager = client_for(district.a.users["property_manager"])
    guard = client_for(district.a.users["guard"])

    persons = manager.get("/api/exchange/exports/persons", {"q": "业主"})
    refused = guard.get("/api/exchange/exports/persons")
    unknown = manager.get("/api/exchange/exports/secrets")

    assert persons.status_code == 200
    assert persons["Content-Type"] == XLSX_CONTENT_TYPE
    text = all_text(b"".join(persons.streaming_content))
    assert "A业主" in text and "A家属" not in text and "B业主" not in text
    for value in [*ID_NUMBERS.values(), *PHONES.values()]:
        assert value not in text
    assert refused.status_code == 403
    assert unknown.status_code == 404
