"""Reads of parcels for a user, always scoped: staff see their compounds' parcels, a household its
own. Which parcels' pickup codes the user may read is decided here too (their own households')."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from linli.core.selectors import get_visible
from linli.parcels.models import Parcel, ParcelPolicy


def parcels(user: Any, *, compound_id: int | None = None, house_id: int | None = None, status: str = "",
            tracking_no: str = "") -> QuerySet[Parcel]:
    qs = Parcel.objects.restrict(user, "view").select_related("house")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if status:
        qs = qs.filter(status=status)
    if tracking_no:
        from linli.parcels.services import tracking_digest

        qs = qs.filter(tracking_digest=tracking_digest(tracking_no) or "-")
    return qs.order_by("-registered_at", "-id")


def parcel(user: Any, pk: int) -> Parcel:
    return get_visible(Parcel.objects.select_related("house"), user, pk)


def code_readable_houses(user: Any) -> frozenset[int]:
    """Houses whose parcels' pickup codes `user` may read: a resident's current households; none for
    staff (they must ask the resident). One query, once per request."""
    if getattr(user, "kind", "") != "resident" or not getattr(user, "is_authenticated", False):
        return frozenset()
    houses: set[int] = set()
    for grant in user.scope().grants:
        if grant.is_resident and grant.houses is not None:
            houses.update(grant.houses.values_list("id", flat=True))
    return frozenset(houses)


def pickup_code_for(user: Any, item: Parcel, readable: frozenset[int] | None = None) -> str:
    """The code when `user` belongs to the parcel's household, otherwise empty."""
    readable = code_readable_houses(user) if readable is None else readable
    return item.pickup_code if item.house_id in readable else ""


def policies(user: Any, *, compound_id: int | None = None) -> QuerySet[ParcelPolicy]:
    qs = ParcelPolicy.objects.restrict(user, "view")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs
