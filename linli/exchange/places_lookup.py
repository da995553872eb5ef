"""Bulk lookups an import needs: compounds by code (with the importer's permission), and the
buildings, units and houses inside them — a handful of queries whatever the row count."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from linli.core.services import compounds_where
from linli.exchange.formats import SheetRow
from linli.places.models import Building, Compound, House, Unit

COMPOUND = "小区编码"
BUILDING = "楼号"
UNIT = "单元号"
HOUSE = "房号"

# People write "3号楼", "2单元", "501室"; the records hold the bare numbers.
_SUFFIXES = {BUILDING: ("号楼", "栋", "幢", "号"), UNIT: ("单元",), HOUSE: ("室", "号")}


def place_number(row: SheetRow, column: str, *, required: bool = False) -> str:
    value = row.text(column, required=required, max_length=14)
    for suffix in _SUFFIXES.get(column, ()):
        if value.endswith(suffix) and len(value) > len(suffix):
            value = value[: -len(suffix)]
            break
    if len(value) > 10:
        row.fail(column, _("内容过长（最多%(n)s个字符）") % {"n": 10})
        return ""
    return value


class CompoundLookup:
    """Compounds named in a file, split into those the importer may write to and the rest."""

    def __init__(self, actor: Any, permission: str, codes: Iterable[str]):
        codes = {c for c in codes if c}
        self.allowed = {c.code: c for c in Compound.objects.filter(compounds_where(actor, permission), code__in=codes)}
        rest = codes - self.allowed.keys()
        self.visible = set(Compound.objects.restrict(actor, "view").filter(code__in=rest)
                           .values_list("code", flat=True)) if rest else set()

    @property
    def ids(self) -> list[int]:
        return [c.pk for c in self.allowed.values()]

    def resolve(self, row: SheetRow, code: str) -> Compound | None:
        if not code:
            return None
        compound = self.allowed.get(code)
        if compound is None:
            # Out of sight and unknown read the same, so a file cannot probe for compounds.
            message = _("无权导入该小区") if code in self.visible else _("小区编码不存在或无权导入该小区")
            row.fail(COMPOUND, message)
        return compound


class PlaceIndex:
    """Buildings and units of some compounds by number; houses as (unit, number) → id."""

    def __init__(self, compound_ids: list[int], *, houses: bool = False):
        self.buildings: dict[tuple[int, str], Building] = {
            (b.compound_id, b.number): b for b in Building.objects.filter(compound_id__in=compound_ids)
        }
        self.units: dict[tuple[int, str], Unit] = {
            (u.building_id, u.number): u for u in Unit.objects.filter(compound_id__in=compound_ids)
        }
        self.houses: dict[tuple[int, str], int] = {}
        if houses:
            rows = House.objects.filter(compound_id__in=compound_ids).values_list("unit_id", "number", "id")
            self.houses = {(unit_id, number): pk for unit_id, number, pk in rows}

    def building(self, row: SheetRow, compound: Compound, number: str) -> Building | None:
        building = self.buildings.get((compound.pk, number))
        if building is None:
            row.fail(BUILDING, _("小区中没有%(number)s号楼") % {"number": number})
        return building

    def unit(self, row: SheetRow, building: Building, number: str) -> Unit | None:
        unit = self.units.get((building.pk, number))
        if unit is None:
            row.fail(UNIT, _("%(building)s号楼没有%(number)s单元") % {"building": building.number, "number": number})
        return unit

    def house_id(self, row: SheetRow, compound: Compound, numbers: tuple[str, str, str]) -> int | None:
        """The house at (楼号, 单元号, 房号) in `compound`, or None with the reason on the row."""
        building = self.building(row, compound, numbers[0])
        unit = self.unit(row, building, numbers[1]) if building else None
        if unit is None:
            return None
        house_id = self.houses.get((unit.pk, numbers[2]))
        if house_id is None:
            row.fail(HOUSE, _("%(unit)s单元没有%(number)s室") % {"unit": unit.number, "number": numbers[2]})
        return house_id


def house_numbers(row: SheetRow, *, required: bool = False) -> tuple[str, str, str] | None:
    """楼号, 单元号, 房号 together: all three or none (None when none was given)."""
    numbers = (place_number(row, BUILDING), place_number(row, UNIT), place_number(row, HOUSE))
    given = [bool(n) for n in numbers]
    if not any(given) and not required:
        return None
    if not all(given):
        for column, present in zip((BUILDING, UNIT, HOUSE), given, strict=True):
            if not present and not any(e.column == column for e in row.errors):
                row.fail(column, _("楼号、单元号、房号须同时填写"))
        return None
    return numbers
