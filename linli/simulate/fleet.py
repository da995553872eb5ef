"""The simulated fleet: registered devices plus the secrets the simulator holds for them.

Device credentials are stored hashed, so nobody can read them back from the database. Whoever
sets up simulated devices (the demo loader, a benchmark, `linli simulate --provision`) issues
them through the device services and keeps the clear secrets in a 0600 file in the data dir,
where the simulator finds them.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linli.config import data_dir

SECRETS_FILE = "simulated_device_secrets.json"
NBIOT_PLATFORM = "ctwing"  # the operator platform simulated NB-IoT devices report through
NBIOT_PRODUCT = "linli-sim"  # their platform product id; the gateway reads only configured products


@dataclass(frozen=True)
class SimDevice:
    id: int
    code: str
    name: str
    compound_id: int
    type_code: str
    kind: str
    protocol: str
    serial: str
    heartbeat_s: int
    token: str | None
    mqtt_password: str | None


def secrets_path() -> Path:
    return data_dir() / SECRETS_FILE


def read_secrets(path: Path | None = None) -> dict[str, dict[str, str]]:
    path = path or secrets_path()
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def write_secrets(secrets: dict[str, dict[str, str]], path: Path | None = None) -> None:
    """Merge into the file, written beside and renamed, readable by its owner only."""
    path = path or secrets_path()
    merged = {**read_secrets(path), **secrets}
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(merged, fh, ensure_ascii=False, indent=0, sort_keys=True)
    os.replace(tmp, path)


def speaks_mqtt(protocol: str) -> bool:
    """Linli's own devices speak the MQTT contract; Linli-JSON ones may push over HTTP instead."""
    from linli.devices.models import Protocol

    return protocol in (Protocol.LINLI_MQTT, Protocol.LINLI_JSON)


def provision(devices: Iterable[Any], *, actor: Any, path: Path | None = None) -> int:
    """Activate `devices` and issue them fresh credentials (an HTTP token for every device, an
    MQTT password for Linli's own); keep the secrets for the simulator. Returns how many.

    Issuing revokes a device's previous credential of that kind: only for simulated devices.
    The broker learns new MQTT passwords from `linli mosquitto-config` and a reload.
    """
    from linli.devices import services
    from linli.devices.models import CredentialKind, Lifecycle

    secrets: dict[str, dict[str, str]] = {}
    for device in devices:
        if device.lifecycle != Lifecycle.ACTIVE:
            services.update_device(actor=actor, device=device, lifecycle=Lifecycle.ACTIVE)
        entry = {"token": services.issue_credential(actor=actor, device=device, kind=CredentialKind.HTTP_TOKEN)}
        if speaks_mqtt(device.device_type.protocol):
            entry["mqtt_password"] = services.issue_credential(actor=actor, device=device,
                                                               kind=CredentialKind.MQTT_PASSWORD)
        secrets[device.code] = entry
    write_secrets(secrets, path)
    return len(secrets)


def parse_patterns(only: str | None) -> list[str]:
    return [p.strip() for p in (only or "").split(",") if p.strip()]


def matches(patterns: list[str], *values: str) -> bool:
    """Any pattern matching any of the values (no patterns: everything), and no `!pattern` matching."""
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]

    def hit(ps: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(v, p) for p in ps for v in values)

    return (not include or hit(include)) and not hit(exclude)


def load_fleet(only: str | None = None, *, path: Path | None = None) -> tuple[list[SimDevice], int]:
    """(devices the simulator can drive, how many others it has no secrets for).

    `only`: comma-separated shell patterns on the device code, type code or kind
    (e.g. `smoke-*,ground_lock`)."""
    from linli.devices.models import Device, Lifecycle

    secrets = read_secrets(path)
    patterns = parse_patterns(only)
    fleet, missing = [], 0
    rows = (Device.objects.exclude(lifecycle=Lifecycle.DISABLED).select_related("device_type").order_by("id"))
    for d in rows:
        entry = secrets.get(d.code)
        t = d.device_type
        device = SimDevice(id=d.pk, code=d.code, name=d.name, compound_id=d.compound_id, type_code=t.code,
                           kind=t.kind, protocol=t.protocol, serial=d.serial, heartbeat_s=t.heartbeat_s,
                           token=(entry or {}).get("token"), mqtt_password=(entry or {}).get("mqtt_password"))
        if not matches(patterns, device.code, device.type_code, device.kind):
            continue
        if entry is None:
            missing += 1
            continue
        fleet.append(device)
    return fleet, missing
