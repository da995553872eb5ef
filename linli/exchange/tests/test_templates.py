"""Templates: the headers an import reads, a sheet of instructions, and a filled one imports as is."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from linli.core.testing import ID_NUMBERS
from linli.exchange.importers import IMPORTERS
from linli.exchange.services import import_template, import_workbook
from linli.exchange.tests.sheets import (
    BUILDING_HEADERS,
    DEVICE_HEADERS,
    HOUSE_HEADERS,
    PERSON_HEADERS,
    VEHICLE_HEADERS,
    WORK_ORDER_HEADERS,
    fill_template,
    table_counts,
)
from linli.exchange.tests.test_imports import new_id

HEADERS = {"buildings": BUILDING_HEADERS, "houses": HOUSE_HEADERS, "persons": PERSON_HEADERS,
           "vehicles": VEHICLE_HEADERS, "devices": DEVICE_HEADERS, "work_orders": WORK_ORDER_HEADERS}


@pytest.mark.parametrize("kind", sorted(IMPORTERS))
def test_a_template_has_the_chinese_headers_and_explains_every_column(kind):
    wb = load_workbook(io.BytesIO(import_template(kind)))
    data, guide = wb.worksheets

    assert [c.value for c in data[1]] == HEADERS[kind]
    assert data.max_row == 1  # no sample rows to import by mistake
    assert guide.title == "填写说明"
    explained = {row[0]: row for row in guide.iter_rows(min_row=2, values_only=True) if row[0]}
    for header in HEADERS[kind]:
        assert header in explained
    assert explained["小区编码"][1] == "必填"


def test_choice_columns_list_the_model_labels_and_offer_a_drop_down():
    wb = load_workbook(io.BytesIO(import_template("persons")))
    data, guide = wb.worksheets
    explained = {row[0]: row for row in guide.iter_rows(min_row=2, values_only=True) if row[0]}

    assert "居民身份证" in explained["证件类型"][3]
    assert explained["居住关系"][3] == "业主、租户、家庭成员、同住人"
    lists = [v.formula1 for v in data.data_validations.dataValidation]
    assert '"业主,租户,家庭成员,同住人"' in lists
    assert data.column_dimensions["D"].number_format == "@"  # 证件号码 stays text


def filled_rows(district) -> dict[str, list[list]]:
    code = district.a.compound.code
    return {
        "buildings": [[code, "8", "18", "1", "2", "54", "是"]],
        "houses": [[code, "3", "1", "101", "1", "60.5", "50", "住宅", "空置"]],
        "persons": [[code, "王五", "居民身份证", new_id(7), "13912340007", "户籍人口", "高龄老人", "3", "2", "501",
                     "同住人", "2022-10-01"]],
        "vehicles": [[code, "鲁B8888A", "蓝牌", ID_NUMBERS["a_family"], "3", "2", "501"]],
        "devices": [[code, "3", "2", "5", "smoke-nbiot", "860000000000009", "3号楼2单元5层烟感", "", "35.5", "12"]],
        "work_orders": [[code, _ticket_category(district), "东门外垃圾堆放", "三天未清运", "", "", "", "东门外",
                         "2024-03-01 09:30", "12345-20240301-0001", "12345热线"]],
    }


def _ticket_category(district) -> str:
    from linli.workorders.models import Category
    from linli.workorders.services import create_category

    a = district.a
    if not Category.objects.filter(compound=a.compound, code="governance").exists():
        create_category(actor=a.users["property_manager"], compound=a.compound, code="governance",
                        kind="governance", name="治理事件", deadline_minutes=3 * 24 * 60)
    return "governance"


@pytest.mark.parametrize("kind", sorted(IMPORTERS))
def test_a_filled_template_imports(district, kind):
    data = fill_template(import_template(kind), filled_rows(district)[kind])
    before = table_counts()

    report = import_workbook(actor=district.a.users["property_manager"], kind=kind, data=data, dry_run=False)

    assert report.ok, report.errors
    assert sum(report.created.values()) >= 1
    assert table_counts() != before
