"""Process start-up steps shared by every long-running Linli process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable


def settle_after_startup() -> None:
    """Move everything loaded at start-up into the permanent GC generation.

    Django, ninja and pydantic leave ~1 million objects behind at import; without this,
    each full collection rescans them and stalls a request for ~40 ms (docs/benchmarks.md).
    """
    gc.collect()
    gc.freeze()


def keep_connections() -> None:
    """Database connections that last as long as their thread, in a process whose threads are few
    and fixed (the gateway's lanes and dispatcher): each would otherwise reconnect every
    CONN_MAX_AGE, a fork and a login on the server, and the event that came in meanwhile would
    wait for them. A connection that failed is still replaced (`close_old_connections`)."""
    from django.db import connections

    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = None


GC_PAUSE_WARN_S = 0.05


def watch_gc_pauses(warn_after_s: float = GC_PAUSE_WARN_S) -> Callable[[], None]:
    """Log every garbage collection that holds the interpreter longer than `warn_after_s`;
    returns the call that stops it.

    A full collection runs in whichever thread triggers it and keeps the GIL throughout: in
    the gateway that is a pause of every lane and of the event loop, which is what a
    latency tail of a few hundred milliseconds looks like from outside. Logged, it can be
    told apart from a slow database.
    """
    import time

    log = logging.getLogger("linli.runtime.gc")
    started: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            paused = time.perf_counter() - started[0]
            if paused > warn_after_s:
                log.warning("garbage collection of generation %d held the interpreter %.0f ms (%d collected)",
                            info.get("generation", -1), paused * 1000, info.get("collected", 0))

    gc.callbacks[:] = [c for c in gc.callbacks if getattr(c, "__qualname__", "") != on_gc.__qualname__]
    gc.callbacks.append(on_gc)  # one watcher per process, however often it is started

    def unwatch() -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(on_gc)

    return unwatch


async def start_periodic(name: str, every_s: float, work: Callable[[], None], *,
                         first_after_s: float | None = None) -> Callable[[], Awaitable[None]]:
    """Run the synchronous `work` in a thread every `every_s` seconds until the returned stop is awaited
    (the first time after `first_after_s`, by default one period).

    A failure (a database restart) is logged by type only and the loop goes on; the thread's
    stale connection is dropped before each run.
    """
    from django.db import close_old_connections

    log = logging.getLogger(f"linli.periodic.{name}")

    def run() -> None:
        close_old_connections()
        work()

    async def loop() -> None:
        pause = every_s if first_after_s is None else first_after_s
        while True:
            await asyncio.sleep(pause)
            pause = every_s
            try:
                await asyncio.to_thread(run)
            except Exception as exc:
                log.warning("%s failed: %s", name, type(exc).__name__)

    task = asyncio.get_running_loop().create_task(loop(), name=name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
