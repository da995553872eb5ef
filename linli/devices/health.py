"""Device health (感知前端运行状态监管): online from heartbeats, offline after 3 × heartbeat + grace.

Connection state is kept apart from values: "offline" is never read as "no smoke".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from linli.devices.models import Device, DeviceOutage, DeviceState, DeviceType, OutageCause
from linli.events import types

MISSED_HEARTBEATS = 3
GRACE = dt.timedelta(seconds=10)
# Heartbeats come every 30 s or more and the grace is 10 s: writing last_seen_at more often
# than this buys nothing, and costs every batch (the gate lane's too) two statements.
SEEN_RESOLUTION = dt.timedelta(seconds=5)
# device → the last_seen_at this process wrote, while it knows the device online. Dropped
# when this process takes the device offline; another gateway's Last Will is seen at the
# latest SEEN_RESOLUTION later, on the device's next message.
_written: dict[int, dt.datetime] = {}


def offline_after(heartbeat_s: int) -> dt.timedelta:
    return dt.timedelta(seconds=MISSED_HEARTBEATS * heartbeat_s) + GRACE


def seen(device_ids: Iterable[int], *, at: dt.datetime) -> None:
    """Any stored message proves the device is alive: one UPDATE per batch, unless this process
    wrote it for every device of the batch less than SEEN_RESOLUTION ago."""
    ids = {pk for pk in device_ids if (pk not in _written) or at - _written[pk] >= SEEN_RESOLUTION}
    if not ids:
        return
    DeviceState.objects.filter(device_id__in=ids).filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=at)) \
        .update(last_seen_at=at)
    back = list(DeviceState.objects.filter(device_id__in=ids, online=False).values_list("device_id", flat=True))
    if back:
        DeviceState.objects.filter(device_id__in=back, online=False).update(
            online=True, offline_since=None, last_connected_at=at)
        end_outages(back, OutageCause.OFFLINE, at=at)
    _written.update(dict.fromkeys(ids, at))


def forget_seen(device_ids: Iterable[int] | None = None) -> None:
    """The device went offline (or, with no ids, anything may have changed: tests): write again."""
    if device_ids is None:
        _written.clear()
    for pk in device_ids or ():
        _written.pop(pk, None)


def start_outages(device_ids: Iterable[int], cause: str, *, at: dt.datetime) -> None:
    """Open an outage for each device (at most one open per device and cause)."""
    rows = [DeviceOutage(device_id=pk, compound_id=compound_id, cause=cause, started_at=at)
            for pk, compound_id in Device.objects.filter(pk__in=set(device_ids)).values_list("pk", "compound_id")]
    DeviceOutage.objects.bulk_create(rows, ignore_conflicts=True)


def end_outages(device_ids: Iterable[int], cause: str, *, at: dt.datetime) -> None:
    DeviceOutage.objects.filter(device_id__in=set(device_ids), cause=cause, ended_at__isnull=True).update(ended_at=at)


def apply_status(device_id: int, payload: dict, *, at: dt.datetime) -> None:
    """A device.status message: connection (Last Will says offline) and its flags."""
    changes = {k: bool(payload[k]) for k in ("battery_low", "tamper", "fault") if k in payload}
    if payload.get("online") is False:
        changes.update(online=False, offline_since=at)
        forget_seen([device_id])
        start_outages([device_id], OutageCause.OFFLINE, at=at)
    if "fault" in changes:
        (start_outages if changes["fault"] else end_outages)([device_id], OutageCause.FAULT, at=at)
    if changes:
        DeviceState.objects.filter(device_id=device_id).update(**changes)


def sweep(now: dt.datetime | None = None) -> list[int]:
    """Mark silent devices offline; returns the ids that just went offline (for alarms)."""
    now = now or timezone.now()
    went_offline: list[int] = []
    for device_type in DeviceType.objects.all():
        cutoff = now - offline_after(device_type.heartbeat_s)
        silent = DeviceState.objects.filter(device__device_type=device_type, online=True, last_seen_at__lt=cutoff)
        ids = list(silent.values_list("device_id", flat=True))
        if ids:
            DeviceState.objects.filter(device_id__in=ids, online=True).update(online=False, offline_since=now)
            start_outages(ids, OutageCause.OFFLINE, at=now)
            forget_seen(ids)
            went_offline += ids
    return went_offline


def after_store(events: list) -> None:
    """The pipeline hook (events.pipeline.AFTER_STORE), inside the batch's transaction."""
    if not events:
        return
    now = events[0].received_at
    # Linli's own connectivity events are about the device, not from it: they prove nothing.
    seen((e.device_id for e in events if e.type != types.CONNECTIVITY), at=now)
    for e in events:
        if e.type == types.STATUS:
            apply_status(e.device_id, e.payload, at=now)


def _after_store_atomic(batch: list) -> bool:
    # last_seen_at may trail the events (a crash between loses a hint the next message restores);
    # a status message (Last Will, fault) must change the device's state with the event.
    return any(m.type == types.STATUS for m in batch)


after_store.atomic_with_store = _after_store_atomic  # type: ignore[attr-defined]

__all__ = ["after_store", "end_outages", "forget_seen", "offline_after", "seen", "start_outages", "sweep"]
