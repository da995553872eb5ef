"""Reads of accounts for a user: staff within the manager's reach, always scoped."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from linli.accounts.models import RoleGrant, User
from linli.core.selectors import get_visible

_GRANTS = Prefetch("grants", queryset=RoleGrant.objects.select_related("region", "grid", "compound", "organisation"))


def staff(user: Any, *, role: str = "", q: str = "", active: bool | None = None) -> QuerySet[User]:
    qs = User.objects.restrict(user).prefetch_related(_GRANTS)
    if role:
        qs = qs.filter(grants__role=role).distinct()
    if q:
        qs = qs.filter(Q(username__contains=q) | Q(display_name__contains=q))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("username")


def staff_member(user: Any, pk: int) -> User:
    return get_visible(User.objects.prefetch_related(_GRANTS), user, pk)


def grant(user: Any, pk: int) -> RoleGrant:
    qs = RoleGrant.objects.select_related("user", "region", "grid", "compound", "organisation")
    return get_visible(qs, user, pk)
