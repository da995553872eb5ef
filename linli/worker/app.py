"""`linli worker` start-up: import every job, run each on its own period, stop on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

from linli.worker.jobs import JOBS, Job

log = logging.getLogger("linli.worker")


def resolve(job: Job) -> Callable[[], object]:
    """The job's function; a wrong target stops the worker at start, not when it falls due."""
    module, _, name = job.target.partition(":")
    function = getattr(importlib.import_module(module), name, None)
    if not callable(function):
        raise RuntimeError(f"worker job {job.name}: {job.target} is not a function")
    return function


# A worker that starts catches up at once on what fell due while none ran (staggered a little).
FIRST_RUN_AFTER_S = 1.0


async def start_jobs(jobs: Iterable[Job] = JOBS) -> list[Callable[[], Awaitable[None]]]:
    from linli.core.runtime import start_periodic

    works = [(job, resolve(job)) for job in jobs]
    return [await start_periodic(job.name, job.every_s, work, first_after_s=FIRST_RUN_AFTER_S * (i + 1))
            for i, (job, work) in enumerate(works)]


async def serve(jobs: Iterable[Job] = JOBS) -> None:
    stops = await start_jobs(jobs)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    log.info("worker running %d jobs", len(stops))
    print(f"Linli worker: {len(stops)} jobs", flush=True)
    try:
        await stopped.wait()
    finally:
        for stop in stops:
            await stop()


def run_worker() -> None:
    from linli.core.runtime import settle_after_startup

    settle_after_startup()
    asyncio.run(serve())
