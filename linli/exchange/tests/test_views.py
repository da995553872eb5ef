"""Console pages: upload, check, confirm; choose a list and download it."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from linli.core.testing import ID_NUMBERS
from linli.exchange.tests.sheets import PERSON_HEADERS, all_text, table_counts, workbook
from linli.exchange.tests.test_imports import new_id
from linli.exchange.workbooks import XLSX_CONTENT_TYPE
from linli.people.models import Person


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sheet(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("人员.xlsx", data, content_type=XLSX_CONTENT_TYPE)


def test_the_import_page_offers_what_the_user_may_import(district):
    page = console(district.a.users["property_manager"]).get(reverse("exchange:import"))
    technician = console(district.a.users["technician"]).get(reverse("exchange:import"))
    anonymous = Client().get(reverse("exchange:import"))

    assert page.status_code == 200
    html = page.content.decode()
    for title in ("楼栋", "房屋", "人员", "车辆"):
        assert title in html
    assert reverse("exchange:template", args=["persons"]) in html
    assert technician.status_code == 403
    assert anonymous.status_code == 302


def test_a_template_downloads_from_the_console(district):
    response = console(district.a.users["guard"]).get(reverse("exchange:template", args=["vehicles"]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    assert console(district.a.users["guard"]).get(reverse("exchange:template", args=["dogs"])).status_code == 404


def test_checking_a_sheet_lists_the_bad_rows_and_writes_nothing(district):
    code = district.a.compound.code
    data = workbook(PERSON_HEADERS, [[code, "王五", "", new_id(1), "", "", "", "", "", "", "", ""],
                                     [code, "赵六", "", new_id(2)[:-1] + "0", "123", "", "", "", "", "", "", ""]])
    before = table_counts()

    response = console(district.a.users["property_manager"]).post(
        reverse("exchange:import"), {"kind": "persons", "action": "check", "file": sheet(data)})

    html = response.content.decode()
    assert response.status_code == 200
    assert "身份证号校验位错误" in html and "手机号码应为11位" in html
    assert "其中 1 行有问题" in html
    assert 'value="confirm"' not in html
    assert table_counts() == before


def test_a_checked_sheet_is_imported_on_confirmation(district):
    client = console(district.a.users["property_manager"])
    data = workbook(PERSON_HEADERS, [[district.a.compound.code, "王五", "", new_id(1), "", "", "", "3", "2", "502",
                                      "租户", ""]])

    checked = client.post(reverse("exchange:import"), {"kind": "persons", "action": "check", "file": sheet(data)})
    token = re.search(r'name="token" value="([^"]+)"', checked.content.decode()).group(1)
    assert not Person.objects.filter(name="王五").exists()
    someone_else = console(district.a.users["community_officer"]).post(
        reverse("exchange:import"), {"kind": "persons", "action": "confirm", "token": token})
    confirmed = client.post(reverse("exchange:import"), {"kind": "persons", "action": "confirm", "token": token})
    again = client.post(reverse("exchange:import"), {"kind": "persons", "action": "confirm", "token": token})

    assert someone_else.status_code == 400
    assert confirmed.status_code == 200
    assert "导入完成" in confirmed.content.decode()
    assert Person.objects.filter(name="王五").count() == 1
    assert again.status_code == 400  # the kept copy is gone once imported


def test_a_file_that_is_not_a_spreadsheet_is_refused_with_the_reason(district):
    response = console(district.admin).post(
        reverse("exchange:import"), {"kind": "persons", "action": "check", "file": sheet(b"PK not really")})
    assert response.status_code == 400
    assert "文件不是有效的 Excel" in response.content.decode()


def test_the_export_page_downloads_a_list_with_its_filters(district):
    client = console(district.a.users["property_manager"])

    page = client.get(reverse("exchange:export"))
    download = client.get(reverse("exchange:download"), {"list": "persons", "q": "家属"})
    guard = console(district.a.users["guard"]).get(reverse("exchange:download"), {"list": "persons"})
    bad = client.get(reverse("exchange:download"), {"list": "houses", "compound_id": "x"})

    assert page.status_code == 200 and "人员" in page.content.decode()
    assert download.status_code == 200
    text = all_text(b"".join(download.streaming_content))
    assert "A家属" in text and "A业主" not in text
    assert ID_NUMBERS["a_family"] not in text
    assert guard.status_code == 403
    assert bad.status_code == 400
