"""Drive the real gateway HTTP app (writer, directory, adapters) against the test database."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from linli.devices import services as devices
from linli.devices.directory import DeviceDirectory
from linli.devices.models import CredentialKind, DeviceType
from linli.events.writer import EventWriter
from linli.gateway.http import build_app


@dataclass
class Harness:
    client: TestClient
    directory: DeviceDirectory
    writer: EventWriter


def run_gateway(scenario: Callable[[Harness], Awaitable[Any]]) -> Any:
    """Start writer + directory + app, run `scenario(harness)`, stop everything; returns its result."""

    async def main() -> Any:
        writer = EventWriter()
        await writer.start()
        directory = DeviceDirectory()
        await asyncio.to_thread(directory.load)
        try:
            async with TestClient(TestServer(build_app(writer=writer, directory=directory))) as client:
                return await scenario(Harness(client, directory, writer))
        finally:
            await writer.stop()

    return asyncio.run(main())


@dataclass
class Provisioned:
    device: Any
    token: str


@pytest.fixture
def provision(district):
    """provision(type_code, serial) → an active device in compound A with a fresh HTTP token."""

    def make(type_code: str, serial: str, *, compound=None) -> Provisioned:
        device = devices.register_device(actor=district.admin, compound=compound or district.a.compound,
                                         device_type=DeviceType.objects.get(code=type_code), serial=serial,
                                         name=f"{type_code} {serial}", lifecycle="active")
        token = devices.issue_credential(actor=district.admin, device=device, kind=CredentialKind.HTTP_TOKEN)
        return Provisioned(device, token)

    return make


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    """A vendor sample from `fixtures/` (see its README for where each format is documented)."""
    return (FIXTURES / name).read_bytes()


def tiny_jpeg(size: tuple[int, int] = (16, 12)) -> bytes:
    """A real baseline JPEG (SOI … EOI) any viewer opens."""
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, "JPEG", quality=50)
    return out.getvalue()
