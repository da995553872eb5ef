"""Home page: headline counts of what the user may see."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from linli.people import selectors as people
from linli.places import selectors as places
from linli.web.views.common import console_view, may_open

# (label, list page, selector) — one COUNT each, all through the scoped selectors; a count shows
# where its list opens for the user.
HEADLINES = [
    (_("小区"), "web:compound_list", places.compounds),
    (_("楼栋"), "web:building_list", places.buildings),
    (_("房屋"), "web:house_list", places.houses),
    (_("人员"), "web:person_list", people.persons),
    (_("车辆"), "web:vehicle_list", people.vehicles),
    (_("实有单位"), "web:realunit_list", people.real_units),
    (_("组织"), "web:organisation_list", people.organisations),
]


@console_view()
def home(request):
    counts = [
        {"label": label, "url": reverse(url), "count": selector(request.user).count()}
        for label, url, selector in HEADLINES
        if may_open(request.user, url)
    ]
    return render(request, "web/home.html", {"counts": counts})
