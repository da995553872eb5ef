"""What a rule does when it fires. Each action runs in its own savepoint: one that fails (a
device without a down channel, a bad template) is traced with its error and the others
still run; nothing here can undo the stored event."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.alarms.services import clear_alarm, raise_alarm
from linli.automations.models import Rule
from linli.automations.schema import (
    ClearAlarm,
    Command,
    Notify,
    RaiseAlarm,
    RuleDefinition,
    Target,
    WorkOrder,
)
from linli.core import hooks
from linli.devices import commands
from linli.devices.models import Device, DeviceKind, Lifecycle
from linli.events.models import Event

log = logging.getLogger("linli.automations")

# How recent a camera picture must be to count as the snapshot of what a sensor saw.
SNAPSHOT_MAX_AGE = dt.timedelta(seconds=120)

WORK_ORDER_HANDLERS = hooks.declare(
    "automations.work_order",
    "(*, compound_id: int, category: str, title: str, deadline_minutes: int | None, source: str, "
    "details: dict) -> dict", """
Files what a rule's `work_order` action asks for and returns what it created; the first
registrant handles it (the work-order app). With none registered the request is kept as a minor
alarm, so it is never silently dropped.
""")


@dataclass(frozen=True)
class Cause:
    """The event a rule fired on: its id, and its evidence when the caller holds the stored event
    (the writer does; a timer firing later does not, and the evidence is read then)."""

    event_id: int | None
    evidence: list | None = None


def run(rule: Rule, definition: RuleDefinition, device: Device, cause: Cause) -> list[dict]:
    done = []
    for action in definition.actions:
        try:
            with transaction.atomic():
                done.append({"do": action.do, **_HANDLERS[type(action)](rule, action, device, cause)})
        except ValidationError as exc:
            done.append({"do": action.do, "error": "; ".join(str(m) for m in exc.messages)})
        except Exception as exc:  # traced, never raised: the event is already stored
            log.warning("rule %s action %s failed: %s", rule.pk, action.do, type(exc).__name__)
            done.append({"do": action.do, "error": type(exc).__name__})
    return done


def _source(rule: Rule, device: Device) -> str:
    return f"rule:{rule.pk}:{device.code}"[:80]


def _raise(rule: Rule, action: RaiseAlarm, device: Device, cause: Cause) -> dict:
    evidence: list[dict] = list(cause.evidence or [])
    if cause.evidence is None and cause.event_id is not None:
        event = Event.objects.filter(pk=cause.event_id).only("evidence").first()
        evidence += list(event.evidence) if event else []
    camera = None
    if action.snapshot_from_nearest_camera:
        camera = _nearest(device, DeviceKind.IP_CAMERA)
        if camera is not None:
            evidence.append({"kind": "camera", "device": camera.code})
            shot = (Event.objects.filter(device=camera, at__gte=timezone.now() - SNAPSHOT_MAX_AGE)
                    .exclude(evidence=[]).order_by("-at").only("evidence").first())
            evidence += list(shot.evidence) if shot else []
    deadline_at = (timezone.now() + dt.timedelta(minutes=action.deadline_minutes)) if action.deadline_minutes else None
    alarm, created = raise_alarm(
        compound_id=device.compound_id, source=_source(rule, device), type=action.type, severity=action.severity,
        title=action.title, device_id=device.pk, event_id=cause.event_id, life_safety=device.device_type.life_safety,
        evidence=evidence, deadline_at=deadline_at,
        details={"rule": rule.pk, "building_id": device.building_id, "floor": device.floor})
    return {"alarm_id": alarm.pk, "created": created, "camera": camera.code if camera else None}


def _clear(rule: Rule, action: ClearAlarm, device: Device, cause: Cause) -> dict:
    alarm = clear_alarm(source=_source(rule, device), type=action.type,
                        reason=_("规则 %(name)s 解除") % {"name": rule.name})
    return {"alarm_id": alarm.pk if alarm else None}


def targets(device: Device, target: Target) -> list[Device]:
    """The devices a command goes to, found from the triggering device's place."""
    if target.near == "self":
        return [device]
    if target.near == "nearest":
        found = _nearest(device, target.kind)
        return [found] if found else []
    devices = Device.objects.select_related("device_type").filter(
        compound_id=device.compound_id, device_type__kind=target.kind).exclude(lifecycle=Lifecycle.DISABLED)
    if target.near == "same_unit" and device.unit_id:
        devices = devices.filter(unit_id=device.unit_id)
    elif target.near in ("same_unit", "same_building"):
        if device.building_id is None:
            return []
        devices = devices.filter(building_id=device.building_id)
    return list(devices.order_by("code")[:50])


def _nearest(device: Device, kind: str | None) -> Device | None:
    candidates = list(Device.objects.select_related("device_type")
                      .filter(compound_id=device.compound_id, device_type__kind=kind)
                      .exclude(lifecycle=Lifecycle.DISABLED).exclude(pk=device.pk)[:500])
    if not candidates:
        return None
    if device.x_m is None or device.y_m is None:
        # No position: prefer one in the same building, else any.
        same = [c for c in candidates if device.building_id and c.building_id == device.building_id]
        return (same or candidates)[0]
    placed = [c for c in candidates if c.x_m is not None and c.y_m is not None]
    if not placed:
        return candidates[0]
    return min(placed, key=lambda c: math.hypot(c.x_m - device.x_m, c.y_m - device.y_m))


def _command(rule: Rule, action: Command, device: Device, cause: Cause) -> dict:
    sent = []
    for target in targets(device, action.target):
        command = commands.queue(target, action.name, action.params, ttl_s=action.ttl_s,
                                 issued_by=f"rule:{rule.pk}")
        sent.append({"device": target.code, "command_id": command.command_id, "status": command.status})
    if not sent:
        return {"error": _("没有找到接收指令的设备"), "commands": []}
    return {"commands": sent}


def _notify(rule: Rule, action: Notify, device: Device, cause: Cause) -> dict:
    from linli.notify.services import Audience, notify  # late: notify is an optional leaf of this app

    # Residents of the building; a device placed on no building speaks for the whole compound.
    building = device.building_id if action.residents == "building" else None
    whole = action.residents == "compound" or (action.residents == "building" and building is None)
    audience = Audience(roles=tuple(action.roles), residents_of_building=building,
                        residents_of_compound=device.compound_id if whole else None)
    notification = notify(compound_id=device.compound_id, audience=audience, title=action.title,
                          body=action.body or action.title, category="alarm", severity=action.severity,
                          source=_source(rule, device), life_safety=device.device_type.life_safety,
                          dedupe_key=_dedupe(rule, action, cause.event_id), resolve_later=True)
    # Recipients are resolved by the dispatcher after the commit: the alarm in this same
    # transaction does not wait on them.
    return {"notification_id": notification.pk}


def _dedupe(rule: Rule, action: Notify, event_id: int | None) -> str | None:
    """One notification per rule, event and audience: a redelivered event does not notify twice."""
    if event_id is None:
        return None
    return f"rule:{rule.pk}:event:{event_id}:{action.residents or '-'}:{','.join(action.roles)}"[:160]


def _work_order(rule: Rule, action: WorkOrder, device: Device, cause: Cause) -> dict:
    details = {"device": device.code, "rule": rule.pk, "event_id": cause.event_id}
    for handler in WORK_ORDER_HANDLERS:
        return handler(compound_id=device.compound_id, category=action.category, title=action.title,
                                      deadline_minutes=action.deadline_minutes, source=_source(rule, device),
                                      details=details)
    alarm, _created = raise_alarm(compound_id=device.compound_id, source=_source(rule, device),
                                  type=f"work_order_{action.category}"[:40], severity="minor", title=action.title,
                                  device_id=device.pk, event_id=cause.event_id, details=details)
    return {"work_order": None, "kept_as_alarm": alarm.pk}


_HANDLERS: dict[type, Callable[..., dict]] = {
    RaiseAlarm: _raise, ClearAlarm: _clear, Command: _command, Notify: _notify, WorkOrder: _work_order,
}
