"""Wake-ups across processes: `announce(name)` inside a transaction reaches every process that
`listen`s for `name` on the same PostgreSQL database when the transaction commits, and never
for one rolled back (NOTIFY travels with the commit).

A gateway split into processes (`linli gateway --edge`) stores a smoke alarm in its HTTP
process while the notification dispatcher runs in another: this is how the dispatcher hears
of it at once rather than at its next poll. On SQLite there is one machine and, by default,
one gateway process: `announce` does nothing there and listeners keep their in-process wake-ups
and their polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from django.db import connection

log = logging.getLogger("linli.core.wakeup")

CHANNEL_PREFIX = "linli_wake_"
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.5, 10.0


def crosses_processes() -> bool:
    return connection.vendor == "postgresql"


def announce(name: str) -> None:
    """Wake the listeners of `name` in every process once the current transaction commits."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL_PREFIX + name])


def _connect_kwargs() -> dict:
    settings = connection.settings_dict
    kwargs = {"dbname": settings["NAME"], "user": settings.get("USER") or None,
              "password": settings.get("PASSWORD") or None, "host": settings.get("HOST") or None,
              "port": str(settings["PORT"]) if settings.get("PORT") else None}
    options = {k: v for k, v in (settings.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
    return {k: v for k, v in {**kwargs, **options}.items() if v is not None}


async def listen(callbacks: dict[str, Callable[[], None]]) -> Callable[[], Awaitable[None]] | None:
    """Call `callbacks[name]` (on this event loop) whenever `name` is announced anywhere; returns
    an async stop, or None where the database cannot carry wake-ups (SQLite).

    After a lost connection every callback is called once on reconnecting: what was announced
    meanwhile was missed, and a callback only wakes a loop that then looks for work itself."""
    if not crosses_processes():
        return None
    import psycopg

    kwargs = _connect_kwargs()
    channels = {CHANNEL_PREFIX + name: callback for name, callback in callbacks.items()}

    async def run() -> None:
        delay = RECONNECT_MIN_S
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(**kwargs, autocommit=True) as conn:
                    for channel in channels:
                        await conn.execute(f'LISTEN "{channel}"')
                    if not first:
                        for callback in channels.values():
                            callback()
                    first, delay = False, RECONNECT_MIN_S
                    async for note in conn.notifies():
                        callback = channels.get(note.channel)
                        if callback is not None:
                            callback()
            except (psycopg.Error, OSError) as exc:
                log.warning("wake-up listener lost its connection (%s); reconnecting", type(exc).__name__)
                first = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    task = asyncio.get_running_loop().create_task(run(), name="linli-wakeup-listener")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
