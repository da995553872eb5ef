"""The gateway's health watch: every few seconds, mark silent devices offline and raise an
offline alarm; close it when the device is heard from again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.alarms.models import OPEN_STATUSES, Alarm, Severity
from linli.alarms.services import clear_alarm, raise_alarm
from linli.core.context import ChangeContext, change_context
from linli.core.runtime import start_periodic
from linli.devices import health
from linli.devices.models import Device
from linli.events import types
from linli.events.pipeline import Incoming, store

SWEEP_EVERY_S = 5.0
OFFLINE = "device_offline"


def sweep_and_alarm(now: dt.datetime | None = None) -> tuple[list[int], list[int]]:
    """(devices that went offline, devices whose offline alarm was closed)."""
    now = now or timezone.now()
    with change_context(ChangeContext(source="health", actor="health-watch")):
        went = health.sweep(now)
        for device in Device.objects.filter(pk__in=went).select_related("device_type"):
            raise_alarm(compound_id=device.compound_id, source=device.code, type=OFFLINE,
                        severity=Severity.MAJOR, title=_("%(name)s 离线") % {"name": device.name},
                        device_id=device.pk,
                        details={"heartbeat_s": device.device_type.heartbeat_s})
        back = list(Alarm.objects.filter(type=OFFLINE, status__in=OPEN_STATUSES, device__state__online=True)
                    .values_list("source", "device_id"))
        for source, _device_id in back:
            clear_alarm(source=source, type=OFFLINE, reason=_("设备已恢复在线"))
        # As events too, so rules can act on them ("offline for an hour → work order").
        store_connectivity(went, online=False, at=now)
        store_connectivity([device_id for _, device_id in back if device_id], online=True, at=now)
    return went, [device_id for _, device_id in back]


def store_connectivity(device_ids: list[int], *, online: bool, at: dt.datetime) -> None:
    if not device_ids:
        return
    stamp = int(at.timestamp() * 1000)
    store([Incoming(pk, compound_id, types.CONNECTIVITY, f"{'online' if online else 'offline'}-{stamp}", at,
                    {"online": online})
           for pk, compound_id in Device.objects.filter(pk__in=device_ids).values_list("pk", "compound_id")])


async def start_health_watch(context: Any, every_s: float = SWEEP_EVERY_S) -> Callable[[], Awaitable[None]]:
    return await start_periodic("health-watch", every_s, sweep_and_alarm)
