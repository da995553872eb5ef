"""`linli gateway` start-up, flat and in order: writer, device directory, ingresses, HTTP app.

Other ingresses (MQTT) join through `INGRESSES`: each is an async callable taking the
`GatewayContext` and returning an async stop callable, started after the writer and the
directory are ready and stopped before them.

`--workers N` runs N such processes under a small supervisor: they share the HTTP port
(SO_REUSEPORT, the kernel spreads connections) and split the MQTT load through the shared
subscription, each with its own broker session. Periodic work (health watch, rule timers,
escalation, command sending) runs in worker 0 only, so nothing is done twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from linli.core import hooks, wakeup
from linli.devices.directory import DeviceDirectory
from linli.events.writer import EventWriter
from linli.gateway.http import build_app

log = logging.getLogger("linli.gateway")

DEFAULT_PORT = 8010
PORT_ENV = "LINLI_GATEWAY_PORT"


@dataclass
class GatewayContext:
    writer: EventWriter
    directory: DeviceDirectory
    stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    mqtt: Any = None  # the MQTT ingress when a broker is configured (sends device commands)
    worker: int = 0  # index under `--workers`; 0 also runs the periodic work
    workers: int = 1  # how many there are (the MQTT ingress shares its subscription when more than one)


Ingress = Callable[[GatewayContext], Awaitable[Callable[[], Awaitable[None]]]]
INGRESSES = hooks.declare("gateway.ingresses", "(context: GatewayContext) -> async stop()", """
Extra ingresses and periodic work the gateway starts after its writer and device directory are
ready (in worker 0 only, under --workers), stopped before them. HTTP is built in; MQTT, command
sending, health watch, rule timers, escalation, the purge and the notification dispatcher are
listed in `builtin_ingresses()` and start first.
""")


def builtin_ingresses() -> list[Ingress]:
    from linli.alarms.escalation import start_escalation_watch
    from linli.automations.timers import start_timer_loop
    from linli.devices.commands import start_command_sender
    from linli.devices.watch import start_health_watch
    from linli.events.retention import start_purge_job
    from linli.gateway.mqtt import start_mqtt_ingress  # late: mqtt imports this module
    from linli.notify.dispatcher import start_dispatcher

    # The command sender after MQTT: it publishes through the ingress MQTT set on the context.
    # The device-side periodic work stays here, where a device's event wakes it at once; the
    # business jobs (work-order deadlines, reminders, expiries) run in `linli worker`.
    return [start_mqtt_ingress, start_command_sender, start_health_watch, start_timer_loop, start_escalation_watch,
            start_purge_job, start_dispatcher]


def default_port() -> int:
    return int(os.environ.get(PORT_ENV, DEFAULT_PORT))


def every_worker_ingresses() -> set[Ingress]:
    """Ingresses every worker runs; the others (periodic work) run in worker 0 only."""
    from linli.gateway.mqtt import start_mqtt_ingress

    return {start_mqtt_ingress}


async def start_ingresses(context: GatewayContext) -> None:
    everywhere = every_worker_ingresses()
    for ingress in [*builtin_ingresses(), *INGRESSES]:
        if context.worker and ingress not in everywhere:
            continue
        context.stops.append(await ingress(context))


# What a gateway process does (`--edge` splits them): ALL of it; only the HTTP push ingress
# (cameras, door controllers, operator webhooks), whose answers devices wait on; or the rest
# (MQTT, device commands, periodic work, notification dispatch) without an HTTP port.
ALL, EDGE, BUS = "all", "edge", "bus"


async def start_core(worker: int = 0, workers: int = 1) -> GatewayContext:
    writer = EventWriter()
    await writer.start()
    directory = DeviceDirectory()
    await asyncio.to_thread(directory.load)
    directory.start_polling()
    return GatewayContext(writer=writer, directory=directory, worker=worker, workers=workers)


async def stop_core(context: GatewayContext) -> None:
    for stop in reversed(context.stops):
        try:
            await stop()
        except Exception:
            log.exception("ingress did not stop cleanly")
    await context.directory.stop_polling()
    await context.writer.stop()


async def serve(host: str, port: int, *, worker: int = 0, workers: int = 1, reuse_port: bool = False,
                role: str = ALL) -> None:
    from django.conf import settings

    from linli.core.runtime import keep_connections, watch_gc_pauses

    keep_connections()
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(settings.GATEWAY_SWITCH_INTERVAL_S)
    unwatch_gc = watch_gc_pauses()
    context = await start_core(worker, workers)
    runner = web.AppRunner(build_app(writer=context.writer, directory=context.directory), access_log=None)
    await runner.setup()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    try:
        if role != EDGE:
            await start_ingresses(context)
        if role != BUS:
            await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
            log.info("gateway %s %d listening on %s:%d with %d devices", role, worker, host, port,
                     len(context.directory.by_code))
        if worker == 0 and role != BUS:
            print(f"Linli gateway: http://{host}:{port}/healthz", flush=True)
        await stopped.wait()
    finally:
        await runner.cleanup()
        await stop_core(context)
        unwatch_gc()
        sys.setswitchinterval(switch_interval)


def run_loop(main: Awaitable[None]) -> None:
    """Run the gateway's event loop on uvloop (libuv): less CPU per request and per await than
    asyncio's own loop, in the process whose every await is on a camera's path (docs/dependencies.md)."""
    import uvloop

    uvloop.run(main)


def run_gateway(host: str, port: int, workers: int = 1, *, edge: bool = False) -> None:
    """`edge`: serve HTTP pushes from a process of their own, beside `workers` processes for the
    rest, so a camera's answer never waits on MQTT batches, rules over telemetry or the
    dispatcher for the interpreter. Wake-ups cross the processes by PostgreSQL NOTIFY
    (linli/core/wakeup.py); on SQLite the split would leave them to polls, so it is refused."""
    from linli.core.runtime import settle_after_startup

    if edge and not wakeup.crosses_processes():
        raise SystemExit("linli gateway --edge needs PostgreSQL (DATABASE_URL): on SQLite the processes "
                         "could not wake one another")
    if workers <= 1 and not edge:
        settle_after_startup()
        run_loop(serve(host, port))
        return
    from linli.gateway.supervisor import supervise

    supervise(host, port, workers, edge=edge)
