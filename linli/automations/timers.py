"""The loop that fires durable rule timers once their hold time has passed (runs in the gateway)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from linli.automations.engine import fire_due
from linli.core.context import ChangeContext, change_context
from linli.core.runtime import start_periodic

TICK_S = 1.0


def _tick() -> None:
    with change_context(ChangeContext(source="automation", actor="rule-timers")):
        fire_due()


async def start_timer_loop(context: Any, every_s: float = TICK_S) -> Callable[[], Awaitable[None]]:
    return await start_periodic("rule-timers", every_s, _tick)
