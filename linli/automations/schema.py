"""The rule language, validated on save: a small whitelisted set of operators and actions.

    {"trigger": {"event_type": "safety.smoke_alarm", "device_kind": "smoke_detector"},
     "conditions": [{"field": "payload.state", "op": "eq", "value": "alarm"}],
     "window": {"start": "22:00", "end": "06:00", "days": [1, 2, 3, 4, 5]},
     "count": {"times": 3, "within_s": 600},
     "hold_s": 0,
     "actions": [{"do": "raise_alarm", "type": "smoke", "severity": "critical", "title": "烟感报警"}]}

Nothing in a definition is code: fields are dotted paths into the event payload or the
device, operators come from OPERATORS, actions from the discriminated union below.
"""

from __future__ import annotations

import datetime as dt
import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linli.events import types


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DEVICE_KINDS = frozenset({
    "lpr_camera", "barrier_gate", "parking_sensor", "ground_lock", "door_controller", "smoke_detector",
    "gas_detector", "water_meter", "door_contact", "elevator_controller", "elevator_ai_camera", "ip_camera",
    "perimeter_sensor", "loudspeaker", "led_display",
})  # kept equal to devices.models.DeviceKind by test_rules.py (the schema must not import models)


def _known_kind(value: str | None) -> str | None:
    if value is not None and value not in DEVICE_KINDS:
        raise ValueError(f"unknown device kind {value!r}")
    return value


class Trigger(Strict):
    event_type: str
    device_kind: str | None = None

    @field_validator("event_type")
    @classmethod
    def known_type(cls, value: str) -> str:
        if value not in types.ALL:
            raise ValueError(f"unknown event type {value!r}")
        return value

    _kind = field_validator("device_kind")(_known_kind)


OPERATORS = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
    "lte": operator.le, "in": lambda a, b: a in b, "contains": lambda a, b: b in a if a is not None else False,
}


class Condition(Strict):
    field: str = Field(pattern=r"^(payload|device)\.[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"]
    value: Any

    @model_validator(mode="after")
    def list_for_in(self) -> Condition:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError("'in' needs a list value")
        return self


class TimeWindow(Strict):
    """Local (Asia/Shanghai) clock window; `end` before `start` runs over midnight."""

    start: dt.time
    end: dt.time
    days: list[Annotated[int, Field(ge=1, le=7)]] = [1, 2, 3, 4, 5, 6, 7]  # ISO weekday of the start

    def contains(self, local: dt.datetime) -> bool:
        t = local.time()
        if self.start <= self.end:
            return local.isoweekday() in self.days and self.start <= t < self.end
        if t >= self.start:
            return local.isoweekday() in self.days
        if t < self.end:  # after midnight: the window opened the day before
            return (local - dt.timedelta(days=1)).isoweekday() in self.days
        return False


class Count(Strict):
    """Fire only when the conditions held `times` times within `within_s` seconds (per device)."""

    times: int = Field(ge=2, le=1000)
    within_s: int = Field(ge=1, le=7 * 24 * 3600)


Severity = Literal["critical", "major", "minor", "warning", "indeterminate"]


class RaiseAlarm(Strict):
    do: Literal["raise_alarm"]
    type: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    severity: Severity
    title: str = Field(min_length=1, max_length=120)
    # Someone must be on site within this many minutes (entrapment: 30); overdue escalates.
    deadline_minutes: int | None = Field(None, ge=1, le=24 * 60)
    # Attach the latest snapshot of the nearest camera (fence climbing) as evidence.
    snapshot_from_nearest_camera: bool = False


class ClearAlarm(Strict):
    do: Literal["clear_alarm"]
    type: str = Field(min_length=1, max_length=40)


class Target(Strict):
    """Which device receives a command, found from the triggering device."""

    kind: str | None = None  # None: the triggering device itself
    near: Literal["self", "same_unit", "same_building", "nearest", "compound"] = "self"

    _kind = field_validator("kind")(_known_kind)

    @model_validator(mode="after")
    def kind_unless_self(self) -> Target:
        if (self.near == "self") != (self.kind is None):
            raise ValueError("give a device kind unless the target is the device itself (near='self')")
        return self


class Command(Strict):
    do: Literal["command"]
    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    params: dict[str, Any] = {}
    target: Target = Target()
    ttl_s: int = Field(60, ge=1, le=24 * 3600)


ROLES = ("property_manager", "guard", "technician", "customer_service", "community_officer", "street_officer",
         "grid_worker")


class Notify(Strict):
    do: Literal["notify"]
    roles: list[Literal[ROLES]] = []  # type: ignore[valid-type]
    # Residents of the triggering device's building, unit's building, or whole compound.
    residents: Literal["building", "compound"] | None = None
    title: str = Field(min_length=1, max_length=120)
    body: str = Field("", max_length=500)
    severity: Literal["critical", "major", "minor", "warning", "info"] = "info"

    @model_validator(mode="after")
    def someone(self) -> Notify:
        if not self.roles and self.residents is None:
            raise ValueError("notify needs roles or residents")
        return self


class WorkOrder(Strict):
    do: Literal["work_order"]
    category: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=120)
    deadline_minutes: int | None = Field(None, ge=1, le=30 * 24 * 60)


Action = Annotated[RaiseAlarm | ClearAlarm | Command | Notify | WorkOrder, Field(discriminator="do")]


class RuleDefinition(Strict):
    trigger: Trigger
    conditions: list[Condition] = []
    window: TimeWindow | None = None
    count: Count | None = None
    # "State held for N seconds": armed when the conditions first hold, fired if they still hold
    # (no event broke them) after hold_s; 0 runs the actions at once.
    hold_s: int = Field(0, ge=0, le=7 * 24 * 3600)
    actions: list[Action] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def count_or_hold(self) -> RuleDefinition:
        if self.count is not None and self.hold_s:
            raise ValueError("a rule counts repeats or waits for a held state, not both")
        return self
