"""What every adapter shares: the request it reads, what it returns, its error, and helpers.

Adapters are pure: they read bytes and return `Incoming` messages plus evidence files to be
written; the gateway does the I/O (files, database) and the authentication. Every body is
read through `read_json` / `decode_text` here, so a charset, a nesting or a size a device
gets wrong is an `AdapterError` naming it (a dead letter), never garbled text or a crash.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
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
# No device message nests deeper than a few levels; the limit stops a crafted body from
# exhausting the parser's recursion (and PostgreSQL's jsonb depth) long before either.
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 8 * 1024 * 1024  # the gateway's largest body
DEFAULT_CHARSET = "utf-8"
# Labels Chinese devices declare for GBK text, read with GB18030, its superset (as the WHATWG
# Encoding Standard does): Python's own "gb2312" codec refuses the GBK characters such
# devices send under that label.
GBK_LABELS = frozenset({"gb2312", "gb_2312", "gb_2312-80", "csgb2312", "iso-ir-58", "chinese", "gbk", "x-gbk",
                        "cp936"})


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
    route: Mapping[str, str] = field(default_factory=dict)  # the URL's named parts (e.g. the NB-IoT platform)


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


def charset_of(content_type: str) -> str | None:
    """The `charset` parameter of a Content-Type header (lower case, unquoted), if any."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower() or None
    return None


def decode_text(data: bytes, charset: str | None = None, *, what: str = "body", errors: str = "strict") -> str:
    """Bytes as text in the declared charset (UTF-8 when none is declared), or an AdapterError."""
    label = (charset or DEFAULT_CHARSET).strip().lower()
    try:
        text = data.decode("gb18030" if label in GBK_LABELS else label, errors)
    except LookupError as exc:  # unknown, or not a text encoding at all ("base64", "zlib")
        raise AdapterError(f"charset {label[:40]} is unknown") from exc
    except UnicodeDecodeError as exc:
        raise AdapterError(f"{what} is not valid {label[:40].upper()} text") from exc
    return text.removeprefix("\ufeff")  # a byte-order mark some firmware puts before UTF-8 text


def read_json(data: bytes | str, *, charset: str | None = None, what: str = "body",
              max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The one way adapters parse JSON: size, charset and nesting bounded; failures are AdapterErrors."""
    if len(data) > max_bytes:
        raise AdapterError(f"{what} is larger than {max_bytes} bytes")
    text = data if isinstance(data, str) else decode_text(data, charset, what=what)
    try:
        value = json.loads(text)
    except RecursionError:
        raise AdapterError(f"{what} is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise AdapterError(f"{what} is not valid JSON") from exc
    # A short body opening no more brackets than the limit cannot nest deeper (a plate read
    # without pictures: the common case on the barrier's path); others are walked.
    small = len(text) <= _COUNT_BRACKETS_MAX_CHARS and text.count("{") + text.count("[") <= max_depth
    if not small and _nested_deeper(value, max_depth):
        raise AdapterError(f"{what} is nested deeper than {max_depth} levels")
    return value


_CONTAINERS = (dict, list)
_COUNT_BRACKETS_MAX_CHARS = 4096  # counting is cheaper than walking only for short texts


def _nested_deeper(value: Any, limit: int) -> bool:
    # Iterative: a check that recursed would fail on the very bodies it is there to refuse.
    stack = [(value, 1)] if isinstance(value, _CONTAINERS) else []
    push = stack.append
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if type(node) is dict else node:
            if isinstance(child, _CONTAINERS):
                push((child, depth + 1))
    return False


# Some camera firmware sends URL-safe base64 with "." for padding ("-_." for "+/=").
_URL_SAFE = str.maketrans("-_.", "+/=")


def read_base64(value: str, *, what: str) -> bytes:
    """Base64 text as bytes. Line breaks some firmware wraps it with, and the URL-safe alphabet,
    are read too; anything else outside the alphabet is refused, never skipped."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.b64decode("".join(value.split()).translate(_URL_SAFE), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AdapterError(f"{what} is not valid base64") from exc


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
