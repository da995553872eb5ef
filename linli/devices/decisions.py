"""In-request decisions a device waits for (a barrier gate's answer to a plate read).

Deciders are synchronous and in-memory: the camera's response time is the gate's opening
time, so nothing here may touch the database. The parking domain registers its deciders in
`GATE_DECIDERS`; the first one that answers (returns a decision, not None) wins.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from linli.core import hooks

log = logging.getLogger("linli.devices.decisions")

# Shown on the lane's LED board / spoken when nobody decided to open: ask the guard.
DEFAULT_REFUSAL_TEXT = "请联系门岗"


@dataclass(frozen=True)
class GateQuery:
    device_id: int
    device_code: str
    compound_id: int
    plate: str
    colour: str
    direction: int | None
    at: dt.datetime
    offline: bool


@dataclass(frozen=True)
class GateDecision:
    open: bool
    # Text for the lane's LED/voice board; encoded GBK and base64 for AlarmInfoPlate serialData.
    display_text: str = ""
    # Ready-made board frames (vendor LED protocols wrap the text); sent as they are when given.
    serial_frames: list[bytes] = field(default_factory=list)


GATE_DECIDERS = hooks.declare("devices.gate_deciders", "(query: GateQuery) -> GateDecision | None", """
Asked in order while a barrier camera waits for its answer to a plate read; the first that
answers (not None) decides. Synchronous and in memory: nothing may touch the database. A
decider that raises is logged and skipped. With none answering, the barrier stays down and the
board says 请联系门岗 (ask the guard).
""")

DEFAULT_DECISION = GateDecision(open=False, display_text=DEFAULT_REFUSAL_TEXT)


def decide_gate(query: GateQuery) -> GateDecision:
    for decider in GATE_DECIDERS:
        try:
            decision = decider(query)
        except Exception:  # a broken decider keeps the barrier down, never the camera waiting
            log.exception("gate decider %r failed", decider)
            continue
        if decision is not None:
            return decision
    return DEFAULT_DECISION
