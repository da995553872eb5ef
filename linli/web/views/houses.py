"""House pages: list with filters, detail with residents and vehicles, create, edit, residencies."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from linli.core.errors import NotFound
from linli.people import selectors as people
from linli.people import services as people_services
from linli.places import selectors, services
from linli.web.forms.people import EndResidencyForm, ResidencyForm
from linli.web.forms.places import HouseFilterForm, HouseForm
from linli.web.views.common import can, console_view, int_param, paginate, posted, render_form, submit

HOUSE_FIELDS = ("floor", "built_area", "inner_area", "use", "occupancy")


@console_view("places.view_house")
def house_list(request):
    form = HouseFilterForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    qs = selectors.houses(
        request.user, compound_id=compound.pk if compound else None,
        building_id=int_param(request, "building"), unit_id=int_param(request, "unit"),
        occupancy=data.get("occupancy", ""), use=data.get("use", ""), q=data.get("q", ""),
    )
    return render(request, "web/places/house_list.html", {"form": form, "page": paginate(request, qs)})


def _house_page(request, house, *, residency_form=None, end_form=None, status: int = 200):
    user = request.user
    can_change_residency = can(request, "people.change_residency")
    return render(request, "web/places/house_detail.html", {
        "house": house,
        "residencies": people.residencies(user, house_id=house.pk) if can(request, "people.view_residency") else [],
        "vehicles": people.vehicles(user, house_id=house.pk) if can(request, "people.view_vehicle") else [],
        "can_edit": can(request, "places.change_house"),
        "can_add_residency": can(request, "people.add_residency"),
        "can_end_residency": can_change_residency,
        "can_add_vehicle": can(request, "people.add_vehicle"),
        "residency_form": residency_form or ResidencyForm(),
        "end_form": end_form,
    }, status=status)


@console_view("places.view_house")
def house_detail(request, pk: int):
    return _house_page(request, selectors.house(request.user, pk))


@console_view("places.add_house")
def house_create(request, unit_pk: int):
    unit = selectors.unit(request.user, unit_pk)
    form = HouseForm(posted(request))
    if request.method == "POST":
        house = submit(form, lambda data: services.create_house(actor=request.user, unit=unit, **data))
        if house is not None:
            return redirect("web:house_detail", pk=house.pk)
    return render_form(request, form, title=_("新增房屋"), subtitle=unit.standard_address,
                       back=reverse("web:building_detail", args=[unit.building_id]))


@console_view("places.change_house")
def house_edit(request, pk: int):
    house = selectors.house(request.user, pk)
    initial = {f: getattr(house, f) for f in HOUSE_FIELDS}
    form = HouseForm(posted(request), editing=True, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda data: services.update_house(actor=request.user, house=house, **data))
        if saved is not None:
            return redirect("web:house_detail", pk=house.pk)
    return render_form(request, form, title=_("编辑房屋"), subtitle=house.standard_address,
                       back=reverse("web:house_detail", args=[pk]))


@console_view("people.add_residency")
def residency_add(request, pk: int):
    house = selectors.house(request.user, pk)
    if request.method != "POST":
        return redirect("web:house_detail", pk=pk)
    form = ResidencyForm(request.POST)

    def save(data):
        person = people.persons(request.user, id_number=data["id_number"]).first()
        if person is None:
            form.add_error("id_number", _("未找到该证件号码的人员，请先登记人员"))
            return None
        return people_services.add_residency(actor=request.user, person=person, house=house,
                                             role=data["role"], since=data["since"])

    if submit(form, save) is None:
        return _house_page(request, house, residency_form=form, status=400)
    return redirect("web:house_detail", pk=pk)


@console_view("people.change_residency")
def residency_end(request, pk: int):
    house = selectors.house(request.user, pk)
    if request.method != "POST":
        return redirect("web:house_detail", pk=pk)
    form = EndResidencyForm(request.POST)

    def save(data):
        residency = people.residency(request.user, data["residency"])
        if residency.house_id != house.pk:
            raise NotFound("residency")
        return people_services.end_residency(actor=request.user, residency=residency, until=data["until"])

    if submit(form, save) is None:
        return _house_page(request, house, end_form=form, status=400)
    return redirect("web:house_detail", pk=pk)
