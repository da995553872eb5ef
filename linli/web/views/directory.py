"""Organisations, real units (实有单位) and vehicles: lists, details, create and edit."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from linli.people import selectors, services
from linli.places import selectors as places
from linli.web.forms.directory import (
    OrganisationFilterForm,
    OrganisationForm,
    RealUnitForm,
    SearchForm,
    VehicleFilterForm,
    VehicleForm,
)
from linli.web.views.common import can, console_view, int_param, paginate, posted, render_form, submit

# Organisations -------------------------------------------------------------------------------


@console_view("people.view_organisation")
def organisation_list(request):
    form = OrganisationFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.organisations(request.user, kind=data.get("kind", ""), q=data.get("q", ""))
    return render(request, "web/people/organisation_list.html", {
        "form": form, "page": paginate(request, qs), "can_add": can(request, "people.add_organisation"),
    })


@console_view("people.view_organisation")
def organisation_detail(request, pk: int):
    organisation = selectors.organisation(request.user, pk)
    return render(request, "web/people/organisation_detail.html", {
        "organisation": organisation,
        "managed": places.compounds(request.user, property_company_id=organisation.pk),
        "can_edit": can(request, "people.change_organisation"),
    })


@console_view("people.add_organisation")
def organisation_create(request):
    form = OrganisationForm(posted(request), user=request.user)
    if request.method == "POST":
        org = submit(form, lambda data: services.create_organisation(actor=request.user, **data))
        if org is not None:
            return redirect("web:organisation_detail", pk=org.pk)
    return render_form(request, form, title=_("新增组织"), back=reverse("web:organisation_list"))


@console_view("people.change_organisation")
def organisation_edit(request, pk: int):
    org = selectors.organisation(request.user, pk)
    initial = {f: getattr(org, f) for f in ("kind", "name", "credit_code", "contact_name")}
    form = OrganisationForm(posted(request), user=request.user, editing=True, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda data: services.update_organisation(actor=request.user, organisation=org,
                                                                        **data))
        if saved is not None:
            return redirect("web:organisation_detail", pk=org.pk)
    return render_form(request, form, title=_("编辑组织"), subtitle=org.name,
                       back=reverse("web:organisation_detail", args=[pk]))


# Real units ----------------------------------------------------------------------------------

REAL_UNIT_FIELDS = ("name", "credit_code", "business_scope", "legal_person", "employees")


@console_view("people.view_realunit")
def realunit_list(request):
    form = SearchForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    qs = selectors.real_units(request.user, compound_id=compound.pk if compound else None, q=data.get("q", ""))
    return render(request, "web/people/realunit_list.html", {
        "form": form, "page": paginate(request, qs), "can_add": can(request, "people.add_realunit"),
    })


@console_view("people.view_realunit")
def realunit_detail(request, pk: int):
    return render(request, "web/people/realunit_detail.html", {
        "unit": selectors.real_unit(request.user, pk), "can_edit": can(request, "people.change_realunit"),
    })


@console_view("people.add_realunit")
def realunit_create(request):
    form = RealUnitForm(posted(request), user=request.user)
    if request.method == "POST":
        unit = submit(form, lambda data: services.create_real_unit(actor=request.user, **data))
        if unit is not None:
            return redirect("web:realunit_detail", pk=unit.pk)
    return render_form(request, form, title=_("登记实有单位"), back=reverse("web:realunit_list"))


@console_view("people.change_realunit")
def realunit_edit(request, pk: int):
    unit = selectors.real_unit(request.user, pk)
    initial = {f: getattr(unit, f) for f in REAL_UNIT_FIELDS}
    form = RealUnitForm(posted(request), user=request.user, editing=True, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda data: services.update_real_unit(actor=request.user, real_unit=unit, **data))
        if saved is not None:
            return redirect("web:realunit_detail", pk=unit.pk)
    return render_form(request, form, title=_("编辑实有单位"), subtitle=unit.name,
                       back=reverse("web:realunit_detail", args=[pk]))


# Vehicles ------------------------------------------------------------------------------------


@console_view("people.view_vehicle")
def vehicle_list(request):
    form = VehicleFilterForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    qs = selectors.vehicles(request.user, compound_id=compound.pk if compound else None,
                            plate=data.get("plate", ""))
    return render(request, "web/people/vehicle_list.html", {
        "form": form, "page": paginate(request, qs), "can_add": can(request, "people.add_vehicle"),
    })


@console_view("people.view_vehicle")
def vehicle_detail(request, pk: int):
    return render(request, "web/people/vehicle_detail.html", {
        "vehicle": selectors.vehicle(request.user, pk), "can_edit": can(request, "people.change_vehicle"),
    })


@console_view("people.add_vehicle")
def vehicle_create(request):
    """A vehicle for a compound, or — with ?house= — for a household, its owner among the residents."""
    house_pk = int_param(request, "house")
    house = places.house(request.user, house_pk) if house_pk else None
    form = VehicleForm(posted(request), user=request.user, house=house)

    def save(data):
        compound = house.compound if house is not None else data.pop("compound")
        return services.register_vehicle(actor=request.user, compound=compound, house=house, **data)

    if request.method == "POST":
        vehicle = submit(form, save)
        if vehicle is not None:
            return redirect("web:vehicle_detail", pk=vehicle.pk)
    back = reverse("web:house_detail", args=[house.pk]) if house else reverse("web:vehicle_list")
    return render_form(request, form, title=_("登记车辆"), back=back,
                       subtitle=house.standard_address if house else "")


@console_view("people.change_vehicle")
def vehicle_edit(request, pk: int):
    vehicle = selectors.vehicle(request.user, pk)
    initial = {f: getattr(vehicle, f) for f in ("plate", "colour", "owner", "brand", "active")}
    form = VehicleForm(posted(request), user=request.user, house=vehicle.house, editing=True, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda data: services.update_vehicle(actor=request.user, vehicle=vehicle, **data))
        if saved is not None:
            return redirect("web:vehicle_detail", pk=vehicle.pk)
    return render_form(request, form, title=_("编辑车辆"), subtitle=vehicle.plate,
                       back=reverse("web:vehicle_detail", args=[pk]))
