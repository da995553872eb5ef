"""Read helpers shared by every app's selectors: scoped get and scoped list."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

from linli.core.errors import NotFound

M = TypeVar("M", bound=models.Model)


def get_visible(queryset: models.QuerySet[M], user: Any, pk: Any, action: str = "view") -> M:
    """One record by id, through the user's scope; NotFound when it is missing or out of scope."""
    try:
        return queryset.restrict(user, action).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(queryset.model._meta.model_name) from exc


def audit_entries(user: Any, *, object_type: str = "", object_id: str = "", action: str | None = None,
                  actor: str = "", since: Any = None, until: Any = None,
                  compound_id: int | None = None) -> models.QuerySet:
    from linli.core.models import AuditEntry

    qs = AuditEntry.objects.restrict(user)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if action:
        qs = qs.filter(action=action)
    if actor:
        qs = qs.filter(actor=actor)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs.order_by("-id")


def audit_entry(user: Any, pk: int):
    from linli.core.models import AuditEntry

    return get_visible(AuditEntry.objects.all(), user, pk)
