"""The place tree browser: region → … → community → compound → building → unit → house.

Each level loads on first open (htmx, one request per level) so a city-wide tree costs
nothing until someone looks inside a branch.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from linli.places import selectors as places
from linli.places.models import RegionLevel
from linli.web.views.common import console_view, int_param


def _region_node(region) -> dict:
    return {"kind": "region", "id": region.pk, "label": region.name, "level": region.get_level_display()}


def _compound_node(compound) -> dict:
    return {"kind": "compound", "id": compound.pk, "label": compound.name,
            "url": reverse("web:compound_detail", args=[compound.pk])}


def _building_node(building) -> dict:
    return {"kind": "building", "id": building.pk, "label": str(building),
            "url": reverse("web:building_detail", args=[building.pk])}


def _unit_node(unit) -> dict:
    return {"kind": "unit", "id": unit.pk, "label": str(unit), "count": unit.house_count}


def _house_leaf(house) -> dict:
    return {"kind": "house", "id": house.pk, "number": house.number,
            "url": reverse("web:house_detail", args=[house.pk])}


def _children(user, kind: str, pk: int) -> list[dict]:
    if kind == "region":
        region = places.region(user, pk)
        if region.level == RegionLevel.COMMUNITY:
            return [_compound_node(c) for c in places.compounds(user, community_id=pk)]
        return [_region_node(r) for r in places.regions(user, parent_id=pk)]
    if kind == "compound":
        places.compound(user, pk)
        return [_building_node(b) for b in places.buildings(user, compound_id=pk)]
    if kind == "building":
        places.building(user, pk)
        return [_unit_node(u) for u in places.units(user, building_id=pk)]
    if kind == "unit":
        places.unit(user, pk)
        return [_house_leaf(h) for h in places.houses(user, unit_id=pk)]
    raise Http404(kind)


def _roots(user) -> list[dict]:
    """The highest regions the user sees; compounds directly for roles that see no regions."""
    top = list(places.regions(user, level=RegionLevel.PROVINCE))
    if top:
        return [_region_node(r) for r in top]
    return [_compound_node(c) for c in places.compounds(user)[:200]]


@console_view("places.view_compound")
def place_tree(request):
    return render(request, "web/places/tree.html", {"nodes": _roots(request.user)})


@console_view("places.view_compound")
def place_tree_children(request):
    pk = int_param(request, "id")
    if pk is None:
        raise Http404("node")
    nodes = _children(request.user, request.GET.get("kind", ""), pk)
    return render(request, "web/places/_tree_nodes.html", {"nodes": nodes})
