"""The portal's home page: the resident's households and the shortcuts they use every day."""

from __future__ import annotations

from django.shortcuts import render

from linli.portal import selectors
from linli.portal.views.common import resident_required, tabs


@resident_required
def home(request):
    context = {"tabs": tabs("home"), "households": selectors.households(request.user)}
    return render(request, "portal/home.html", context)
