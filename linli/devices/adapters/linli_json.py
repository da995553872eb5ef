"""Linli's own JSON push: `{"message_id", "type", "at", "payload"}` or a list of those."""

from __future__ import annotations

from linli.devices.adapters.base import (
    MESSAGE_ID_MAX,
    AdapterError,
    Parsed,
    PushRequest,
    charset_of,
    incoming,
    parse_iso,
    read_json,
)
from linli.devices.models import Protocol
from linli.events import types
from linli.events.pipeline import Stored

PROTOCOL = Protocol.LINLI_JSON
MAX_MESSAGES = 1000  # one request; larger batches should be split by the sender


def parse(request: PushRequest) -> Parsed:
    body = read_json(request.body, charset=charset_of(request.headers.get("Content-Type", "")))
    items = body if isinstance(body, list) else [body]
    if not items:
        raise AdapterError("empty list: no messages")
    if len(items) > MAX_MESSAGES:
        raise AdapterError(f"too many messages in one request (at most {MAX_MESSAGES})")
    return Parsed([_message(request, item, i) for i, item in enumerate(items)])


def _message(request: PushRequest, item: object, index: int):
    where = f"[{index}]." if index else ""
    if not isinstance(item, dict):
        raise AdapterError(f"{where}message: expected a JSON object")
    message_id = item.get("message_id")
    if not isinstance(message_id, str) or not message_id or len(message_id) > MESSAGE_ID_MAX:
        raise AdapterError(f"{where}message_id: required, a string of at most {MESSAGE_ID_MAX} characters")
    event_type = item.get("type")
    if event_type not in types.FROM_DEVICES:
        raise AdapterError(f"{where}type: unsupported event type {str(event_type)[:40]!r}")
    at = parse_iso(item.get("at"), field_name=f"{where}at")
    payload = item.get("payload", {})
    if not isinstance(payload, dict):
        raise AdapterError(f"{where}payload: expected a JSON object")
    return incoming(request.device, event_type, message_id, at, payload)


def respond(parsed: Parsed, stored: list[Stored]) -> tuple[int, dict]:
    duplicates = sum(1 for s in stored if s.duplicate)
    return 200, {"stored": len(stored) - duplicates, "duplicates": duplicates}
