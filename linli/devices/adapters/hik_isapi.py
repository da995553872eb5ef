"""Hikvision ISAPI event push: `EventNotificationAlert` as JSON, XML (with or without the
namespace) or multipart/form-data with the alert part plus JPEG pictures.

Text is read in the charset the header declares, else the one the XML declaration names
(GB2312 is common), else UTF-8. `READINGS` says how each `eventType` becomes a Linli event and
what tells two alerts of the same second apart; a picture part that is cut off or no picture
is flagged on the event, never a reason to lose it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from email.utils import collapse_rfc2231_value
from typing import Any

from linli.devices.adapters.base import (
    DEVICE_LOCAL_TZ,
    AdapterError,
    Parsed,
    PushRequest,
    charset_of,
    decode_text,
    incoming,
    parse_iso,
    read_json,
    stable_id,
)
from linli.devices.adapters.pictures import picture_evidence
from linli.devices.models import Protocol
from linli.events import types
from linli.events.pipeline import Stored

PROTOCOL = Protocol.HIK_ISAPI
ROOT = "EventNotificationAlert"
# Access-controller minor codes for a granted pass (card, fingerprint, face); others are refusals.
ACCESS_GRANTED_MINORS = frozenset({1, 38, 75})
VERIFY_METHODS = (("face", "face"), ("fp", "fingerprint"), ("finger", "fingerprint"), ("card", "card"),
                  ("qr", "qr"))
DOCTYPE = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
# `<?xml version="1.0" encoding="GB2312"?>`: read before the text, since the text depends on it.
XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
MAX_XML_DEPTH = 32  # alerts nest a few levels; the bound keeps a crafted body from exhausting recursion
PICTURE_FIELD_MAX = 40


def parse(request: PushRequest) -> Parsed:
    content_type = request.headers.get("Content-Type", "")
    pictures: list[tuple[str, bytes]] = []
    if content_type.lower().startswith("multipart/"):
        alert, pictures = _multipart(request.body, content_type)
    else:
        alert = _alert(request.body, charset_of(content_type))
    return _to_events(request, alert, pictures)


def _multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    if not message.is_multipart():
        raise AdapterError("multipart body without parts")
    alert, pictures = None, []
    for part in message.iter_parts():
        data = part.get_payload(decode=True) or b""
        kind = part.get_content_type()
        if kind.startswith("image/"):
            name = collapse_rfc2231_value(part.get_param("name", "picture", header="content-disposition"))
            pictures.append((name[:PICTURE_FIELD_MAX] or "picture", data))
        elif alert is None and (kind in ("application/xml", "text/xml", "application/json", "text/plain")):
            alert = _alert(data, part.get_content_charset(), what=f"{ROOT} part")
    if alert is None:
        raise AdapterError("multipart body has no EventNotificationAlert part")
    return alert, pictures


def _alert(data: bytes, charset: str | None, *, what: str = "body") -> dict[str, Any]:
    # The charset the HTTP header declares wins over the XML declaration's (RFC 7303).
    if charset is None and (declared := XML_ENCODING.match(data)):
        charset = declared.group(1).decode("ascii")
    text = decode_text(data, charset, what=what).strip()
    if text.startswith("{"):
        body = read_json(text, what=what)
        alert = body.get(ROOT, body) if isinstance(body, dict) else None
        if not isinstance(alert, dict):
            raise AdapterError("EventNotificationAlert: expected a JSON object")
        return alert
    if text.startswith("<"):
        # Entities are how XML bombs and external fetches get in; alerts never use them.
        if DOCTYPE.search(text):
            raise AdapterError("XML with a DOCTYPE or entities is refused")
        try:
            root = ET.fromstring(text)  # noqa: S314 — DOCTYPE/ENTITY refused above
        except ET.ParseError as exc:
            raise AdapterError(f"{what} is not well-formed XML") from exc
        if _local(root.tag) != ROOT:
            raise AdapterError(f"XML root is not {ROOT}")
        return _element_dict(root, what=what)
    raise AdapterError(f"{what} is neither JSON nor XML")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # with or without the Hikvision namespace


def _element_dict(element: ET.Element, *, what: str, depth: int = 1) -> dict[str, Any]:
    if depth > MAX_XML_DEPTH:
        raise AdapterError(f"{what} is nested deeper than {MAX_XML_DEPTH} levels")
    out: dict[str, Any] = {}
    for child in element:
        out[_local(child.tag)] = (_element_dict(child, what=what, depth=depth + 1) if len(child)
                                  else (child.text or "").strip())
    return out


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _section(alert: dict[str, Any], name: str) -> dict[str, Any]:
    section = alert.get(name)
    if not isinstance(section, dict):
        raise AdapterError(f"{name}: missing")
    return section


def _anpr(alert: dict[str, Any], state: str) -> dict[str, Any]:
    anpr = alert.get("ANPR") if isinstance(alert.get("ANPR"), dict) else {}
    plate = anpr.get("licensePlate")
    if not plate:
        raise AdapterError("ANPR.licensePlate: missing")
    return {"plate": plate, "colour": str(anpr.get("plateColor") or "unknown"),
            "confidence": _int(anpr.get("confidenceLevel")), "direction": anpr.get("direction"),
            "plate_id": None, "offline": False}


def _access(alert: dict[str, Any], state: str) -> dict[str, Any]:
    access = _section(alert, "AccessControllerEvent")
    verify = str(access.get("currentVerifyMode") or "").lower()
    method = next((m for needle, m in VERIFY_METHODS if needle in verify), "card")
    # JSON pushes name the codes majorEventType/subEventType, XML ones major/minor.
    minor = _int(access.get("subEventType", access.get("minor")))
    return {"method": method, "granted": minor in ACCESS_GRANTED_MINORS,
            "credential_ref": str(access.get("employeeNoString") or access.get("cardNo") or ""),
            "major": _int(access.get("majorEventType", access.get("major"))), "minor": minor}


def _intrusion(rule: str) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    def read(alert: dict[str, Any], state: str) -> dict[str, Any]:
        return {"rule": rule, "state": "inactive" if state == "inactive" else "active"}

    return read


def _nothing(alert: dict[str, Any], state: str) -> dict[str, Any]:
    return {}


def _plate_read_apart(alert: dict[str, Any]) -> tuple:
    anpr = alert.get("ANPR")
    return (anpr.get("licensePlate"),) if isinstance(anpr, dict) else ()


def _access_apart(alert: dict[str, Any]) -> tuple:
    # The controller numbers its events (serialNo); older firmware sends none, the card or person then.
    access = alert.get("AccessControllerEvent")
    if not isinstance(access, dict):
        return ()
    return (access.get("serialNo", ""), access.get("employeeNoString") or access.get("cardNo") or "")


def _no_more(alert: dict[str, Any]) -> tuple:
    return ()


@dataclass(frozen=True)
class AlertReading:
    """How one ISAPI `eventType` becomes a Linli event."""

    event_type: str
    payload: Callable[[dict[str, Any], str], dict[str, Any]]
    # What tells two alerts of the same second, channel and post count apart (two cars, two people).
    apart: Callable[[dict[str, Any]], tuple] = _no_more


# Keyed by eventType in lower case. ISAPI's "am I alive" messages: videoloss with state inactive
# is the classic heartbeat.
READINGS = {
    "anpr": AlertReading(types.PLATE_READ, _anpr, _plate_read_apart),
    "accesscontrollerevent": AlertReading(types.DOOR_ACCESS, _access, _access_apart),
    "linedetection": AlertReading(types.INTRUSION, _intrusion("line_crossing")),
    "fielddetection": AlertReading(types.INTRUSION, _intrusion("field")),
    "videoloss": AlertReading(types.HEARTBEAT, _nothing),
    "heartbeat": AlertReading(types.HEARTBEAT, _nothing),
}


def _to_events(request: PushRequest, alert: dict[str, Any], pictures: list[tuple[str, bytes]]) -> Parsed:
    event_type = str(alert.get("eventType") or "").strip()
    if not event_type:
        raise AdapterError("eventType: missing")
    reading = READINGS.get(event_type.lower())
    if reading is None:
        raise AdapterError(f"unsupported eventType {event_type[:40]}")
    at = parse_iso(alert.get("dateTime"), field_name="dateTime", naive_tz=DEVICE_LOCAL_TZ)
    state = str(alert.get("eventState") or "active").strip().lower()
    payload = reading.payload(alert, state)
    # ISAPI alerts carry no message id: the same alert resent hashes the same.
    message_id = "isapi:" + stable_id(alert.get("dateTime"), event_type, alert.get("channelID", ""),
                                      alert.get("activePostCount", ""), *reading.apart(alert))
    evidence, files = [], []
    for field, data in pictures:
        entry, file = picture_evidence(data, at=at, field=field)
        evidence.append(entry)
        if file is not None:
            files.append(file)
    return Parsed([incoming(request.device, reading.event_type, message_id, at, payload, evidence)], files)


def respond(parsed: Parsed, stored: list[Stored]) -> tuple[int, dict]:
    return 200, {"stored": sum(1 for s in stored if not s.duplicate), "duplicates": sum(s.duplicate for s in stored)}
