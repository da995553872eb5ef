"""Importing devices: every bad row named with its column and reason, nothing written unless every
row is good, and good rows registered through the device service (audited, with live state)."""

from __future__ import annotations

import pytest

from linli.core.models import AuditEntry
from linli.core.tests.apiclient import ApiClient
from linli.devices.models import Device, DeviceState
from linli.exchange.services import import_kinds_for, import_template, import_workbook
from linli.exchange.tests.sheets import DEVICE_HEADERS as HEADERS
from linli.exchange.tests.sheets import fill_template, read_cells, workbook


def counts():
    return Device.objects.count(), DeviceState.objects.count(), AuditEntry.objects.count()


def errors_by_row(report):
    found: dict[int, list[tuple[str, str]]] = {}
    for e in report.errors:
        found.setdefault(e.row, []).append((e.column, e.message))
    return found


def test_a_good_sheet_registers_every_device_through_the_service(district):
    a = district.a
    code = a.compound.code
    data = fill_template(import_template("devices"), [
        [code, "3", "2", 5, "smoke-nbiot", "86a0000000002", "3号楼2单元5层烟感", "", 35.5, 12],
        [code, "3号楼", "", "", "ground-lock-mqtt", "GL-100", "地锁100", "lock-100", "", ""],
        [code, "", "", "", "barrier-linli", "BG-1", "东门道闸", "", -4, "7.25"],
    ])
    manager = a.users["property_manager"]

    report = import_workbook(actor=manager, kind="devices", data=data, dry_run=False)

    assert report.ok, report.errors
    assert report.created == {"devices": 3}
    smoke = Device.objects.get(serial="86a0000000002")
    assert (smoke.building_id, smoke.unit_id, smoke.floor) == (a.building.pk, a.unit.pk, 5)
    assert (smoke.x_m, smoke.y_m, smoke.lifecycle) == (35.5, 12.0, "provisioned")
    assert smoke.code == f"{code}-smoke-nbiot-86a0000000002"
    lock = Device.objects.get(code="lock-100")
    assert lock.building_id == a.building.pk and lock.unit_id is None and lock.floor is None
    gate = Device.objects.get(serial="BG-1")
    assert gate.building_id is None and (gate.x_m, gate.y_m) == (-4.0, 7.25)
    assert DeviceState.objects.filter(device__in=[smoke, lock, gate]).count() == 3
    entries = AuditEntry.objects.filter(object_type="devices.device", action="create",
                                        object_id__in=[str(smoke.pk), str(lock.pk), str(gate.pk)])
    assert entries.count() == 3
    assert {e.actor for e in entries} == {"property_manager_a"}
    assert {e.context.get("source") for e in entries} == {"import"}


def test_bad_rows_are_named_with_column_and_reason_and_nothing_is_written(district):
    a, b = district.a, district.b
    code = a.compound.code
    rows = [
        [code, "3", "2", 5, "smoke-nbiot", "S-1", "好的一行", "", "", ""],                   # 2: good
        ["370281009009009", "", "", "", "smoke-nbiot", "S-2", "未知小区", "", "", ""],        # 3
        [b.compound.code, "", "", "", "smoke-nbiot", "S-3", "对面小区", "", "", ""],          # 4
        [code, "", "", "", "toaster", "S-4", "未知型号", "", "", ""],                        # 5
        [code, "", "", "", "smoke-nbiot", "S-1", "重复序列号", "", "", ""],                  # 6
        [code, "", "", "", "smoke-nbiot", a.device.serial, "已登记", "", "", ""],           # 7
        [code, "9", "", "", "smoke-nbiot", "S-7", "没有的楼", "", "", ""],                   # 8
        [code, "", "2", "", "smoke-nbiot", "S-8", "只有单元", "", "", ""],                   # 9
        [code, "3", "", 9, "smoke-nbiot", "S-9", "楼层过高", "", "", ""],                    # 10
        [code, "", "", "", "smoke-nbiot", "S-10", "编码不对", "Bad_Code", "", ""],           # 11
        [code, "", "", "", "smoke-nbiot", "S-11", "", "", "东边", ""],                       # 12
        [code, "", "", "", "smoke-nbiot", "S-12", "编码已用", a.device.code, "", ""],        # 13
        [code, "", "", "", "smoke-nbiot", "S-13", "编码重复", "same-code", "", ""],          # 14
        [code, "", "", "", "smoke-nbiot", "S-14", "编码重复", "same-code", "", ""],          # 15
    ]
    before = counts()

    report = import_workbook(actor=a.users["property_manager"], kind="devices", data=workbook(HEADERS, rows),
                             dry_run=False)

    assert not report.ok and report.created == {}
    assert counts() == before
    bad = errors_by_row(report)
    assert sorted(bad) == [*range(3, 14), 15]  # row 14 is the first to use its code
    assert bad[3] == [("小区编码", "小区编码不存在或无权导入该小区")]
    assert bad[4] == [("小区编码", "小区编码不存在或无权导入该小区")]  # b is out of sight: reads as unknown
    assert bad[5] == [("设备型号编码", "没有编码为“toaster”的设备型号")]
    assert bad[6] == [("序列号", "与第2行重复")]
    assert bad[7] == [("序列号", "该型号下已登记此序列号")]
    assert bad[8] == [("楼号", "小区中没有9号楼")]
    assert bad[9] == [("楼号", "填写单元号或楼层时须填写楼号")]
    assert bad[10] == [("楼层", "楼层超出该楼栋的范围（地上6层，地下0层）")]
    assert bad[11] == [("设备编码", "只能包含小写字母、数字和连字符")]
    assert bad[12] == [("设备名称", "必填项未填写"), ("X坐标", "应为数字（单位：米）")]
    assert bad[13] == [("设备编码", f"设备编码“{a.device.code}”已被使用")]
    assert bad[15] == [("设备编码", "与第14行重复")]


def test_a_dry_run_checks_and_plans_but_writes_nothing(district):
    a = district.a
    data = workbook(HEADERS, [[a.compound.code, "", "", "", "smoke-nbiot", "S-1", "烟感", "", "", ""]])
    before = counts()
    report = import_workbook(actor=district.admin, kind="devices", data=data, dry_run=True)
    assert report.ok and report.planned == {"devices": 1} and report.created == {}
    assert counts() == before


def test_only_roles_that_register_devices_may_import_them(district):
    a = district.a
    kinds = {role: {k.kind for k in import_kinds_for(a.users[role])} for role in ("integrator", "guard", "resident")}
    assert "devices" in kinds["integrator"] and "devices" not in kinds["guard"] and not kinds["resident"]
    data = workbook(HEADERS, [[a.compound.code, "", "", "", "smoke-nbiot", "S-1", "烟感", "", "", ""]])
    report = import_workbook(actor=a.users["guard"], kind="devices", data=data, dry_run=False)
    assert [(e.column, e.message) for e in report.errors] == [("小区编码", "无权导入该小区")]
    assert not Device.objects.filter(serial="S-1").exists()


def test_the_template_lists_the_device_columns_and_explains_them(district):
    cells = read_cells(import_template("devices"))
    assert cells[0] == HEADERS
    assert any(row and row[0] == "设备型号编码" and row[1] == "必填" for row in cells)


@pytest.mark.urls("linli.core.tests.api_only_urls")
def test_the_api_imports_devices_all_or_nothing(district):
    from io import BytesIO

    a = district.a
    client = ApiClient(a.users["integrator"])
    good = [a.compound.code, "", "", "", "loudspeaker-linli", "LS-1", "广播1", "", "", ""]
    bad = [a.compound.code, "", "", "", "loudspeaker-linli", "LS-1", "广播2", "", "", ""]

    def post(rows, dry_run):
        upload = BytesIO(workbook(HEADERS, rows))
        upload.name = "devices.xlsx"
        return client.client.post("/api/exchange/imports", {"kind": "devices", "dry_run": dry_run, "file": upload})

    refused = post([good, bad], "false")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"row": 3, "column": "序列号", "message": "与第2行重复"}]
    assert not Device.objects.filter(serial="LS-1").exists()
    accepted = post([good], "false")
    assert accepted.status_code == 200 and accepted.json()["created"] == {"devices": 1}
    assert Device.objects.get(serial="LS-1").compound_id == a.compound.pk
