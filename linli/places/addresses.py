"""Standard addresses (标准地址): a stable code and the Chinese text for every building, unit and house.

Codes follow the place chain: compound code (community code + 3-digit sequence), then
building, unit and house numbers — `370281001001007-3-2-501`.
"""

from __future__ import annotations

from linli.places.models import Building, Compound, House, Region, RegionLevel, Unit


def region_address(community: Region) -> str:
    """Province to street; communities are administrative, not part of a postal address."""
    chain = [*community.ancestors(), community]
    names = [r.name for r in chain if r.level != RegionLevel.COMMUNITY]
    # 直辖市 repeat their name at city level (北京市北京市); say it once.
    return "".join(n for i, n in enumerate(names) if i == 0 or n != names[i - 1])


def compound_address(compound: Compound) -> str:
    return f"{region_address(compound.community)}{compound.name}"


def building_code(compound: Compound, number: str) -> str:
    return f"{compound.code}-{number}"


def building_address(compound: Compound, number: str) -> str:
    return f"{compound.standard_address}{number}号楼"


def unit_code(building: Building, number: str) -> str:
    return f"{building.address_code}-{number}"


def unit_address(building: Building, number: str) -> str:
    return f"{building.standard_address}{number}单元"


def house_code(unit: Unit, number: str) -> str:
    return f"{unit.address_code}-{number}"


def house_address(unit: Unit, number: str) -> str:
    return f"{unit.standard_address}{number}室"


def readdress_compound(compound: Compound) -> list[tuple[type, list]]:
    """Recompute texts below a renamed compound; returns the rows to bulk-update per model."""
    compound.standard_address = compound_address(compound)
    buildings = list(Building.objects.filter(compound=compound))
    for b in buildings:
        b.standard_address = building_address(compound, b.number)
    by_building = {b.id: b for b in buildings}
    units = list(Unit.objects.filter(compound=compound))
    for u in units:
        u.standard_address = unit_address(by_building[u.building_id], u.number)
    by_unit = {u.id: u for u in units}
    houses = list(House.objects.filter(compound=compound))
    for h in houses:
        h.standard_address = house_address(by_unit[h.unit_id], h.number)
    return [(Building, buildings), (Unit, units), (House, houses)]
