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
