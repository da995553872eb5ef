"""`linli gateway --workers N`: a small supervisor over N gateway processes.

Kept free of Django imports at module level: workers are spawned, and a spawned process
imports this module before it has set Django up.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any

log = logging.getLogger("linli.gateway")


def supervise(host: str, port: int, workers: int, *, edge: bool = False) -> None:
    """Start the workers, restart one that dies, stop them all on SIGTERM/SIGINT.

    With `edge`, one more process serves the HTTP port alone and the `workers` do everything else."""
    import multiprocessing

    from linli.gateway.app import ALL, BUS, EDGE
    from linli.gateway.mqtt import gateway_username

    for index in range(workers):  # each worker needs a broker account of its own: refuse now, not in a loop
        gateway_username(worker=index, workers=workers)
    spawn = multiprocessing.get_context("spawn")
    stopping = False
    # (role, index): the edge process is not a worker, so it has no index among them.
    slots = [(BUS if edge else ALL, i) for i in range(workers)] + ([(EDGE, 0)] if edge else [])

    def start(slot: int) -> multiprocessing.process.BaseProcess:
        role, index = slots[slot]
        proc = spawn.Process(target=_worker_main, args=(host, port, index, workers, os.getpid(), role),
                             name=f"linli-gateway-{role}-{index}", daemon=False)
        proc.start()
        return proc

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    procs = [start(i) for i in range(len(slots))]
    while not stopping:
        time.sleep(0.5)
        for i, proc in enumerate(procs):
            if not proc.is_alive() and not stopping:
                log.warning("gateway worker %d exited (%s); restarting it", i, proc.exitcode)
                procs[i] = start(i)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(timeout=30)


def _worker_main(host: str, port: int, worker: int, workers: int, parent_pid: int, role: str = "all") -> None:
    """One worker process (spawned: it sets Django up itself)."""
    exit_with_parent(parent_pid)
    import django

    django.setup()
    from linli.core.runtime import settle_after_startup
    from linli.gateway.app import run_loop, serve

    settle_after_startup()
    run_loop(serve(host, port, worker=worker, workers=workers, reuse_port=True, role=role))


def exit_with_parent(parent_pid: int) -> None:
    """Stop this process (SIGTERM to itself) once `parent_pid` is gone, however it ended."""
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
