"""Compound and building pages: lists with filters, details, create and edit."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from linli.places import selectors, services
from linli.web.forms.places import (
    BuildingFilterForm,
    BuildingForm,
    CompoundFilterForm,
    CompoundForm,
)
from linli.web.views.common import can, console_view, paginate, posted, render_form, submit

COMPOUND_FIELDS = ("name", "address", "year_built", "grid", "property_company")
BUILDING_FIELDS = ("name", "floors_above", "floors_below", "unit_count", "has_elevator", "height_m")


# Compounds -----------------------------------------------------------------------------------


@console_view("places.view_compound")
def compound_list(request):
    form = CompoundFilterForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    page = paginate(request, selectors.compounds(request.user, q=q))
    return render(request, "web/places/compound_list.html", {
        "form": form, "page": page, "can_add": can(request, "places.add_compound"),
    })


@console_view("places.view_compound")
def compound_detail(request, pk: int):
    compound = selectors.compound(request.user, pk)
    return render(request, "web/places/compound_detail.html", {
        "compound": compound,
        "counts": selectors.compound_counts(compound),
        "buildings": selectors.buildings(request.user, compound_id=compound.pk),
        "can_edit": can(request, "places.change_compound"),
        "can_add_building": can(request, "places.add_building"),
    })


@console_view("places.add_compound")
def compound_create(request):
    form = CompoundForm(posted(request), user=request.user)
    if request.method == "POST":
        compound = submit(form, lambda data: services.create_compound(actor=request.user, **data))
        if compound is not None:
            return redirect("web:compound_detail", pk=compound.pk)
    return render_form(request, form, title=_("新增小区"), back=reverse("web:compound_list"))


@console_view("places.change_compound")
def compound_edit(request, pk: int):
    compound = selectors.compound(request.user, pk)
    initial = {f: getattr(compound, f) for f in COMPOUND_FIELDS}
    form = CompoundForm(posted(request), user=request.user, editing=True, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda data: services.update_compound(actor=request.user, compound=compound, **data))
        if saved is not None:
            return redirect("web:compound_detail", pk=compound.pk)
    return render_form(request, form, title=_("编辑小区"), subtitle=compound.standard_address,
                       back=reverse("web:compound_detail", args=[pk]))


# Buildings -----------------------------------------------------------------------------------


@console_view("places.view_building")
def building_list(request):
    form = BuildingFilterForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    qs = selectors.buildings(request.user, compound_id=compound.pk if compound else None, q=data.get("q", ""))
    return render(request, "web/places/building_list.html", {
        "form": form, "page": paginate(request, qs), "compound": compound,
        "can_add": compound is not None and can(request, "places.add_building"),
    })


@console_view("places.view_building")
def building_detail(request, pk: int):
    building = selectors.building(request.user, pk)
    return render(request, "web/places/building_detail.html", {
        "building": building,
        "units": selectors.units(request.user, building_id=building.pk),
        "can_edit": can(request, "places.change_building"),
        "can_add_house": can(request, "places.add_house"),
    })


@console_view("places.add_building")
def building_create(request, compound_pk: int):
    compound = selectors.compound(request.user, compound_pk)
    form = BuildingForm(posted(request))
    if request.method == "POST":
        building = submit(form, lambda data: services.create_building(actor=request.user, compound=compound, **data))
        if building is not None:
            return redirect("web:building_detail", pk=building.pk)
    return render_form(request, form, title=_("新增楼栋"), subtitle=compound.standard_address,
                       back=reverse("web:compound_detail", args=[compound.pk]))


@console_view("places.change_building")
def building_edit(request, pk: int):
    building = selectors.building(request.user, pk)
    initial = {f: getattr(building, f) for f in BUILDING_FIELDS}
    form = BuildingForm(posted(request), editing=True, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda data: services.update_building(actor=request.user, building=building, **data))
        if saved is not None:
            return redirect("web:building_detail", pk=building.pk)
    return render_form(request, form, title=_("编辑楼栋"), subtitle=building.standard_address,
                       back=reverse("web:building_detail", args=[pk]))
