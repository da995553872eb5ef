"""Writes to the place tree. Every function is one transaction with its audit entries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.errors import Forbidden
from linli.core.scope import permission_name, scope_of
from linli.core.services import (
    delete_audited,
    field_error,
    require,
    require_in_compound,
    save_changes,
    save_new,
    service,
)
from linli.places import addresses
from linli.places.models import CODE_LENGTH, PARENT_LEVEL, Building, Compound, Grid, House, Region, Unit

# Digits of a parent's code that every child's code repeats (GB/T 2260 and statistical codes).
_PREFIX = {"province": 2, "city": 4, "district": 6, "street": 9}


def _require_region_admin(actor: Any, model: type, action: str, parent: Region | None) -> None:
    scope = scope_of(actor)
    if scope.unrestricted:
        return
    perm = permission_name(model, action)
    for grant in scope.grants_for(perm):
        if grant.region_path and parent is not None and parent.path.startswith(grant.region_path):
            return
    raise Forbidden(_("无权在此区划下操作"))


@service
def create_region(*, actor: Any, level: str, code: str, name: str, parent: Region | None = None) -> Region:
    expected_parent = PARENT_LEVEL.get(level)
    if expected_parent is None and parent is not None:
        raise field_error("parent", _("省级区划没有上级"))
    if expected_parent is not None and (parent is None or parent.level != expected_parent):
        raise field_error("parent", _("上级区划层级不正确"))
    if level in CODE_LENGTH and len(code) != CODE_LENGTH[level]:
        raise field_error("code", _("区划代码位数不正确"))
    if parent is not None and not code.startswith(parent.code[: _PREFIX[parent.level]]):
        raise field_error("code", _("区划代码与上级不一致"))
    if parent is None:
        if not scope_of(actor).unrestricted:
            raise Forbidden(_("只有平台管理员可以新增省级区划"))
    else:
        _require_region_admin(actor, Region, "add", parent)
    path = f"{parent.path if parent else ''}{code}/"
    return save_new(Region(level=level, code=code, name=name, parent=parent, path=path))


@service
def create_grid(*, actor: Any, community: Region, code: str, name: str) -> Grid:
    if community.level != "community":
        raise field_error("community", _("网格必须属于社区"))
    _require_region_admin(actor, Grid, "add", community)
    return save_new(Grid(community=community, code=code, name=name, region_path=community.path))


def _next_compound_code(community: Region) -> str:
    last = (
        Compound.objects.select_for_update()
        .filter(community=community)
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    seq = int(last[-3:]) + 1 if last else 1
    return f"{community.code}{seq:03d}"


@service
def create_compound(*, actor: Any, community: Region, name: str, **fields: Any) -> Compound:
    if community.level != "community":
        raise field_error("community", _("小区必须属于社区"))
    _require_region_admin(actor, Compound, "add", community)
    compound = Compound(community=community, name=name, region_path=community.path, **fields)
    compound.code = _next_compound_code(community)
    compound.standard_address = addresses.compound_address(compound)
    _centre_from_boundary(compound)
    return save_new(compound)


def _centre_from_boundary(compound: Compound) -> None:
    points = compound.boundary or []
    if points and compound.centre_lng is None:
        compound.centre_lng = sum(p[0] for p in points) / len(points)
        compound.centre_lat = sum(p[1] for p in points) / len(points)


@service
def update_compound(*, actor: Any, compound: Compound, **changes: Any) -> Compound:
    require(actor, compound, "change")
    renamed = "name" in changes and changes["name"] != compound.name
    compound = save_changes(compound, changes)
    if renamed:
        rows = addresses.readdress_compound(compound)
        Compound.objects.filter(pk=compound.pk).update(standard_address=compound.standard_address)
        for model, objs in rows:
            model.objects.bulk_update(objs, ["standard_address"], batch_size=1000)
    return compound


@service
def create_building(*, actor: Any, compound: Compound, number: str, floors_above: int, unit_count: int = 1,
                    **fields: Any) -> Building:
    """A building with its units 1…unit_count, each given its standard address."""
    require_in_compound(actor, Building, "add", compound.pk)
    building = Building(
        compound=compound,
        number=number,
        floors_above=floors_above,
        unit_count=unit_count,
        address_code=addresses.building_code(compound, number),
        standard_address=addresses.building_address(compound, number),
        **fields,
    )
    save_new(building)
    units = [
        Unit(compound=compound, building=building, number=str(n),
             address_code=addresses.unit_code(building, str(n)),
             standard_address=addresses.unit_address(building, str(n)))
        for n in range(1, unit_count + 1)
    ]
    for unit in units:
        unit.full_clean()
    created = Unit.objects.bulk_create(units)
    audit.record_created(created)
    return building


@service
def update_building(*, actor: Any, building: Building, **changes: Any) -> Building:
    require(actor, building, "change")
    if "number" in changes and changes["number"] != building.number:
        raise field_error("number", _("楼号决定标准地址，不能修改；请新建楼栋"))
    if "unit_count" in changes and changes["unit_count"] < building.units.count():
        raise field_error("unit_count", _("单元数不能少于已有单元"))
    building = save_changes(building, changes)
    existing = set(building.units.values_list("number", flat=True))
    new_units = [
        Unit(compound_id=building.compound_id, building=building, number=str(n),
             address_code=addresses.unit_code(building, str(n)),
             standard_address=addresses.unit_address(building, str(n)))
        for n in range(1, building.unit_count + 1) if str(n) not in existing
    ]
    if new_units:
        audit.record_created(Unit.objects.bulk_create(new_units))
    return building


@service
def delete_building(*, actor: Any, building: Building) -> None:
    require(actor, building, "delete")
    for unit in list(building.units.all()):
        delete_audited(unit)
    delete_audited(building)


def _check_floor(building: Building, floor: int) -> None:
    if floor == 0 or floor > building.floors_above or floor < -building.floors_below:
        raise field_error("floor", _("楼层超出该楼栋的范围"))


def _check_areas(built_area: Any, inner_area: Any) -> None:
    if inner_area is not None and built_area is not None and Decimal(inner_area) > Decimal(built_area):
        raise field_error("inner_area", _("套内面积不能大于建筑面积"))


@service
def create_house(*, actor: Any, unit: Unit, number: str, floor: int, built_area: Any, **fields: Any) -> House:
    require_in_compound(actor, House, "add", unit.compound_id)
    building = unit.building
    _check_floor(building, floor)
    _check_areas(built_area, fields.get("inner_area"))
    house = House(
        compound_id=unit.compound_id,
        building=building,
        unit=unit,
        number=number,
        floor=floor,
        built_area=built_area,
        address_code=addresses.house_code(unit, number),
        standard_address=addresses.house_address(unit, number),
        **fields,
    )
    return save_new(house)


@service
def update_house(*, actor: Any, house: House, **changes: Any) -> House:
    require(actor, house, "change")
    if "number" in changes and changes["number"] != house.number:
        raise field_error("number", _("房号决定标准地址，不能修改"))
    if "floor" in changes:
        _check_floor(house.building, changes["floor"])
    _check_areas(changes.get("built_area", house.built_area), changes.get("inner_area", house.inner_area))
    return save_changes(house, changes)


@service
def delete_house(*, actor: Any, house: House) -> None:
    require(actor, house, "delete")
    delete_audited(house)
