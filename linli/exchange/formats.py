"""Columns of the import sheets and how a cell's text becomes a value, with the reason when it cannot.

Headers are a file format, so they are fixed Chinese strings, never translated; choice
columns accept the Chinese label of a model's TextChoices (or its stored value).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext as _

# Separators accepted between several labels in one cell (关怀标签).
_LABEL_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_TRUE = {"是", "有", "y", "yes", "true", "1", "√"}
_FALSE = {"否", "无", "n", "no", "false", "0", "×"}


class ImportFileError(Exception):
    """The file as a whole cannot be read: not an .xlsx, wrong headers, too many rows."""


@dataclass(frozen=True)
class Column:
    """One column of an import sheet: its header, whether it must be filled, and help for the template."""

    header: str
    required: bool = False
    help: Any = ""
    choices: type[models.TextChoices] | None = None
    many: bool = False  # several choice labels in one cell
    example: str = ""
    text: bool = True  # stored as text in the template so leading zeros and long numbers survive


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class SheetRow:
    """One data row: its Excel row number and raw cell values by header."""

    number: int
    cells: dict[str, Any]
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    # Each reader returns the parsed value, or None after recording why it could not.

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = cell_text(self.cells.get(column))
        if not value:
            if required:
                self.fail(column, _("必填项未填写"))
            return ""
        if max_length is not None and len(value) > max_length:
            self.fail(column, _("内容过长（最多%(n)s个字符）") % {"n": max_length})
            return ""
        return value

    def identity_text(self, column: str, *, required: bool = False) -> str:
        """An ID number: typed numbers lose their last digits in Excel, so only text is trusted."""
        raw = self.cells.get(column)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and len(str(int(raw))) > 15:
            self.fail(column, _("证件号码须以文本格式填写（数字格式会丢失末几位）"))
            return ""
        return self.text(column, required=required)

    def integer(self, column: str, *, required: bool = False, default: int | None = None,
                minimum: int | None = None, maximum: int | None = None) -> int | None:
        raw = self.cells.get(column)
        if is_blank(raw):
            if required:
                self.fail(column, _("必填项未填写"))
            return default
        try:
            value = parse_integer(raw)
        except ValueError:
            self.fail(column, _("应为整数"))
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(column, _("数值超出范围（%(lo)s–%(hi)s）") % {"lo": minimum, "hi": maximum})
            return None
        return value

    def decimal(self, column: str, *, required: bool = False, maximum: Decimal | None = None) -> Decimal | None:
        raw = self.cells.get(column)
        if is_blank(raw):
            if required:
                self.fail(column, _("必填项未填写"))
            return None
        try:
            value = parse_decimal(raw)
        except ValueError:
            self.fail(column, _("应为数字"))
            return None
        if value < 0 or (maximum is not None and value > maximum):
            self.fail(column, _("数值超出范围（0–%(hi)s）") % {"hi": maximum})
            return None
        return value

    def boolean(self, column: str, *, default: bool = False) -> bool:
        raw = self.cells.get(column)
        if is_blank(raw):
            return default
        if isinstance(raw, bool):
            return raw
        text = cell_text(raw).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.fail(column, _("应填写“是”或“否”"))
        return default

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        raw = self.cells.get(column)
        if is_blank(raw):
            if required:
                self.fail(column, _("必填项未填写"))
            return None
        try:
            return parse_date(raw)
        except ValueError:
            self.fail(column, _("日期格式应为 2024-03-01"))
            return None

    def choice(self, column: str, choices: type[models.TextChoices], *, default: str | None = None,
               required: bool = False) -> str | None:
        text = cell_text(self.cells.get(column))
        if not text:
            if required:
                self.fail(column, _("必填项未填写"))
            return default
        value = choice_lookup(choices).get(text.lower())
        if value is None:
            self.fail(column, _("“%(value)s”不是可选值（%(allowed)s）")
                      % {"value": text, "allowed": "、".join(choice_labels(choices))})
        return value

    def choices(self, column: str, choices: type[models.TextChoices]) -> list[str]:
        text = cell_text(self.cells.get(column))
        if not text:
            return []
        lookup = choice_lookup(choices)
        values, unknown = [], []
        for part in _LABEL_SEPARATORS.split(text):
            if part:
                value = lookup.get(part.lower())
                (values if value else unknown).append(value or part)
        if unknown:
            self.fail(column, _("“%(value)s”不是可选值（%(allowed)s）")
                      % {"value": "、".join(unknown), "allowed": "、".join(choice_labels(choices))})
        return list(dict.fromkeys(values))


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any) -> str:
    """A cell as text: numbers typed into text columns (楼号 3, 房号 501.0) lose the float tail."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def parse_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    text = str(value).strip().removesuffix("层")
    if not re.fullmatch(r"[-+]?\d+", text):
        raise ValueError(value)
    return int(text)


_CENT = Decimal("0.01")


def parse_decimal(value: Any) -> Decimal:
    """Two decimal places (areas in m², heights in m), rounded half up as people expect."""
    if isinstance(value, bool):
        raise ValueError(value)
    text = repr(value) if isinstance(value, float) else str(value).strip()
    text = text.removesuffix("㎡").removesuffix("m²").removesuffix("米").removesuffix("m").strip()
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if not number.is_finite():
        raise ValueError(value)
    return number.quantize(_CENT, rounding=ROUND_HALF_UP)


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time of day
        except ValueError:
            continue
    raise ValueError(value)


def choice_labels(choices: type[models.TextChoices]) -> list[str]:
    """The Chinese labels, whatever language the request speaks: they are the file format."""
    with translation.override("zh-hans"):
        return [str(label) for label in choices.labels]


def choice_lookup(choices: type[models.TextChoices]) -> dict[str, str]:
    lookup = {value.lower(): value for value in choices.values}
    with translation.override("zh-hans"):
        lookup.update({str(label).lower(): value for value, label in choices.choices})
    return lookup


def headers_of(columns: Iterable[Column]) -> list[str]:
    return [c.header for c in columns]


def today() -> dt.date:
    return timezone.localdate()
