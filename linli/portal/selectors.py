"""Reads for the portal's pages, always through the scoped selectors of the apps they show."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from linli.people.models import Residency


def households(user: Any) -> list[Residency]:
    """The resident's current residencies (one per house), with the house and its place."""
    today = timezone.localdate()
    return list(Residency.objects.restrict(user, "view")
                .filter(person_id=user.person_id, since__lte=today)
                .filter(Q(until__isnull=True) | Q(until__gte=today))
                .select_related("house", "house__building", "house__unit", "house__compound")
                .order_by("house__compound__name", "house__building__number", "house__number"))
