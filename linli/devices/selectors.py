"""Reads of the device registry for a user; always scoped."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from linli.core.selectors import get_visible
from linli.devices.models import (
    Device,
    DeviceCommand,
    DeviceCredential,
    DeviceKind,
    DeviceOutage,
    DeviceType,
    Lifecycle,
)


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


def credentials(user: Any, device: Device) -> QuerySet[DeviceCredential]:
    """A visible device's credentials, newest first: kind and dates only, never the hash."""
    return (DeviceCredential.objects.filter(device__in=Device.objects.restrict(user).filter(pk=device.pk))
            .defer("secret_hash").order_by("-created_at", "-id"))


def outages(user: Any, *, device_id: int | None = None, compound_id: int | None = None) -> QuerySet[DeviceOutage]:
    qs = DeviceOutage.objects.restrict(user)
    if device_id:
        qs = qs.filter(device_id=device_id)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs.order_by("-started_at", "-id")


def commands(user: Any, *, device_id: int | None = None) -> QuerySet[DeviceCommand]:
    qs = DeviceCommand.objects.restrict(user)
    if device_id:
        qs = qs.filter(device_id=device_id)
    return qs.order_by("-id")


# Health of the sensing front end (感知前端运行状态监管) ------------------------------------------

HEALTH_DAYS = 30
HEALTH_LIST_LIMIT = 20


@dataclass(frozen=True)
class KindHealth:
    kind: str
    total: int
    online: int

    @property
    def label(self) -> str:
        return str(DeviceKind(self.kind).label)

    @property
    def online_rate(self) -> float | None:
        return self.online / self.total if self.total else None


@dataclass(frozen=True)
class DayUptime:
    """One local calendar day: device-seconds in service and how many of them were down."""

    day: dt.date
    device_s: float
    down_s: float

    @property
    def uptime(self) -> float | None:
        return 1 - self.down_s / self.device_s if self.device_s else None


@dataclass
class DeviceHealth:
    """The health page's figures for the devices in service (not disabled) a user may see."""

    compound_id: int | None
    by_kind: list[KindHealth]
    never_seen: int
    flag_counts: dict[str, int]
    offline_longest: list[Device]
    flagged: dict[str, list[Device]]
    repairs: int
    mttr_s: float | None
    days: list[DayUptime] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(k.total for k in self.by_kind)

    @property
    def online(self) -> int:
        return sum(k.online for k in self.by_kind)

    @property
    def offline(self) -> int:
        return self.total - self.online

    @property
    def online_rate(self) -> float | None:
        return self.online / self.total if self.total else None

    @property
    def period_uptime(self) -> float | None:
        device_s = sum(d.device_s for d in self.days)
        return 1 - sum(d.down_s for d in self.days) / device_s if device_s else None


FLAGS = ("battery_low", "tamper", "fault")


def device_health(user: Any, *, compound_id: int | None = None, now: dt.datetime | None = None,
                  days: int = HEALTH_DAYS) -> DeviceHealth:
    """Online rate (overall and per kind), devices offline longest, battery/tamper/fault lists,
    mean time to repair and daily uptime over the last `days` local days — seven queries whatever
    the number of devices or outages.

    A device is down while it has an open outage of either cause (offline or fault); overlapping
    outages of one device count once. Disabled devices are out of service and not counted.
    """
    now = now or timezone.now()
    in_service = Device.objects.restrict(user).exclude(lifecycle=Lifecycle.DISABLED)
    if compound_id:
        in_service = in_service.filter(compound_id=compound_id)
    per_kind = (in_service.values("device_type__kind").order_by("device_type__kind")
                .annotate(total=Count("id"), online=Count("id", filter=Q(state__online=True)),
                          never=Count("id", filter=Q(state__last_seen_at__isnull=True)),
                          **{flag: Count("id", filter=Q(**{f"state__{flag}": True})) for flag in FLAGS}))
    rows = list(per_kind)
    with_state = in_service.select_related("device_type", "compound", "state")
    offline_longest = list(with_state.filter(state__online=False, state__offline_since__isnull=False)
                           .order_by("state__offline_since", "id")[:HEALTH_LIST_LIMIT])
    flagged = {flag: list(with_state.filter(**{f"state__{flag}": True}).order_by("compound_id", "code")
                          [:HEALTH_LIST_LIMIT])
               for flag in FLAGS}
    day_spans = _day_spans(now, days)
    window_start = day_spans[0][1]
    outage_rows = list(DeviceOutage.objects.filter(device__in=in_service.values("pk"), started_at__lt=now)
                       .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=window_start))
                       .order_by("device_id", "started_at").values_list("device_id", "started_at", "ended_at"))
    repaired = [(ended - started).total_seconds() for _pk, started, ended in outage_rows
                if ended is not None and ended <= now]
    health = DeviceHealth(
        compound_id=compound_id,
        by_kind=[KindHealth(r["device_type__kind"], r["total"], r["online"]) for r in rows],
        never_seen=sum(r["never"] for r in rows),
        flag_counts={flag: sum(r[flag] for r in rows) for flag in FLAGS},
        offline_longest=offline_longest, flagged=flagged,
        repairs=len(repaired), mttr_s=sum(repaired) / len(repaired) if repaired else None,
    )
    created = sorted(in_service.values_list("created_at", flat=True))
    health.days = _uptime_by_day(day_spans, created, outage_rows, now)
    return health


def _day_spans(now: dt.datetime, days: int) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """(day, start, end) for the last `days` local calendar days, today ending now."""
    today = timezone.localdate(now)
    spans = []
    for offset in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=offset)
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        end = min(timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min)), now)
        spans.append((day, start, end))
    return spans


def _uptime_by_day(spans: list[tuple[dt.date, dt.datetime, dt.datetime]], created: list[dt.datetime],
                   outage_rows: list[tuple[int, dt.datetime, dt.datetime | None]], now: dt.datetime) -> list[DayUptime]:
    # Device-time: a device counts from the moment it was registered.
    device_s = []
    for _day, start, end in spans:
        full = bisect.bisect_left(created, start)
        partial = created[full:bisect.bisect_left(created, end)]
        device_s.append(full * (end - start).total_seconds() + sum((end - c).total_seconds() for c in partial))
    # Down time: each device's outages merged (offline and fault may overlap), then cut at day edges.
    down_s = [0.0] * len(spans)
    window_start = spans[0][1]
    for _pk, intervals in itertools.groupby(outage_rows, key=lambda r: r[0]):
        for started, ended in _merged((max(s, window_start), min(e or now, now)) for _p, s, e in intervals):
            for i, (_day, start, end) in enumerate(spans):
                overlap = (min(ended, end) - max(started, start)).total_seconds()
                if overlap > 0:
                    down_s[i] += overlap
    return [DayUptime(day, dev, min(down, dev)) for (day, _s, _e), dev, down in zip(spans, device_s, down_s,
                                                                                   strict=True)]


def _merged(intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
