"""What every portal page shares: who may see it, and the bottom tab bar."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import AccountKind

TABS = (
    ("home", "portal:home", _("首页")),
    ("repairs", "portal:repair_list", _("报事")),
    ("bills", "portal:bill_list", _("缴费")),
    ("me", "portal:me", _("我的")),
)


def is_resident(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.kind == AccountKind.RESIDENT


def _to_login(request) -> Any:
    return redirect(f"{reverse('portal:login')}?{urlencode({'next': request.get_full_path()})}")


def resident_required(view):
    """Pages for residents; anybody else is sent to the portal's phone login."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_resident(request.user):
            return _to_login(request)
        return view(request, *args, **kwargs)

    return wrapper


def staff_required(view):
    """Pages for staff on their phones (a technician's orders); staff log in with their password."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not getattr(user, "is_authenticated", False) or user.kind == AccountKind.RESIDENT:
            return redirect(f"{reverse('web:login')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


def tabs(active: str) -> list[dict[str, Any]]:
    items = []
    for key, name, label in TABS:
        try:
            url = reverse(name)
        except NoReverseMatch:  # a section this deployment does not serve
            continue
        items.append({"key": key, "url": url, "label": label, "active": key == active})
    return items
