"""12345 hotline tickets and grid events imported from a sheet: every bad row named, all or nothing,
and a sheet imported twice files each external ticket once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from linli.exchange.services import import_workbook
from linli.exchange.tests.sheets import WORK_ORDER_HEADERS as HEADERS
from linli.exchange.tests.sheets import workbook
from linli.workorders.models import WorkOrder
from linli.workorders.tests.factories import category

pytestmark = pytest.mark.django_db


def _rows(district):
    a = district.a
    return [
        [a.compound.code, "governance", "东门外垃圾堆放", "三天未清运", "", "", "", "东门外", "2026-01-05 09:30",
         "12345-0001", "12345热线"],
        [a.compound.code, "governance", "楼道堆物", "", a.building.number, a.unit.number, a.house.number, "",
         dt.datetime(2026, 1, 6, 14, 0), "GRID-77", "网格事件"],  # noqa: DTZ001 - an Excel cell has no zone
    ]


def test_a_ticket_sheet_files_work_orders_whose_clock_started_when_reported_and_a_second_import_skips_them(district):
    a = district.a
    manager = a.users["property_manager"]
    category(district, code="governance", kind="governance", name="治理事件", deadline_minutes=3 * 24 * 60)
    data = workbook(HEADERS, _rows(district))
    report = import_workbook(actor=manager, kind="work_orders", data=data, dry_run=False)
    assert report.ok, report.as_json()
    assert report.created == {"work_orders": 2, "already_imported": 0}
    hotline = WorkOrder.objects.get(details__external_no="12345-0001")
    grid = WorkOrder.objects.get(details__external_no="GRID-77")
    assert hotline.channel == "hotline_12345" and hotline.place == "东门外" and hotline.house is None
    assert grid.channel == "import" and grid.house == a.house and grid.building == a.building
    reported = dt.datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert hotline.submitted_at == reported and hotline.deadline_at == reported + dt.timedelta(days=3)
    assert hotline.steps.get().actor == manager and hotline.status == "submitted"

    again = import_workbook(actor=manager, kind="work_orders", data=data, dry_run=False)
    assert again.ok and again.created == {"work_orders": 0, "already_imported": 2}
    assert WorkOrder.objects.filter(compound=a.compound).count() == 2


def test_a_ticket_sheet_with_bad_rows_names_each_and_files_nothing(district):
    a, b = district.a, district.b
    category(district, code="governance", kind="governance", name="治理事件")
    category(district, side="b", code="governance", kind="governance", name="治理事件")
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    rows = [
        *_rows(district),
        [a.compound.code, "no-such", "无类别", "", "", "", "", "小区内", "2026-01-05 10:00", "X-1", ""],
        [a.compound.code, "governance", "无地点", "", "", "", "", "", "2026-01-05 10:00", "X-2", ""],
        [a.compound.code, "governance", "重复单号", "", "", "", "", "北门", "2026-01-05 10:00", "12345-0001", ""],
        [a.compound.code, "governance", "未来", "", "", "", "", "北门", future, "X-3", ""],
        [a.compound.code, "governance", "坏时间", "", "", "", "", "北门", "昨天上午", "X-4", ""],
        [b.compound.code, "governance", "别的小区", "", "", "", "", "北门", "2026-01-05 10:00", "X-5", ""],
        [a.compound.code, "governance", "坏来源", "", "", "", "", "北门", "2026-01-05 10:00", "X-6", "微信"],
    ]
    report = import_workbook(actor=a.users["property_manager"], kind="work_orders",
                             data=workbook(HEADERS, rows), dry_run=False)
    assert not report.ok and report.created == {}
    by_row = {(e.row, e.column) for e in report.errors}
    assert by_row == {(4, "类别编码"), (5, "地点"), (6, "外部工单号"), (7, "报事时间"), (8, "报事时间"),
                      (9, "小区编码"), (10, "来源")}
    assert not WorkOrder.objects.exists()
    dry = import_workbook(actor=a.users["property_manager"], kind="work_orders",
                          data=workbook(HEADERS, _rows(district)), dry_run=True)
    assert dry.ok and dry.planned == {"work_orders": 2, "already_imported": 0} and not WorkOrder.objects.exists()


def test_only_dispatchers_import_tickets_not_guards_or_technicians(district):
    a = district.a
    category(district, code="governance", kind="governance", name="治理事件")
    for role in ("technician", "guard"):
        report = import_workbook(actor=a.users[role], kind="work_orders",
                                 data=workbook(HEADERS, _rows(district)), dry_run=False)
        assert not report.ok and {e.column for e in report.errors} == {"小区编码"}
    assert not WorkOrder.objects.exists()
    report = import_workbook(actor=a.users["customer_service"], kind="work_orders",
                             data=workbook(HEADERS, _rows(district)), dry_run=False)
    assert report.ok and report.created["work_orders"] == 2
