"""Reading and writing .xlsx files with openpyxl: import templates, uploaded sheets, streamed exports.

Exports use openpyxl's write-only mode, which keeps one row in memory at a time, and a
spooled temporary file, so a 100,000-row list never sits in memory whole.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from linli.exchange.formats import Column, ImportFileError, SheetRow, choice_labels, is_blank

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_DATA_ROWS = 20_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_MAX_COLUMNS = 64
_TEMPLATE_ROWS = 10_000  # rows that get drop-down lists in a template
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_BOLD = Font(bold=True)


# Templates -----------------------------------------------------------------------------------


def template_workbook(title: str, columns: Sequence[Column], notes: Sequence[str] = ()) -> bytes:
    """An empty sheet with the headers, and a second sheet explaining every column."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = title
    sheet.append([c.header for c in columns])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index)
        cell.font = _BOLD
        cell.fill = _REQUIRED_FILL if column.required else _OPTIONAL_FILL
        sheet.column_dimensions[letter].width = max(12, len(column.header) * 2 + 4)
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
        if column.choices is not None and not column.many:
            allowed = ",".join(choice_labels(column.choices))
            validation = DataValidation(type="list", formula1=f'"{allowed}"', allow_blank=True,
                                        showErrorMessage=True, error=_("请从下拉列表中选择"))
            validation.add(f"{letter}2:{letter}{_TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(validation)

    guide = wb.create_sheet(_("填写说明"))
    guide.append([_("列名"), _("是否必填"), _("说明"), _("可填写的值"), _("示例")])
    for cell in guide[1]:
        cell.font = _BOLD
    for column in columns:
        allowed = "、".join(choice_labels(column.choices)) if column.choices is not None else ""
        guide.append([column.header, _("必填") if column.required else _("选填"), str(column.help), allowed,
                      column.example])
    guide.append([])
    for note in notes:
        guide.append([str(note)])
    for letter, width in zip("ABCDE", (14, 10, 60, 50, 24), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# Reading an upload ---------------------------------------------------------------------------


def read_sheet(data: bytes, columns: Sequence[Column]) -> list[SheetRow]:
    """The data rows of the first sheet, by header; ImportFileError names what is wrong with the file."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportFileError(_("文件过大（不超过%(mb)sMB）") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(_("文件不是有效的 Excel（.xlsx）文件")) from exc
    try:
        if not wb.worksheets:
            raise ImportFileError(_("文件中没有工作表"))
        rows = wb.worksheets[0].iter_rows(min_row=1, max_col=_MAX_COLUMNS, values_only=True)
        header_row = next(rows, None)
        positions = _header_positions(header_row or (), columns)
        result: list[SheetRow] = []
        for number, values in enumerate(rows, start=2):
            cells = {header: values[i] if i < len(values) else None for header, i in positions.items()}
            if all(is_blank(v) for v in cells.values()):
                continue
            if len(result) >= MAX_DATA_ROWS:
                raise ImportFileError(_("数据超过%(n)s行，请分批导入") % {"n": MAX_DATA_ROWS})
            result.append(SheetRow(number, {k: _strip(v) for k, v in cells.items()}))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(_("文件内容损坏，无法读取")) from exc
    finally:
        wb.close()
    if not result:
        raise ImportFileError(_("文件中没有数据行"))
    return result


def _header_positions(header_row: Sequence[Any], columns: Sequence[Column]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, value in enumerate(header_row):
        name = str(value).strip().rstrip("*＊").strip() if value is not None else ""
        if name and name not in found:
            found[name] = index
    missing = [c.header for c in columns if c.header not in found]
    if missing:
        raise ImportFileError(
            _("表头缺少列：%(columns)s（第一行应为模板中的列名）") % {"columns": "、".join(missing)}
        )
    return {c.header: found[c.header] for c in columns}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


# Writing an export ---------------------------------------------------------------------------


def write_export(title: str, headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> IO[bytes]:
    """A one-sheet workbook streamed row by row; returns a rewound file to send."""
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(title=title[:31])
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font = _BOLD
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_export_cell(sheet, value) for value in row])
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - handed to the response
    wb.save(out)
    out.seek(0)
    return out


def _export_cell(sheet: Any, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.datetime):
        # Excel has no time zones: show the wall-clock time in Asia/Shanghai.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if text.startswith("="):
        # A value that looks like a formula stays text; an export must never compute anything.
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text
