"""What every adapter shares: the request it reads, what it returns, its error, and helpers.

Adapters are pure: they read bytes and return `Incoming` messages plus evidence files to be
written; the gateway does the I/O (files, database) and the authentication.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linli.devices.directory import DeviceRef
from linli.events.pipeline import Incoming

# Devices that send local time without an offset are set to the deployment's zone (China).
DEVICE_LOCAL_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
MESSAGE_ID_MAX = 80  # Event.message_id column
MEDIA_EVENTS_DIR = "events"


class AdapterError(Exception):
    """The message cannot be used; `reason` goes to the dead letter and the 4xx answer."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PushRequest:
    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    device: DeviceRef
    received_at: dt.datetime


@dataclass(frozen=True)
class EvidenceFile:
    """A file to write under MEDIA_ROOT before the event referring to it is stored."""

    relpath: str
    data: bytes


@dataclass
class Parsed:
    messages: list[Incoming]
    files: list[EvidenceFile] = field(default_factory=list)
    # Adapter-specific facts the response needs (e.g. the plate read for the gate decision).
    context: dict[str, Any] = field(default_factory=dict)


def evidence_file(data: bytes, *, at: dt.datetime, ext: str) -> tuple[dict[str, str], EvidenceFile]:
    """An evidence reference for an event and the file that backs it (events/YYYY/MM/DD/<uuid>.<ext>)."""
    local = at.astimezone(DEVICE_LOCAL_TZ)
    relpath = f"{MEDIA_EVENTS_DIR}/{local:%Y/%m/%d}/{uuid.uuid4().hex}.{ext}"
    return {"kind": "image", "ref": relpath}, EvidenceFile(relpath, data)


def parse_iso(value: Any, *, field_name: str, naive_tz: dt.tzinfo | None = None) -> dt.datetime:
    """An ISO 8601 time; without an offset it is refused unless `naive_tz` says which zone is meant."""
    if not isinstance(value, str):
        raise AdapterError(f"{field_name}: expected an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise AdapterError(f"{field_name}: not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        if naive_tz is None:
            raise AdapterError(f"{field_name}: time needs a UTC offset")
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed


def from_epoch(seconds: float, *, field_name: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise AdapterError(f"{field_name}: not a valid epoch time") from exc


def stable_id(*parts: Any) -> str:
    """A message id for formats that carry none: the same message always hashes the same."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


def incoming(device: DeviceRef, event_type: str, message_id: str, at: dt.datetime, payload: dict,
             evidence: list[dict] | None = None) -> Incoming:
    return Incoming(device_id=device.id, compound_id=device.compound_id, type=event_type,
                    message_id=message_id[:MESSAGE_ID_MAX], at=at, payload=payload, evidence=evidence or [])


def adapters() -> dict[str, Any]:
    """URL slug → adapter module (imported late: adapters import this module)."""
    from linli.devices.adapters import alarm_info_plate, hik_isapi, linli_json, nbiot_webhook

    return {"linli": linli_json, "alarm-info-plate": alarm_info_plate, "hik": hik_isapi, "nbiot": nbiot_webhook}
