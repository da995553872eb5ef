"""Evaluating rules against stored events, and firing durable timers when they fall due.

Everything a rule remembers lives in the database (RuleTimer for "held for N seconds",
RuleRun for "N times within M seconds"), so a restart of every process loses nothing:
`fire_due(now)` after the restart fires what fell due meanwhile.

Run modes decide what a new trigger does while a run for the same device is pending:
single ignores it, restart re-arms the timer, queued adds a run after the pending ones,
parallel starts its own run. At most MAX_PENDING runs wait per device, so a flapping
sensor cannot flood the timer table.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from linli.automations import actions
from linli.automations.models import Rule, RuleRun, RuleTimer, RunMode
from linli.automations.schema import OPERATORS, RuleDefinition
from linli.devices.models import Device
from linli.events.models import Event

MAX_PENDING = 10

# Outcomes where nothing happened. A busy sensor would otherwise write a trace per message
# (a parking sensor under a fire-lane rule: every report while a run is pending is "skipped"),
# doubling the writes of the event log. These are traced at most once a minute per rule,
# device and outcome, enough to see why a rule did not fire; everything that acts or changes
# state (fired, armed, rearmed, disarmed, counted) is always traced.
QUIET = frozenset({"conditions_failed", "outside_window", "skipped"})
QUIET_TRACE_EVERY_S = 60.0
_last_quiet: dict[tuple[int, str, str], float] = {}


def _sample(rule_id: int, subject: str, outcome: str) -> bool:
    now = time.monotonic()
    key = (rule_id, subject, outcome)
    if now - _last_quiet.get(key, -QUIET_TRACE_EVERY_S) < QUIET_TRACE_EVERY_S:
        return False
    if len(_last_quiet) > 100_000:  # bounded: forget everything rather than grow without end
        _last_quiet.clear()
    _last_quiet[key] = now
    return True


def _value(path: str, event: Event, device: Device) -> Any:
    root, *rest = path.split(".")
    value: Any = event.payload if root == "payload" else {
        "kind": device.device_type.kind, "code": device.code, "floor": device.floor,
        "building_id": device.building_id, "unit_id": device.unit_id}
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


class _DeviceCache:
    """Devices with their type, as rules read them, kept DEVICE_CACHE_S: a busy sensor's every
    report needs its device, and loading it per batch was a tenth of the writer's time. A device
    moved or retyped is seen by rules at most that much later."""

    def __init__(self) -> None:
        self.loaded: dict[int, tuple[float, Device]] = {}

    def get(self, ids: set[int]) -> dict[int, Device]:
        now = time.monotonic()
        found = {pk: hit[1] for pk in ids if (hit := self.loaded.get(pk)) and now - hit[0] < DEVICE_CACHE_S}
        missing = ids - found.keys()
        if missing:
            if len(self.loaded) > 50_000:  # bounded: forget everything rather than grow without end
                self.loaded.clear()
            fresh = Device.objects.select_related("device_type").in_bulk(missing)
            self.loaded.update({pk: (now, device) for pk, device in fresh.items()})
            found.update(fresh)
        return found

    def clear(self) -> None:
        self.loaded.clear()


DEVICE_CACHE_S = 5.0
DEVICES = _DeviceCache()


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
    """The pipeline hook: evaluate rules for freshly stored events (cheap when none match).

    One query for the devices of the whole batch and one insert for all its traces, so rules on
    busy event types (space occupancy) cost little per event.
    """
    relevant = [e for e in events if RULES.get(e.type)]
    if not relevant:
        return
    devices = DEVICES.get({e.device_id for e in relevant})
    runs: list[RuleRun] = []
    for event in relevant:
        runs += evaluate(event, device=devices[event.device_id], save=False)
    RuleRun.objects.bulk_create(runs)


# A rule's run is owed for every stored event: evaluated in the same transaction, or a crash
# between commit and evaluation would lose it.
evaluate_stored.atomic_with_store = lambda batch: any(RULES.get(m.type) for m in batch)  # type: ignore[attr-defined]


def _pending(rule: Rule, subject: str):
    return RuleTimer.objects.filter(Q(subject=subject) | Q(subject__startswith=f"{subject}#"), rule=rule)


def _counted(rule: Rule, definition: RuleDefinition, subject: str, now: dt.datetime) -> bool:
    """Record one more hit; True when this hit makes `times` within `within_s` (since the last firing)."""
    assert definition.count is not None
    since = now - dt.timedelta(seconds=definition.count.within_s)
    last_fired = (RuleRun.objects.filter(rule=rule, subject=subject, outcome="fired", at__gte=since)
                  .aggregate(at=Max("at"))["at"])
    hits = RuleRun.objects.filter(rule=rule, subject=subject, outcome="counted", at__gte=last_fired or since)
    return hits.count() + 1 >= definition.count.times


def _arm(rule: Rule, definition: RuleDefinition, device: Device, event: Event, now: dt.datetime) -> str:
    pending = list(_pending(rule, device.code).order_by("fire_at"))
    fire_at = now + dt.timedelta(seconds=definition.hold_s)
    context = {"device_id": device.pk}
    if not pending or rule.mode == RunMode.RESTART:
        RuleTimer.objects.update_or_create(rule=rule, subject=device.code,
                                           defaults={"armed_at": now, "fire_at": fire_at, "event": event,
                                                     "context": context})
        return "armed" if not pending else "rearmed"
    if rule.mode == RunMode.SINGLE or len(pending) >= MAX_PENDING:
        return "skipped"
    if rule.mode == RunMode.QUEUED:  # runs one after the other, in the order they were triggered
        fire_at = max(fire_at, pending[-1].fire_at + dt.timedelta(milliseconds=1))
    RuleTimer.objects.create(rule=rule, subject=f"{device.code}#{event.pk}", armed_at=now, fire_at=fire_at,
                             event=event, context=context)
    return "armed"


def evaluate(event: Event, *, now: dt.datetime | None = None, device: Device | None = None,
             save: bool = True) -> list[RuleRun]:
    """Run every matching rule for `event`; arm, disarm or fire. Inside the caller's transaction."""
    now = now or timezone.now()
    device = device or Device.objects.select_related("device_type").get(pk=event.device_id)
    runs = []
    for rule, definition in rules_for(event, device):
        passed, results = check(definition, event, device)
        outcome, done = "conditions_failed", []
        if passed and definition.window and not definition.window.contains(timezone.localtime(event.at)):
            outcome = "outside_window"
        elif not passed:
            # Only rules that wait can have something to disarm: no query for the others.
            if definition.hold_s and _pending(rule, device.code).delete()[0]:
                outcome = "disarmed"
        elif definition.count is not None:
            if _counted(rule, definition, device.code, now):
                done, outcome = actions.run(rule, definition, device, actions.Cause(event.pk, event.evidence)), "fired"
            else:
                outcome = "counted"
        elif definition.hold_s == 0:
            done, outcome = actions.run(rule, definition, device, actions.Cause(event.pk, event.evidence)), "fired"
        else:
            outcome = _arm(rule, definition, device, event, now)
        if outcome not in QUIET or _sample(rule.pk, device.code, outcome):
            runs.append(RuleRun(compound_id=event.compound_id, rule=rule, at=now, event=event,
                                subject=device.code, outcome=outcome, conditions=results, actions=done))
    if save:
        RuleRun.objects.bulk_create(runs)
    return runs


def fire_due(now: dt.datetime | None = None) -> list[RuleRun]:
    """Fire every timer whose hold time has passed (run by the worker loop; safe to repeat)."""
    now = now or timezone.now()
    runs = []
    with transaction.atomic():
        due = list(RuleTimer.objects.select_for_update(skip_locked=True).select_related("rule")
                   .filter(fire_at__lte=now).order_by("fire_at"))
        for timer in due:
            device = Device.objects.select_related("device_type").get(pk=timer.context["device_id"])
            definition = RuleDefinition.model_validate(timer.rule.definition)
            done = actions.run(timer.rule, definition, device, actions.Cause(timer.event_id))
            runs.append(RuleRun(compound_id=device.compound_id, rule=timer.rule, at=now, event_id=timer.event_id,
                                subject=device.code, outcome="fired", actions=done))
            timer.delete()
        RuleRun.objects.bulk_create(runs)
    return runs
