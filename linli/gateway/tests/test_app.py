"""Gateway start-up: the whole process serves, keeps its directory fresh, and runs extra ingresses."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import aiohttp
import pytest

from linli.devices import services as devices
from linli.gateway import app
from linli.gateway.mqtt import HOST_ENV

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_gateway_process_serves_healthz_and_pushes_until_stopped(provision, monkeypatch):
    monkeypatch.delenv(HOST_ENV, raising=False)  # HTTP only: no broker here
    cam = provision("perimeter-linli", "PER-APP")
    port = _free_port()

    async def main():
        server = asyncio.create_task(app.serve("127.0.0.1", port))
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(100):
                    with contextlib.suppress(aiohttp.ClientConnectionError):
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                            health_body = await health.json()
                            break
                    await asyncio.sleep(0.05)
                async with session.post(f"http://127.0.0.1:{port}/push/linli/{cam.device.code}",
                                        headers={"Authorization": f"Bearer {cam.token}"},
                                        json={"message_id": "p-1", "type": "safety.intrusion",
                                              "at": "2026-03-01T02:00:00+08:00",
                                              "payload": {"rule": "fence_climb", "state": "active"}}) as push:
                    return health_body, push.status
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server

    health, status = asyncio.run(main())
    assert health["ok"] is True and status == 200
    assert cam.device.events.get().payload["rule"] == "fence_climb"


def test_extra_ingresses_start_after_the_directory_and_stop_first(provision, monkeypatch):
    monkeypatch.delenv(HOST_ENV, raising=False)
    provision("perimeter-linli", "PER-ING")
    calls = []

    async def fake_ingress(context):
        calls.append(("start", len(context.directory.by_code)))

        async def stop():
            calls.append(("stop", context.writer is not None))

        return stop

    monkeypatch.setattr(app, "INGRESSES", [fake_ingress])

    async def main():
        context = await app.start_core()
        await app.start_ingresses(context)
        await app.stop_core(context)

    asyncio.run(main())
    assert calls[0][0] == "start" and calls[0][1] >= 1 and calls[1] == ("stop", True)


def test_the_directory_poller_drops_a_disabled_device_within_its_interval(provision, district):
    cam = provision("perimeter-linli", "PER-POLL")

    async def main():
        context = await app.start_core()
        context.directory._task.cancel()
        context.directory.start_polling(interval_s=0.05)
        try:
            known_before = context.directory.device_for_token(cam.token) is not None
            await asyncio.to_thread(devices.update_device, actor=district.admin, device=cam.device,
                                    lifecycle="disabled")
            for _ in range(100):
                if context.directory.device_for_token(cam.token) is None:
                    return known_before, True
                await asyncio.sleep(0.05)
            return known_before, False
        finally:
            await app.stop_core(context)

    assert asyncio.run(main()) == (True, True)


def test_the_gateway_port_comes_from_the_environment(monkeypatch):
    from linli.cli import build_parser

    monkeypatch.setenv("LINLI_GATEWAY_PORT", "9123")
    assert build_parser().parse_args(["gateway"]).gateway_port == 9123
    assert build_parser().parse_args(["gateway", "--port", "8011"]).gateway_port == 8011
    assert build_parser().parse_args(["run"]).gateway_port == 9123


def test_the_directory_finds_devices_by_code_token_and_serial(provision):
    from linli.devices.directory import DeviceDirectory

    smoke = provision("smoke-nbiot", "869975030000001")
    directory = DeviceDirectory()
    directory.load()
    ref = directory.device_for_token(smoke.token)
    assert ref is not None and ref.id == smoke.device.pk and ref.life_safety and ref.kind == "smoke_detector"
    assert directory.device_for_code(smoke.device.code) == ref
    assert directory.device_for_serial("nbiot_webhook", "869975030000001") == ref
    assert directory.device_for_type_serial("smoke-nbiot", "869975030000001") == ref
    assert directory.device_for_token("") is None and directory.device_for_token("x") is None
