"""Helpers for exchange tests: build an .xlsx in memory, read one back, count every table."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from openpyxl import Workbook, load_workbook

PERSON_HEADERS = ["小区编码", "姓名", "证件类型", "证件号码", "手机号", "人口类型", "关怀标签", "楼号", "单元号",
                  "房号", "居住关系", "入住日期"]
HOUSE_HEADERS = ["小区编码", "楼号", "单元号", "房号", "楼层", "建筑面积", "套内面积", "用途", "居住状态"]
BUILDING_HEADERS = ["小区编码", "楼号", "地上层数", "地下层数", "单元数", "高度", "是否有电梯"]
VEHICLE_HEADERS = ["小区编码", "车牌号", "车牌颜色", "车主证件号码", "楼号", "单元号", "房号"]
DEVICE_HEADERS = ["小区编码", "楼号", "单元号", "楼层", "设备型号编码", "序列号", "设备名称", "设备编码", "X坐标", "Y坐标"]
WORK_ORDER_HEADERS = ["小区编码", "类别编码", "标题", "描述", "楼号", "单元号", "房号", "地点", "报事时间", "外部工单号",
                      "来源"]


def workbook(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def fill_template(template: bytes, rows: Sequence[Sequence[Any]]) -> bytes:
    """What a person does: open the downloaded template, type rows under the headers, save."""
    wb = load_workbook(io.BytesIO(template))
    sheet = wb.worksheets[0]
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_cells(data: bytes) -> list[list[Any]]:
    """Every row of every sheet (first sheet first)."""
    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for sheet in wb.worksheets for row in sheet.iter_rows(values_only=True)]
    wb.close()
    return rows


def all_text(data: bytes) -> str:
    return "\n".join("\t".join("" if v is None else str(v) for v in row) for row in read_cells(data))


def table_counts() -> dict[str, int]:
    """Rows in every table Linli owns, audit log included."""
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()
            if m._meta.app_label in {"core", "places", "people", "accounts", "notify"} and m._meta.managed}
