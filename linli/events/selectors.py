"""Reads of the event log and dead letters for a user; always scoped, newest first."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from linli.core.selectors import get_visible
from linli.events.models import DeadLetter, Event


def events(user: Any, *, compound_id: int | None = None, device_id: int | None = None, type: str = "",
           since: Any = None, until: Any = None) -> QuerySet[Event]:
    qs = Event.objects.restrict(user)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if device_id:
        qs = qs.filter(device_id=device_id)
    if type:
        qs = qs.filter(type=type)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    return qs.order_by("-id")


def event(user: Any, pk: int) -> Event:
    return get_visible(Event.objects.all(), user, pk)


def dead_letters(user: Any, *, source: str = "", compound_id: int | None = None) -> QuerySet[DeadLetter]:
    qs = DeadLetter.objects.restrict(user)
    if source:
        qs = qs.filter(source=source)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs.order_by("-id")


def dead_letter(user: Any, pk: int) -> DeadLetter:
    return get_visible(DeadLetter.objects.all(), user, pk)
