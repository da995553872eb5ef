"""Audit log pages: scoped list with filters, one entry's before/after, and the chain check."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from linli.accounts.roles import Role
from linli.core import selectors
from linli.core.audit import verify_chain
from linli.web.forms.audit import OBJECT_PAGES, OBJECT_TYPES, AuditFilterForm
from linli.web.views.common import console_view, may_open, paginate


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def may_verify_chain(user) -> bool:
    """The chain check reads the whole log, every scope's entries: platform and city admins only."""
    scope = user.scope()
    return scope.unrestricted or Role.CITY_ADMIN in scope.roles


def _list_page(request, *, report=None):
    form = AuditFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    filters = {k: v for k, v in data.items() if v}
    # The form speaks in whole local days; the selector takes instants.
    if day := filters.pop("date_from", None):
        filters["since"] = _start_of(day)
    if day := filters.pop("date_to", None):
        filters["until"] = _start_of(day + dt.timedelta(days=1))
    qs = selectors.audit_entries(request.user, **filters)
    return render(request, "web/audit/audit_list.html", {
        "form": form, "page": paginate(request, qs),
        "can_verify": may_verify_chain(request.user), "report": report,
    })


@console_view("core.view_auditentry")
def audit_list(request):
    return _list_page(request)


@console_view("core.view_auditentry")
def audit_detail(request, pk: int):
    entry = selectors.audit_entry(request.user, pk)
    before, after = entry.before or {}, entry.after or {}
    rows = [{"field": key, "before": before.get(key), "after": after.get(key),
             "changed": before.get(key) != after.get(key)}
            for key in sorted(set(before) | set(after))]
    page = OBJECT_PAGES.get(entry.object_type)
    linked = page and entry.object_id.isdigit() and may_open(request.user, page, entry.object_id)
    object_url = reverse(page, args=[entry.object_id]) if linked else ""
    return render(request, "web/audit/audit_detail.html", {
        "entry": entry, "rows": rows, "object_url": object_url,
        "object_label": OBJECT_TYPES.get(entry.object_type, entry.object_type),
    })


@require_POST
@console_view("core.view_auditentry")
def audit_verify(request):
    # Slow on a large log, so it runs only when an admin presses the button, never on page load.
    if not may_verify_chain(request.user):
        raise PermissionDenied
    report = verify_chain()
    if request.headers.get("HX-Request"):
        return render(request, "web/audit/_chain_report.html", {"report": report})
    return _list_page(request, report=report)
