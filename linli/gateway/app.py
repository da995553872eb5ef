"""`linli gateway` start-up, flat and in order: writer, device directory, ingresses, HTTP app.

Other ingresses (MQTT) join through `INGRESSES`: each is an async callable taking the
`GatewayContext` and returning an async stop callable, started after the writer and the
directory are ready and stopped before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

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


Ingress = Callable[[GatewayContext], Awaitable[Callable[[], Awaitable[None]]]]
# Extra ingresses register here; HTTP is built in and MQTT is added by `builtin_ingresses()`.
INGRESSES: list[Ingress] = []


def builtin_ingresses() -> list[Ingress]:
    from linli.automations.timers import start_timer_loop
    from linli.devices.watch import start_health_watch
    from linli.gateway.mqtt import start_mqtt_ingress  # late: mqtt imports this module

    return [start_mqtt_ingress, start_health_watch, start_timer_loop]


def default_port() -> int:
    return int(os.environ.get(PORT_ENV, DEFAULT_PORT))


async def start_ingresses(context: GatewayContext) -> None:
    for ingress in [*builtin_ingresses(), *INGRESSES]:
        context.stops.append(await ingress(context))


async def start_core() -> GatewayContext:
    writer = EventWriter()
    await writer.start()
    directory = DeviceDirectory()
    await asyncio.to_thread(directory.load)
    directory.start_polling()
    return GatewayContext(writer=writer, directory=directory)


async def stop_core(context: GatewayContext) -> None:
    for stop in reversed(context.stops):
        try:
            await stop()
        except Exception:
            log.exception("ingress did not stop cleanly")
    await context.directory.stop_polling()
    await context.writer.stop()


async def serve(host: str, port: int) -> None:
    context = await start_core()
    runner = web.AppRunner(build_app(writer=context.writer, directory=context.directory), access_log=None)
    await runner.setup()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    try:
        await start_ingresses(context)
        await web.TCPSite(runner, host, port).start()
        log.info("gateway listening on %s:%d with %d devices", host, port, len(context.directory.by_code))
        print(f"Linli gateway: http://{host}:{port}/healthz", flush=True)
        await stopped.wait()
    finally:
        await runner.cleanup()
        await stop_core(context)


def run_gateway(host: str, port: int) -> None:
    from linli.core.runtime import settle_after_startup

    settle_after_startup()
    asyncio.run(serve(host, port))
