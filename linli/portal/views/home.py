"""The portal's home page: the resident's households and the shortcuts they use every day.

In elderly mode (适老化) only four big buttons remain: 报修, 缴费, 快递, 呼叫物业."""

from __future__ import annotations

from django.apps import apps
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import AccountKind
from linli.accounts.roles import Role
from linli.notify.selectors import unread_count
from linli.portal import selectors
from linli.portal.views.common import resident_required, tabs
from linli.portal.views.me import ELDERLY_KEY

SHORTCUTS = (
    ("repairs", "portal:repair_list", _("报修")),
    ("bills", "portal:bill_list", _("缴费")),
    ("parcels", "portal:parcel_list", _("快递")),
    ("visitors", "portal:visitor_list", _("访客")),
    ("notices", "portal:notice_list", _("公告")),
    ("votes", "portal:vote_list", _("表决")),
    ("surveys", "portal:survey_list", _("问卷")),
    ("inbox", "portal:inbox", _("消息")),
    ("family", "portal:family", _("家庭成员")),
)
ELDERLY_SHORTCUTS = ("repairs", "bills", "parcels")


def shortcuts(keys: tuple[str, ...] | None = None) -> list[dict]:
    """Shortcuts whose pages this deployment serves (a URL name that does not resolve is left out)."""
    items = []
    for key, name, label in SHORTCUTS:
        if keys is not None and key not in keys:
            continue
        try:
            items.append({"key": key, "url": reverse(name), "label": label})
        except NoReverseMatch:
            continue
    return items


def _notice_unread(user) -> int | None:
    if not apps.is_installed("linli.notices"):
        return None
    from linli.notices import selectors as notices

    return notices.unread_count(user)


def service_phone(households) -> str:
    """The compound's service phone for 呼叫物业, where the place record carries one."""
    for residency in households:
        phone = getattr(residency.house.compound, "service_phone", "")
        if phone:
            return phone
    return ""


def home(request):
    """Residents get their home page; staff on a phone land on their own work (the technician's
    orders, or the booth), everybody else on the phone log-in."""
    user = request.user
    if getattr(user, "is_authenticated", False) and user.kind == AccountKind.STAFF:
        return redirect("portal:tech_home" if Role.TECHNICIAN in user.scope().roles else "portal:booth_home")
    return _resident_home(request)


@resident_required
def _resident_home(request):
    elderly = request.session.get(ELDERLY_KEY, False)
    households = selectors.households(request.user)
    context = {
        "tabs": tabs("home"),
        "households": households,
        "elderly_mode": elderly,
        "shortcuts": shortcuts(ELDERLY_SHORTCUTS if elderly else None),
        "unread": unread_count(request.user),
        "notice_unread": _notice_unread(request.user),
        "service_phone": service_phone(households) if elderly else "",
    }
    return render(request, "portal/home.html", context)
