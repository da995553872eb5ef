"""The gateway's in-memory device directory: who a token, a code or a serial belongs to.

Loaded at start-up and reloaded when a cheap fingerprint of the registry changes, so the
request path never queries the registry and a disabled device or revoked token stops
working within one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from django.db import close_old_connections
from django.db.models import Count, Max, Q

from linli.devices.credentials import token_digest
from linli.devices.models import CredentialKind, Device, DeviceCredential, Lifecycle

log = logging.getLogger("linli.devices.directory")

POLL_INTERVAL_S = 1.5


@dataclass(frozen=True)
class DeviceRef:
    id: int
    code: str
    compound_id: int
    type_code: str
    kind: str
    protocol: str
    life_safety: bool
    lifecycle: str
    serial: str


def registry_fingerprint() -> tuple:
    """Changes whenever a device is added, removed, enabled or disabled, or a credential issued or revoked.

    Device has no `updated` column; counts per lifecycle plus max ids catch every change the
    gateway cares about (placement edits do not affect authentication).
    """
    devices = Device.objects.aggregate(
        n=Count("id"), top=Max("id"),
        active=Count("id", filter=Q(lifecycle=Lifecycle.ACTIVE)),
        disabled=Count("id", filter=Q(lifecycle=Lifecycle.DISABLED)))
    creds = DeviceCredential.objects.aggregate(
        n=Count("id"), top=Max("id"), revoked=Count("id", filter=Q(revoked_at__isnull=False)))
    return tuple(devices.values()) + tuple(creds.values())


class DeviceDirectory:
    def __init__(self) -> None:
        self.by_code: dict[str, DeviceRef] = {}
        self.by_token_digest: dict[str, DeviceRef] = {}
        self.by_type_serial: dict[tuple[str, str], DeviceRef] = {}  # (type code, serial): unique in the registry
        # (protocol, serial): NB-IoT platforms name a device only by IMEI, whatever its type.
        self.by_serial: dict[tuple[str, str], DeviceRef] = {}
        self.fingerprint: tuple | None = None
        self._task: asyncio.Task | None = None

    # --- lookups (request path, no I/O) ---
    def device_for_token(self, token: str) -> DeviceRef | None:
        return self.by_token_digest.get(token_digest(token)) if token else None

    def device_for_code(self, code: str) -> DeviceRef | None:
        return self.by_code.get(code)

    def device_for_serial(self, protocol: str, serial: str) -> DeviceRef | None:
        return self.by_serial.get((protocol, serial))

    def device_for_type_serial(self, type_code: str, serial: str) -> DeviceRef | None:
        return self.by_type_serial.get((type_code, serial))

    # --- loading (synchronous: call from a thread in async code) ---
    def load(self) -> None:
        fingerprint = registry_fingerprint()
        refs = {}
        for d in (Device.objects.exclude(lifecycle=Lifecycle.DISABLED)
                  .select_related("device_type").only("id", "code", "compound_id", "serial", "lifecycle",
                                                      "device_type__code", "device_type__kind",
                                                      "device_type__protocol", "device_type__life_safety")):
            t = d.device_type
            refs[d.pk] = DeviceRef(id=d.pk, code=d.code, compound_id=d.compound_id, type_code=t.code, kind=t.kind,
                                   protocol=t.protocol, life_safety=t.life_safety, lifecycle=d.lifecycle,
                                   serial=d.serial)
        tokens = {}
        for device_id, digest in DeviceCredential.objects.filter(
                kind=CredentialKind.HTTP_TOKEN, revoked_at__isnull=True).values_list("device_id", "secret_hash"):
            if device_id in refs:
                tokens[digest] = refs[device_id]
        # Swap whole maps at once: readers on the event loop never see a half-built directory.
        self.by_code = {r.code: r for r in refs.values()}
        self.by_type_serial = {(r.type_code, r.serial): r for r in refs.values()}
        self.by_serial = {(r.protocol, r.serial): r for r in refs.values()}
        self.by_token_digest = tokens
        self.fingerprint = fingerprint

    def refresh_if_changed(self) -> bool:
        close_old_connections()
        if registry_fingerprint() == self.fingerprint:
            return False
        self.load()
        return True

    # --- keeping fresh ---
    def start_polling(self, interval_s: float = POLL_INTERVAL_S) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll(interval_s), name="device-directory")

    async def stop_polling(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _poll(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                if await asyncio.to_thread(self.refresh_if_changed):
                    log.info("device directory reloaded: %d devices", len(self.by_code))
            except Exception as exc:  # database briefly away: keep serving from the last good copy
                log.warning("device directory refresh failed: %s", type(exc).__name__)
