"""The SLA clock of work orders (时限): deadlines, the warning before them, and escalation up
the levels (property manager → community → street) when an order is overdue.

Every timer is a column on the order (`warn_at`, `deadline_at`, `next_escalation_at`), so the job
can stop and restart at will: a later run escalates exactly what fell due meanwhile, each level
once. Suspending an order stops its clock: resuming moves every timer on by the time suspended.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.context import ChangeContext, change_context
from linli.core.services import save_changes, save_new
from linli.workorders.models import CLOCK_RUNNING, Category, WorkOrder, WorkOrderStep

log = logging.getLogger("linli.workorders.sla")

LEVEL_NAMES = {1: gettext_lazy("物业经理"), 2: gettext_lazy("社区"), 3: gettext_lazy("街道")}
# Who is told when an order reaches each level.
LEVEL_ROLES = {1: ("property_manager",), 2: ("community_officer",), 3: ("street_officer",)}
JOB_LABEL = "workorder-sla"


def now() -> dt.datetime:
    """The services' clock (one place, so tests can move time)."""
    return timezone.now()


def timers(category: Category, start: dt.datetime, deadline_minutes: int | None = None) -> dict:
    """The timer columns of an order whose clock starts at `start`."""
    deadline = start + dt.timedelta(minutes=deadline_minutes or category.deadline_minutes)
    warn = deadline - dt.timedelta(minutes=category.warning_minutes) if category.warning_minutes else None
    return {"deadline_at": deadline, "warn_at": warn, "warned_at": None, "escalation_level": 0,
            "next_escalation_at": deadline if category.escalation_levels else None}


def shifted(order: WorkOrder, by: dt.timedelta) -> dict:
    """The timer columns moved on by `by` (the time an order spent suspended)."""
    return {name: getattr(order, name) + by for name in ("deadline_at", "warn_at", "next_escalation_at")
            if getattr(order, name) is not None}


def escalate_due(at: dt.datetime | None = None) -> dict[str, list[int]]:
    """Send the warnings and escalations due by `at`; a system job (no actor), safe to run from
    several processes and to run late. Returns the ids warned and escalated (one entry per level)."""
    at = at or timezone.now()
    done: dict[str, list[int]] = {"warned": [], "escalated": []}
    due = WorkOrder.objects.filter(status__in=CLOCK_RUNNING).filter(
        Q(warned_at__isnull=True, warn_at__lte=at) | Q(next_escalation_at__lte=at))
    with change_context(ChangeContext(source="job", actor=JOB_LABEL)):
        for pk in due.order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                rows = WorkOrder.objects.select_related("category").filter(pk=pk, status__in=CLOCK_RUNNING)
                if connection.features.has_select_for_update_skip_locked:
                    rows = rows.select_for_update(skip_locked=True, of=("self",))
                order = rows.first()
                if order is None:
                    continue
                if order.warned_at is None and order.warn_at is not None and order.warn_at <= at:
                    _warn(order, at)
                    done["warned"].append(pk)
                while _escalation_due(order, at):
                    _escalate(order, at)
                    done["escalated"].append(pk)
    return done


def _escalation_due(order: WorkOrder, at: dt.datetime) -> bool:
    return (order.next_escalation_at is not None and order.next_escalation_at <= at
            and order.escalation_level < order.category.escalation_levels)


def _warn(order: WorkOrder, at: dt.datetime) -> None:
    save_changes(order, {"warned_at": at})
    text = _("工单即将超时，请尽快处理")
    _step(order, at, "warn", text, {"deadline_at": order.deadline_at.isoformat()})
    users = (order.assignee_id,) if order.assignee_id else ()
    _tell(order, roles=("property_manager",), user_ids=users, title=_("工单即将超时：%(title)s") % {"title": order.title},
          body=text, severity="warning", key=f"warn:{order.deadline_at.timestamp():.0f}")


def _escalate(order: WorkOrder, at: dt.datetime) -> None:
    level = order.escalation_level + 1
    # The next level is due one interval after this one was due, not after the job ran: a late run
    # catches up on exactly the levels that fell due meanwhile.
    interval = dt.timedelta(minutes=order.category.escalation_interval_minutes)
    following = order.next_escalation_at + interval if level < order.category.escalation_levels else None
    save_changes(order, {"escalation_level": level, "next_escalation_at": following})
    text = _("工单超时，已升级至%(level)s") % {"level": LEVEL_NAMES[level]}
    _step(order, at, "escalate", text, {"level": level})
    _tell(order, roles=LEVEL_ROLES[level], user_ids=(), title=_("工单超时升级：%(title)s") % {"title": order.title},
          body=text, severity="major", key=f"escalation:{order.reopen_count}:{level}")


def _step(order: WorkOrder, at: dt.datetime, action: str, note: str, details: dict) -> None:
    save_new(WorkOrderStep(compound_id=order.compound_id, work_order=order, actor=None, actor_label=JOB_LABEL,
                           at=at, action=action, from_status=order.status, to_status=order.status, note=note,
                           details=details), exclude=("compound",))


def _tell(order: WorkOrder, *, roles: tuple[str, ...], user_ids: tuple[int, ...], title: str, body: str,
          severity: str, key: str) -> None:
    from linli.notify.services import Audience, notify

    notify(compound_id=order.compound_id, audience=Audience(roles=roles, user_ids=user_ids), title=title,
           body=body, category="system", severity=severity, source=f"workorder:{order.pk}",
           dedupe_key=f"workorder:{order.pk}:{key}")

