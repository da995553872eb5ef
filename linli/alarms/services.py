"""Alarm lifecycle: raise (or count a repeat), acknowledge, dispatch, resolve, mark false, comment."""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.alarms.models import OPEN_STATUSES, Alarm, AlarmComment, AlarmStatus
from linli.core import hooks
from linli.core.errors import Conflict
from linli.core.services import field_error, require, save_changes, save_new, service

log = logging.getLogger("linli.alarms")

# Which status may follow which; anything else is refused with a clear error.
NEXT = {
    AlarmStatus.ACTIVE: {AlarmStatus.ACKNOWLEDGED, AlarmStatus.RESOLVED, AlarmStatus.FALSE_ALARM},
    AlarmStatus.ACKNOWLEDGED: {AlarmStatus.DISPATCHED, AlarmStatus.RESOLVED, AlarmStatus.FALSE_ALARM},
    AlarmStatus.DISPATCHED: {AlarmStatus.RESOLVED, AlarmStatus.FALSE_ALARM},
    AlarmStatus.RESOLVED: set(),
    AlarmStatus.FALSE_ALARM: set(),
}


class AlarmChange(StrEnum):
    """What happened to an alarm: the names its change hook and the live feed carry."""

    RAISED = "raised"
    REPEATED = "repeated"
    ACKNOWLEDGED = AlarmStatus.ACKNOWLEDGED.value
    DISPATCHED = AlarmStatus.DISPATCHED.value
    ARRIVED = "arrived"
    RESOLVED = AlarmStatus.RESOLVED.value
    FALSE_ALARM = AlarmStatus.FALSE_ALARM.value
    ESCALATED = "escalated"


ON_CHANGE = hooks.declare("alarms.changed", "(alarm: Alarm, what: AlarmChange) -> None", """
Called after the commit of every change to an alarm, with what happened (`AlarmChange`: raised,
repeated, acknowledged, dispatched, arrived, resolved, false_alarm, escalated). The
live feed registers here, so consoles see an alarm the moment it is raised, moved or escalated.
A registrant that fails is logged and never undoes or blocks the alarm.
""")


def changed(alarm: Alarm, what: AlarmChange) -> None:
    def tell() -> None:
        for hook in ON_CHANGE:
            try:
                hook(alarm, what)
            except Exception:  # a feed hiccup must never undo or block the alarm itself
                log.exception("alarm change hook failed")

    transaction.on_commit(tell)


def raise_alarm(*, compound_id: int, source: str, type: str, severity: str, title: str,
                device_id: int | None = None, details: dict | None = None, evidence: list | None = None,
                event_id: int | None = None, life_safety: bool = False,
                deadline_at: dt.datetime | None = None) -> tuple[Alarm, bool]:
    """Open an alarm, or count a repeat on the open one for (source, type). Returns (alarm, created).

    Raised by the system (rules, health sweeps), so no actor; the audit context names the cause.
    """
    now = timezone.now()
    # No savepoints of its own (each is a round trip on the life-safety path): a failed insert is
    # rolled back by save_new's, and anything else undoes the caller's.
    with transaction.atomic(savepoint=False):
        open_alarm = (Alarm.objects.select_for_update()
                      .filter(source=source, type=type, status__in=OPEN_STATUSES).first())
        if open_alarm is not None:
            Alarm.objects.filter(pk=open_alarm.pk).update(count=open_alarm.count + 1, last_seen_at=now)
            open_alarm.count += 1
            open_alarm.last_seen_at = now
            changed(open_alarm, AlarmChange.REPEATED)
            return open_alarm, False
        alarm = Alarm(compound_id=compound_id, device_id=device_id, source=source, type=type, severity=severity,
                      title=title, details=details or {}, evidence=evidence or [], first_event_id=event_id,
                      raised_at=now, last_seen_at=now, life_safety=life_safety, deadline_at=deadline_at)
        try:
            # The ids come from the stored event and its device, so the foreign keys hold without
            # a look-up each; the one-open-alarm constraint is the database's to enforce.
            save_new(alarm, exclude=("compound", "device", "first_event"), check_constraints=False)
        except (Conflict, ValidationError):
            # Another process opened it between our read and our insert: count on theirs.
            return raise_alarm(compound_id=compound_id, source=source, type=type, severity=severity,
                               title=title, device_id=device_id, details=details, evidence=evidence,
                               event_id=event_id, life_safety=life_safety, deadline_at=deadline_at)
        changed(alarm, AlarmChange.RAISED)
        return alarm, True


def _move(actor: Any, alarm: Alarm, status: str, **changes: Any) -> Alarm:
    require(actor, alarm, "change")
    if status not in NEXT[AlarmStatus(alarm.status)]:
        raise field_error("status", _("告警当前状态不能转为该状态"))
    alarm = save_changes(alarm, {"status": status, **changes})
    changed(alarm, AlarmChange(status))
    return alarm


@service
def acknowledge(*, actor: Any, alarm: Alarm) -> Alarm:
    return _move(actor, alarm, AlarmStatus.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=actor)


@service
def dispatch(*, actor: Any, alarm: Alarm, assignee: Any) -> Alarm:
    if assignee is None:
        raise field_error("assignee", _("请指定处置人"))
    return _move(actor, alarm, AlarmStatus.DISPATCHED, assignee=assignee)


@service
def resolve(*, actor: Any, alarm: Alarm, false_alarm: bool = False, note: str = "") -> Alarm:
    status = AlarmStatus.FALSE_ALARM if false_alarm else AlarmStatus.RESOLVED
    alarm = _move(actor, alarm, status, closed_at=timezone.now())
    if note.strip():
        comment(actor=actor, alarm=alarm, text=note)
    return alarm


@service
def arrive(*, actor: Any, alarm: Alarm, note: str = "") -> Alarm:
    """The person dispatched is on site: this is what an arrival deadline (entrapment) waits for."""
    require(actor, alarm, "change")
    if alarm.status not in OPEN_STATUSES:
        raise field_error("status", _("告警已关闭"))
    if alarm.arrived_at is not None:
        raise field_error("arrived_at", _("已记录到场"))
    alarm = save_changes(alarm, {"arrived_at": timezone.now()})
    comment(actor=actor, alarm=alarm, text=note.strip() or _("已到场"))
    changed(alarm, AlarmChange.ARRIVED)
    return alarm


@service
def comment(*, actor: Any, alarm: Alarm, text: str) -> AlarmComment:
    require(actor, alarm, "view")
    if not text.strip():
        raise field_error("text", _("请填写内容"))
    return save_new(AlarmComment(compound_id=alarm.compound_id, alarm=alarm, author=actor, at=timezone.now(),
                                 text=text.strip()[:500]))


__all__ = ["NEXT", "ON_CHANGE", "AlarmChange", "acknowledge", "arrive", "changed", "comment", "dispatch", "raise_alarm", "resolve"]


def clear_alarm(*, source: str, type: str, reason: str) -> Alarm | None:
    """The system closes an open alarm whose cause went away (a device came back online)."""
    with transaction.atomic():
        alarm = (Alarm.objects.select_for_update()
                 .filter(source=source, type=type, status__in=OPEN_STATUSES).first())
        if alarm is None:
            return None
        save_changes(alarm, {"status": AlarmStatus.RESOLVED, "closed_at": timezone.now()})
        save_new(AlarmComment(compound_id=alarm.compound_id, alarm=alarm, author=None, at=timezone.now(),
                              text=reason[:500]))
        changed(alarm, AlarmChange.RESOLVED)
        return alarm
