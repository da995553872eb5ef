"""The "我的" page: households, family, elderly mode, language, Web Push, acting for an elderly
household member (代办), log out. Mode switches live in the session so every page reads them for free."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from linli.notify.selectors import push_subscriptions
from linli.portal import selectors, services
from linli.portal.forms import LanguageForm
from linli.portal.views.common import resident_required, tabs

ELDERLY_KEY = "portal_elderly"
ACTING_KEY = "portal_acting_for"


def remember_preferences(request, preference) -> None:
    """Copy the stored preferences into the session (at log-in and when they change)."""
    request.session[ELDERLY_KEY] = bool(preference.elderly_mode)


def acting_for(request):
    """The elderly person the user is acting for (代办), still checked against today's households."""
    chosen = request.session.get(ACTING_KEY)
    if not chosen:
        return None
    for person in selectors.elderly_in_my_households(request.user):
        if person.pk == chosen.get("id"):
            return person
    request.session.pop(ACTING_KEY, None)
    return None


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@resident_required
def me(request):
    context = {
        "tabs": tabs("me"),
        "households": selectors.households(request.user),
        "owned": selectors.owned_house_ids(request.user),
        "elderly_people": selectors.elderly_in_my_households(request.user),
        "acting": request.session.get(ACTING_KEY),
        "elderly_mode": request.session.get(ELDERLY_KEY, False),
        "language_form": LanguageForm(),
        "pushed": push_subscriptions(request.user).exists(),
    }
    return render(request, "portal/me/me.html", context)


@require_POST
@resident_required
def elderly_mode(request):
    preference = services.set_preferences(actor=request.user, elderly_mode=request.POST.get("elderly_mode") == "on")
    remember_preferences(request, preference)
    return redirect(_back(request, reverse("portal:me")))


@require_POST
@resident_required
def language(request):
    """Store the choice, then let Django's set_language set the cookie and go back."""
    form = LanguageForm(request.POST)
    if form.is_valid():
        services.set_preferences(actor=request.user, language=form.cleaned_data["language"])
    return set_language(request)


@require_POST
@resident_required
def acting(request):
    """Start or stop acting for an elderly member of the household."""
    if request.POST.get("stop"):
        request.session.pop(ACTING_KEY, None)
        return redirect(_back(request, reverse("portal:me")))
    chosen = request.POST.get("person", "")
    for person in selectors.elderly_in_my_households(request.user):
        if str(person.pk) == chosen:
            request.session[ACTING_KEY] = {"id": person.pk, "name": person.name}
            break
    return redirect(_back(request, reverse("portal:home")))
