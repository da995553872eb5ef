"""Reads of the place tree for a user; every query is scoped through `restrict`."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from linli.core.selectors import get_visible
from linli.places.models import Building, Compound, Grid, House, Region, Unit


def regions(user: Any, *, level: str | None = None, parent_id: int | None = None, q: str = "") -> QuerySet[Region]:
    qs = Region.objects.restrict(user).select_related("parent")
    if level:
        qs = qs.filter(level=level)
    if parent_id:
        qs = qs.filter(parent_id=parent_id)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q))
    return qs.order_by("path")


def region(user: Any, pk: int) -> Region:
    return get_visible(Region.objects.select_related("parent"), user, pk)


def grids(user: Any, *, community_id: int | None = None) -> QuerySet[Grid]:
    qs = Grid.objects.restrict(user).select_related("community")
    return qs.filter(community_id=community_id) if community_id else qs


def grid(user: Any, pk: int) -> Grid:
    return get_visible(Grid.objects.select_related("community"), user, pk)


def compounds(user: Any, *, community_id: int | None = None, region_id: int | None = None,
              property_company_id: int | None = None, q: str = "") -> QuerySet[Compound]:
    qs = Compound.objects.restrict(user).select_related("community", "property_company", "grid")
    if community_id:
        qs = qs.filter(community_id=community_id)
    if region_id:
        path = Region.objects.filter(pk=region_id).values_list("path", flat=True).first() or "-"
        qs = qs.filter(region_path__startswith=path)
    if property_company_id:
        qs = qs.filter(property_company_id=property_company_id)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q))
    return qs.order_by("code")


def compound(user: Any, pk: int) -> Compound:
    qs = Compound.objects.select_related("community", "property_company", "owners_committee", "grid")
    return get_visible(qs, user, pk)


def compound_counts(compound: Compound) -> dict[str, int]:
    """Headline numbers for a compound page (buildings, houses, residents)."""
    from linli.people.models import Person, Vehicle

    return {
        "buildings": Building.objects.filter(compound=compound).count(),
        "houses": House.objects.filter(compound=compound).count(),
        "persons": Person.objects.filter(compound=compound).count(),
        "vehicles": Vehicle.objects.filter(compound=compound).count(),
    }


def buildings(user: Any, *, compound_id: int | None = None, q: str = "") -> QuerySet[Building]:
    qs = Building.objects.restrict(user).select_related("compound")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if q:
        qs = qs.filter(Q(number=q) | Q(name__contains=q))
    return qs.order_by("compound_id", "number")


def building(user: Any, pk: int) -> Building:
    return get_visible(Building.objects.select_related("compound"), user, pk)


def units(user: Any, *, building_id: int | None = None) -> QuerySet[Unit]:
    qs = Unit.objects.restrict(user).select_related("building")
    if building_id:
        qs = qs.filter(building_id=building_id)
    return qs.annotate(house_count=Count("houses")).order_by("building_id", "number")


def unit(user: Any, pk: int) -> Unit:
    return get_visible(Unit.objects.select_related("building", "compound"), user, pk)


def houses(user: Any, *, compound_id: int | None = None, building_id: int | None = None,
           unit_id: int | None = None, occupancy: str = "", use: str = "", q: str = "") -> QuerySet[House]:
    qs = House.objects.restrict(user).select_related("building", "unit", "compound")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if building_id:
        qs = qs.filter(building_id=building_id)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if occupancy:
        qs = qs.filter(occupancy=occupancy)
    if use:
        qs = qs.filter(use=use)
    if q:
        qs = qs.filter(Q(standard_address__contains=q) | Q(address_code__startswith=q))
    return qs.order_by("id")


def house(user: Any, pk: int) -> House:
    return get_visible(House.objects.select_related("building", "unit", "compound"), user, pk)
