"""Reads of the device registry for a user; always scoped."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from linli.core.selectors import get_visible
from linli.devices.models import Device, DeviceType


def device_types(user: Any, *, kind: str = "") -> QuerySet[DeviceType]:
    qs = DeviceType.objects.restrict(user)
    return qs.filter(kind=kind) if kind else qs


def devices(user: Any, *, compound_id: int | None = None, building_id: int | None = None, kind: str = "",
            lifecycle: str = "", online: bool | None = None, q: str = "") -> QuerySet[Device]:
    qs = Device.objects.restrict(user).select_related("device_type", "compound", "building", "state")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if building_id:
        qs = qs.filter(building_id=building_id)
    if kind:
        qs = qs.filter(device_type__kind=kind)
    if lifecycle:
        qs = qs.filter(lifecycle=lifecycle)
    if online is not None:
        qs = qs.filter(state__online=online)
    if q:
        qs = qs.filter(Q(code__contains=q) | Q(name__contains=q) | Q(serial=q))
    return qs.order_by("compound_id", "code")


def device(user: Any, pk: int) -> Device:
    return get_visible(Device.objects.select_related("device_type", "compound", "building", "state"), user, pk)


def device_type(user: Any, pk: int) -> DeviceType:
    return get_visible(DeviceType.objects.all(), user, pk)
