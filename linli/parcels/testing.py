"""Helpers for tests: a waiting parcel per side of the test district (and for the household next
door), made through the real services once and found again after."""

from __future__ import annotations

from typing import Any

from linli.core.context import ChangeContext, change_context
from linli.parcels.models import Parcel

MARK = "test-side"


def _parcel_for(house: Any, guard: Any) -> Parcel:
    from linli.parcels import services

    found = Parcel.objects.filter(house=house, note=MARK).first()
    if found is not None:
        return found
    with change_context(ChangeContext(source="test", actor="test")):
        return services.register_parcel(actor=guard, house=house, courier="顺丰", tracking_no="SF0000000001",
                                        position="A-01", note=MARK)


def side_records(side: Any) -> dict[str, Any]:
    """A parcel waiting for the side's household, registered by its guard."""
    return {"parcel": _parcel_for(side.house, side.users["guard"])}


def side_ids(side: Any) -> dict[str, set[int]]:
    """Ids a user of the other side must never see."""
    return {"parcel": set(Parcel.objects.filter(compound=side.compound).values_list("pk", flat=True))}


def neighbour_records(d: Any) -> dict[str, Any]:
    """For a resident of side a: a parcel of the household next door (the other house of the unit)."""
    side_records(d.b)
    return {"parcel": _parcel_for(d.a.other_house, d.a.users["guard"])}


def resident_ids(d: Any) -> dict[str, set[int]]:
    """Everything side a's resident must not see: every parcel not of their own house."""
    return {"parcel": set(Parcel.objects.exclude(house=d.a.house).values_list("pk", flat=True))}
