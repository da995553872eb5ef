"""Escalation (升级): an alarm nobody acknowledged in time, or whose on-site deadline passed,
goes up a level — property (0) → community (1) → street (2) — and the new level is told.

Everything is read from the alarm rows themselves, so the loop can stop and restart at will
(a restart of every process escalates on time: the deadlines are columns, not timers).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.alarms.models import OPEN_STATUSES, Alarm, AlarmComment, AlarmStatus, Severity
from linli.alarms.services import AlarmChange, changed
from linli.core.context import ChangeContext, change_context
from linli.core.services import save_changes, save_new

log = logging.getLogger("linli.alarms.escalation")

# How long an alarm of each severity may wait for acknowledgement at each level.
ACK_WITHIN = {
    Severity.CRITICAL: dt.timedelta(minutes=5),
    Severity.MAJOR: dt.timedelta(minutes=15),
    Severity.MINOR: dt.timedelta(hours=1),
}
TOP_LEVEL = 2
LEVEL_NAMES = {1: _("社区"), 2: _("街道")}
# Who is told at each level, besides whoever was told before.
LEVEL_ROLES = {1: ("community_officer", "property_manager"), 2: ("street_officer", "community_officer")}


def _due(alarm: Alarm, now: dt.datetime) -> str | None:
    """Why `alarm` must go up a level now, or None."""
    if alarm.escalation_level >= TOP_LEVEL:
        return None
    if alarm.deadline_at and alarm.arrived_at is None and now >= alarm.deadline_at \
            and not alarm.details.get("deadline_missed"):
        return "deadline"
    wait = ACK_WITHIN.get(alarm.severity)
    if alarm.status == AlarmStatus.ACTIVE and wait and now >= (alarm.escalated_at or alarm.raised_at) + wait:
        return "unacknowledged"
    return None


def escalate_due(now: dt.datetime | None = None) -> list[int]:
    """Escalate every alarm that is due; returns their ids. Safe to run from several processes."""
    now = now or timezone.now()
    escalated = []
    candidates = Alarm.objects.filter(status__in=OPEN_STATUSES, escalation_level__lt=TOP_LEVEL).filter(
        Q(status=AlarmStatus.ACTIVE, severity__in=list(ACK_WITHIN)) | Q(deadline_at__lte=now, arrived_at__isnull=True))
    with change_context(ChangeContext(source="escalation", actor="alarm-escalation")):
        for pk in candidates.values_list("pk", flat=True):
            with transaction.atomic():
                alarm = Alarm.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
                reason = _due(alarm, now) if alarm else None
                if reason is None:
                    continue
                _escalate(alarm, reason, now)
                escalated.append(pk)
    return escalated


def _escalate(alarm: Alarm, reason: str, now: dt.datetime) -> None:
    level = alarm.escalation_level + 1
    details = dict(alarm.details, deadline_missed=True) if reason == "deadline" else alarm.details
    save_changes(alarm, {"escalation_level": level, "escalated_at": now, "details": details})
    why = _("超过到场时限") if reason == "deadline" else _("超时未确认")
    text = _("%(why)s，已升级至%(level)s") % {"why": why, "level": LEVEL_NAMES[level]}
    save_new(AlarmComment(compound_id=alarm.compound_id, alarm=alarm, author=None, at=now, text=text))
    try:
        from linli.notify.services import Audience, notify

        with transaction.atomic():
            notify(compound_id=alarm.compound_id, audience=Audience(roles=LEVEL_ROLES[level]),
                   title=_("告警升级：%(title)s") % {"title": alarm.title}, body=text, category="alarm",
                   severity=alarm.severity if alarm.severity in ("critical", "major", "minor", "warning") else "info",
                   alarm_id=alarm.pk, life_safety=alarm.life_safety,
                   dedupe_key=f"alarm:{alarm.pk}:escalation:{level}")
    except ImportError:
        log.info("no notify app: escalation of alarm %s recorded only", alarm.pk)
    changed(alarm, AlarmChange.ESCALATED)


async def start_escalation_watch(context, every_s: float = 5.0):
    from linli.core.runtime import start_periodic

    return await start_periodic("alarm-escalation", every_s, escalate_due)
