"""Reads the console needs that no domain app offers: the audit log, scoped per user."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from linli.core.models import AuditEntry
from linli.core.selectors import get_visible


def audit_entries(user: Any, *, object_type: str = "", object_id: str = "", action: str = "", actor: str = "",
                  date_from: dt.date | None = None, date_to: dt.date | None = None) -> QuerySet[AuditEntry]:
    """Entries in the user's scope, newest first; dates are whole local (Asia/Shanghai) days."""
    qs = AuditEntry.objects.restrict(user, "view")
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if action:
        qs = qs.filter(action=action)
    if actor:
        qs = qs.filter(actor=actor)
    if date_from:
        qs = qs.filter(at__gte=_start_of(date_from))
    if date_to:
        qs = qs.filter(at__lt=_start_of(date_to + dt.timedelta(days=1)))
    return qs.order_by("-id")


def audit_entry(user: Any, pk: int) -> AuditEntry:
    return get_visible(AuditEntry.objects.all(), user, pk)


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
