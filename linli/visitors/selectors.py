"""Reads of invitations and visits for a user, always scoped: a household sees its own, guards and
property staff their compounds' (the visitor's phone only masked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from linli.core.selectors import get_visible
from linli.visitors.models import Invitation, InvitationStatus, Visit


def invitations(user: Any, *, house_id: int | None = None, active_only: bool = False,
                compound_id: int | None = None) -> QuerySet[Invitation]:
    qs = Invitation.objects.restrict(user, "view").select_related("house")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if active_only:
        qs = qs.filter(status=InvitationStatus.ACTIVE)
    return qs.order_by("-starts_at", "-id")


def invitation(user: Any, pk: int) -> Invitation:
    return get_visible(Invitation.objects.select_related("house"), user, pk)


def visits(user: Any, *, compound_id: int | None = None, house_id: int | None = None,
           since: dt.datetime | None = None, until: dt.datetime | None = None, status: str = "") -> QuerySet[Visit]:
    qs = Visit.objects.restrict(user, "view").select_related("house")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if since:
        qs = qs.filter(arrived_at__gte=since)
    if until:
        qs = qs.filter(arrived_at__lt=until)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-arrived_at", "-id")


def visit(user: Any, pk: int) -> Visit:
    return get_visible(Visit.objects.select_related("house"), user, pk)
