"""The loop that fires durable rule timers once their hold time has passed (runs in the gateway)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.db import close_old_connections

from linli.automations.engine import fire_due
from linli.core.context import ChangeContext, change_context

log = logging.getLogger("linli.automations.timers")

TICK_S = 1.0


def _tick() -> None:
    close_old_connections()
    with change_context(ChangeContext(source="automation", actor="rule-timers")):
        fire_due()


async def start_timer_loop(context: Any, every_s: float = TICK_S) -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await asyncio.to_thread(_tick)
            except Exception as exc:  # a database restart must not end the loop; due timers wait
                log.warning("rule timers: %s", type(exc).__name__)

    task = asyncio.get_running_loop().create_task(loop(), name="rule-timers")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
