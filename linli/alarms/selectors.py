"""Reads of alarms for a user; always scoped. The board shows open alarms, most severe first."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When

from linli.alarms.models import OPEN_STATUSES, Alarm, Severity
from linli.core.selectors import get_visible
from linli.events.retention import refs_of

_RANK = Case(*(When(severity=s, then=Value(i)) for i, s in enumerate(Severity.values)),
             output_field=IntegerField())


def alarms(user: Any, *, compound_id: int | None = None, status: str = "", open_only: bool = False,
           type: str = "", severity: str = "") -> QuerySet[Alarm]:
    qs = Alarm.objects.restrict(user).select_related("device", "assignee")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if status:
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if type:
        qs = qs.filter(type=type)
    if severity:
        qs = qs.filter(severity=severity)
    return qs.annotate(rank=_RANK).order_by("rank", "-raised_at", "-id")


def alarm(user: Any, pk: int) -> Alarm:
    return get_visible(Alarm.objects.select_related("device", "assignee"), user, pk)


def open_alarm_events() -> QuerySet:
    """Ids of the first events of open alarms (kept by the event purge whatever their age)."""
    return Alarm.objects.filter(status__in=OPEN_STATUSES, first_event__isnull=False).values("first_event_id")


def alarm_evidence_refs() -> set[str]:
    """Media references in alarms' evidence, open or closed (kept by the purge)."""
    return set(refs_of(ev for ev in Alarm.objects.exclude(evidence=[]).values_list("evidence", flat=True)))
