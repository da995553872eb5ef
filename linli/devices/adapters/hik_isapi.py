"""Hikvision ISAPI event push: `EventNotificationAlert` as JSON, XML (with or without the
namespace) or multipart/form-data with the alert part plus JPEG pictures."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from linli.devices.adapters.base import (
    DEVICE_LOCAL_TZ,
    AdapterError,
    Parsed,
    PushRequest,
    evidence_file,
    incoming,
    parse_iso,
    stable_id,
)
from linli.devices.models import Protocol
from linli.events import types
from linli.events.pipeline import Stored

PROTOCOL = Protocol.HIK_ISAPI
ROOT = "EventNotificationAlert"
# ISAPI's "am I alive" messages: videoloss with state inactive is the classic heartbeat.
HEARTBEAT_EVENTS = frozenset({"videoloss", "heartbeat"})
INTRUSION_RULES = {"linedetection": "line_crossing", "fielddetection": "field"}
# Access-controller minor codes for a granted pass (card, fingerprint, face); others are refusals.
ACCESS_GRANTED_MINORS = frozenset({1, 38, 75})
VERIFY_METHODS = (("face", "face"), ("fp", "fingerprint"), ("finger", "fingerprint"), ("card", "card"),
                  ("qr", "qr"))
DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def parse(request: PushRequest) -> Parsed:
    content_type = request.headers.get("Content-Type", "")
    pictures: list[bytes] = []
    if content_type.lower().startswith("multipart/"):
        alert, pictures = _multipart(request.body, content_type)
    else:
        alert = _alert(request.body)
    return _to_events(request, alert, pictures)


def _multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], list[bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    if not message.is_multipart():
        raise AdapterError("multipart body without parts")
    alert, pictures = None, []
    for part in message.iter_parts():
        data = part.get_payload(decode=True) or b""
        kind = part.get_content_type()
        if kind.startswith("image/"):
            pictures.append(data)
        elif alert is None and (kind in ("application/xml", "text/xml", "application/json", "text/plain")):
            alert = _alert(data)
    if alert is None:
        raise AdapterError("multipart body has no EventNotificationAlert part")
    return alert, pictures


def _alert(data: bytes) -> dict[str, Any]:
    text = data.strip()
    if text.startswith(b"{"):
        try:
            body = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AdapterError("body is not valid JSON") from exc
        alert = body.get(ROOT, body) if isinstance(body, dict) else None
        if not isinstance(alert, dict):
            raise AdapterError("EventNotificationAlert: expected a JSON object")
        return alert
    if text.startswith(b"<"):
        # Entities are how XML bombs and external fetches get in; alerts never use them.
        if DOCTYPE.search(text):
            raise AdapterError("XML with a DOCTYPE or entities is refused")
        try:
            root = ET.fromstring(text)  # noqa: S314 — DOCTYPE/ENTITY refused above
        except ET.ParseError as exc:
            raise AdapterError("body is not well-formed XML") from exc
        if _local(root.tag) != ROOT:
            raise AdapterError(f"XML root is not {ROOT}")
        return _element_dict(root)
    raise AdapterError("body is neither JSON nor XML")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # with or without the Hikvision namespace


def _element_dict(element: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        out[_local(child.tag)] = _element_dict(child) if len(child) else (child.text or "").strip()
    return out


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _to_events(request: PushRequest, alert: dict[str, Any], pictures: list[bytes]) -> Parsed:
    event_type = str(alert.get("eventType") or "").strip()
    if not event_type:
        raise AdapterError("eventType: missing")
    at = parse_iso(alert.get("dateTime"), field_name="dateTime", naive_tz=DEVICE_LOCAL_TZ)
    state = str(alert.get("eventState") or "active").strip().lower()
    channel = alert.get("channelID", "")
    message_id = "isapi:" + stable_id(alert.get("dateTime"), event_type, channel, alert.get("activePostCount", ""))
    key = event_type.lower()
    if key == "anpr":
        anpr = alert.get("ANPR") if isinstance(alert.get("ANPR"), dict) else {}
        plate = anpr.get("licensePlate")
        if not plate:
            raise AdapterError("ANPR.licensePlate: missing")
        linli_type = types.PLATE_READ
        payload = {"plate": plate, "colour": str(anpr.get("plateColor") or "unknown"),
                   "confidence": _int(anpr.get("confidenceLevel")), "direction": anpr.get("direction"),
                   "plate_id": None, "offline": False}
    elif key == "accesscontrollerevent":
        access = alert.get("AccessControllerEvent")
        if not isinstance(access, dict):
            raise AdapterError("AccessControllerEvent: missing")
        linli_type = types.DOOR_ACCESS
        verify = str(access.get("currentVerifyMode") or "").lower()
        method = next((m for needle, m in VERIFY_METHODS if needle in verify), "card")
        # JSON pushes name the codes majorEventType/subEventType, XML ones major/minor.
        minor = _int(access.get("subEventType", access.get("minor")))
        payload = {"method": method, "granted": minor in ACCESS_GRANTED_MINORS,
                   "credential_ref": str(access.get("employeeNoString") or access.get("cardNo") or ""),
                   "major": _int(access.get("majorEventType", access.get("major"))), "minor": minor}
    elif key in INTRUSION_RULES:
        linli_type = types.INTRUSION
        payload = {"rule": INTRUSION_RULES[key], "state": "inactive" if state == "inactive" else "active"}
    elif key in HEARTBEAT_EVENTS:
        linli_type, payload = types.HEARTBEAT, {}
    else:
        raise AdapterError(f"unsupported eventType {event_type[:40]}")
    evidence, files = [], []
    for picture in pictures:
        ref, file = evidence_file(picture, at=at, ext="jpg")
        evidence.append(ref)
        files.append(file)
    return Parsed([incoming(request.device, linli_type, message_id, at, payload, evidence)], files)


def respond(parsed: Parsed, stored: list[Stored]) -> tuple[int, dict]:
    return 200, {"stored": sum(1 for s in stored if not s.duplicate), "duplicates": sum(s.duplicate for s in stored)}
