"""Home page: headline counts of what the user may see."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from linli.people import selectors as people
from linli.places import selectors as places
from linli.web.views.common import console_view

# (permission, label, list page, selector) — one COUNT each, all through the scoped selectors.
HEADLINES = [
    ("places.view_compound", _("小区"), "web:compound_list", places.compounds),
    ("places.view_building", _("楼栋"), "web:building_list", places.buildings),
    ("places.view_house", _("房屋"), "web:house_list", places.houses),
    ("people.view_person", _("人员"), "web:person_list", people.persons),
    ("people.view_vehicle", _("车辆"), "web:vehicle_list", people.vehicles),
    ("people.view_realunit", _("实有单位"), "web:realunit_list", people.real_units),
    ("people.view_organisation", _("组织"), "web:organisation_list", people.organisations),
]


@console_view()
def home(request):
    scope = request.user.scope()
    counts = [
        {"label": label, "url": reverse(url), "count": selector(request.user).count()}
        for perm, label, url, selector in HEADLINES
        if scope.allows(perm)
    ]
    return render(request, "web/home.html", {"counts": counts})
