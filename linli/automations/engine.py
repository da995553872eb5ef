"""Evaluating rules against stored events, and firing durable timers when they fall due.

Everything a rule remembers lives in the database (RuleTimer), so a restart of every
process loses nothing: `fire_due(now)` after the restart fires what fell due meanwhile.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.alarms.services import clear_alarm, raise_alarm
from linli.automations.models import Rule, RuleRun, RuleTimer, RunMode
from linli.automations.schema import OPERATORS, RuleDefinition
from linli.devices.models import Device
from linli.events.models import Event


def _value(path: str, event: Event, device: Device) -> Any:
    root, *rest = path.split(".")
    value: Any = event.payload if root == "payload" else {"kind": device.device_type.kind, "code": device.code,
                                                          "floor": device.floor}
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def check(definition: RuleDefinition, event: Event, device: Device) -> tuple[bool, list[dict]]:
    results = []
    for c in definition.conditions:
        actual = _value(c.field, event, device)
        try:
            ok = bool(OPERATORS[c.op](actual, c.value))
        except TypeError:  # comparing a missing or mistyped value fails the condition, never the run
            ok = False
        results.append({"field": c.field, "op": c.op, "value": c.value, "actual": actual, "passed": ok})
    return all(r["passed"] for r in results), results


def _run_actions(rule: Rule, definition: RuleDefinition, device: Device, event_id: int | None) -> list[dict]:
    done = []
    for action in definition.actions:
        source = f"rule:{rule.pk}:{device.code}"
        if action.do == "raise_alarm":
            alarm, created = raise_alarm(compound_id=device.compound_id, source=source, type=action.type,
                                         severity=action.severity, title=action.title, device_id=device.pk,
                                         event_id=event_id, life_safety=device.device_type.life_safety)
            done.append({"do": action.do, "alarm_id": alarm.pk, "created": created})
        elif action.do == "clear_alarm":
            alarm = clear_alarm(source=source, type=action.type,
                                reason=_("规则 %(name)s 解除") % {"name": rule.name})
            done.append({"do": action.do, "alarm_id": alarm.pk if alarm else None})
    return done


class _RuleCache:
    """Enabled rules by event type, reloaded when the rule table changes (checked once a second)."""

    def __init__(self) -> None:
        self.version: tuple | None = None
        self.checked = 0.0
        self.by_type: dict[str, list[tuple[Rule, RuleDefinition]]] = {}

    def get(self, event_type: str) -> list[tuple[Rule, RuleDefinition]]:
        now = time.monotonic()
        if now - self.checked > 1.0:
            self.checked = now
            version = tuple(Rule.objects.aggregate(n=Count("id"), last=Max("updated_at")).values())
            if version != self.version:
                self.by_type = {}
                for rule in Rule.objects.filter(enabled=True):
                    definition = RuleDefinition.model_validate(rule.definition)
                    self.by_type.setdefault(definition.trigger.event_type, []).append((rule, definition))
                self.version = version
        return self.by_type.get(event_type, [])

    def invalidate(self) -> None:
        self.checked = 0.0


RULES = _RuleCache()


def rules_for(event: Event, device: Device) -> list[tuple[Rule, RuleDefinition]]:
    matched = []
    for rule, definition in RULES.get(event.type):
        kind = definition.trigger.device_kind
        if rule.compound_id not in (None, event.compound_id):
            continue
        if kind is None or kind == device.device_type.kind:
            matched.append((rule, definition))
    return matched


def evaluate_stored(events: list[Event]) -> None:
    """The pipeline hook: evaluate rules for freshly stored events (cheap when none match)."""
    for event in events:
        if RULES.get(event.type):
            evaluate(event)


def evaluate(event: Event, *, now: dt.datetime | None = None) -> list[RuleRun]:
    """Run every matching rule for `event`; arm, disarm or fire. Inside the caller's transaction."""
    now = now or timezone.now()
    device = Device.objects.select_related("device_type").get(pk=event.device_id)
    runs = []
    for rule, definition in rules_for(event, device):
        passed, results = check(definition, event, device)
        timer = RuleTimer.objects.filter(rule=rule, subject=device.code).first()
        outcome, actions = "conditions_failed", []
        if not passed:
            if timer is not None:
                timer.delete()
                outcome = "disarmed"
        elif definition.hold_s == 0:
            actions, outcome = _run_actions(rule, definition, device, event.pk), "fired"
        elif timer is None or rule.mode == RunMode.RESTART:
            RuleTimer.objects.update_or_create(
                rule=rule, subject=device.code,
                defaults={"armed_at": now, "fire_at": now + dt.timedelta(seconds=definition.hold_s),
                          "event": event, "context": {"device_id": device.pk}})
            outcome = "armed"
        else:
            outcome = "skipped"  # already armed; single mode keeps the first deadline
        runs.append(RuleRun(compound_id=event.compound_id, rule=rule, at=now, event=event, outcome=outcome,
                            conditions=results, actions=actions))
    RuleRun.objects.bulk_create(runs)
    return runs


def fire_due(now: dt.datetime | None = None) -> list[RuleRun]:
    """Fire every timer whose hold time has passed (run by the worker loop; safe to repeat)."""
    now = now or timezone.now()
    runs = []
    with transaction.atomic():
        due = list(RuleTimer.objects.select_for_update(skip_locked=True).select_related("rule")
                   .filter(fire_at__lte=now))
        for timer in due:
            device = Device.objects.select_related("device_type").get(pk=timer.context["device_id"])
            definition = RuleDefinition.model_validate(timer.rule.definition)
            actions = _run_actions(timer.rule, definition, device, timer.event_id)
            runs.append(RuleRun(compound_id=device.compound_id, rule=timer.rule, at=now, event_id=timer.event_id,
                                outcome="fired", actions=actions))
            timer.delete()
        RuleRun.objects.bulk_create(runs)
    return runs
