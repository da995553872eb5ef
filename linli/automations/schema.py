"""The rule language, validated on save: a small whitelisted set of operators and actions.

    {"trigger": {"event_type": "safety.smoke_alarm", "device_kind": "smoke_detector"},
     "conditions": [{"field": "payload.state", "op": "eq", "value": "alarm"}],
     "hold_s": 0,
     "actions": [{"do": "raise_alarm", "type": "smoke", "severity": "critical", "title": "烟感报警"}]}
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linli.events import types


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(Strict):
    event_type: str
    device_kind: str | None = None

    @field_validator("event_type")
    @classmethod
    def known_type(cls, value: str) -> str:
        if value not in types.ALL:
            raise ValueError(f"unknown event type {value!r}")
        return value


OPERATORS = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
    "lte": operator.le, "in": lambda a, b: a in b, "contains": lambda a, b: b in a if a is not None else False,
}


class Condition(Strict):
    field: str = Field(pattern=r"^(payload|device)\.[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"]
    value: Any


class RaiseAlarm(Strict):
    do: Literal["raise_alarm"]
    type: str = Field(min_length=1, max_length=40)
    severity: Literal["critical", "major", "minor", "warning", "indeterminate"]
    title: str = Field(min_length=1, max_length=120)


class ClearAlarm(Strict):
    do: Literal["clear_alarm"]
    type: str = Field(min_length=1, max_length=40)


Action = Annotated[RaiseAlarm | ClearAlarm, Field(discriminator="do")]


class RuleDefinition(Strict):
    trigger: Trigger
    conditions: list[Condition] = []
    # "State held for N seconds": armed when the conditions first hold, fired if they still hold
    # (no event broke them) after hold_s; 0 runs the actions at once.
    hold_s: int = Field(0, ge=0, le=7 * 24 * 3600)
    actions: list[Action] = Field(min_length=1)
