"""NB-IoT operator platform webhooks (China Telecom CTWing, China Mobile OneNET style).

The platform, not the device, calls us: it is authenticated by a per-platform secret
(LINLI_NBIOT_SECRET_<PLATFORM>) signing the body, and the device is found by its IMEI
(stored as the device's serial). The payload is read according to the device's kind.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from linli.devices.adapters.base import AdapterError, Parsed, PushRequest, from_epoch, incoming
from linli.devices.models import DeviceKind, Protocol
from linli.events import types
from linli.events.pipeline import Stored

PROTOCOL = Protocol.NBIOT_WEBHOOK
SECRET_ENV = "LINLI_NBIOT_SECRET_{}"  # noqa: S105 — the variable name, not a secret
# OneNET signs with a nonce and a signature; we use HMAC-SHA256 over nonce + body (see docs/gateway.md).
NONCE_HEADER = "X-Linli-Nonce"
SIGNATURE_HEADER = "X-Linli-Signature"
MS_PER_S = 1000
TELEMETRY_FIELDS = {"battery_voltage": "battery_v", "battery_level": "battery_pct", "Signal_Power": "rssi_dbm",
                    "signal_power": "rssi_dbm", "rsrp": "rssi_dbm", "Send_cnt": "send_count"}


class SignatureError(AdapterError):
    """The push is not proven to come from a platform we know (answered 401)."""


def platform_secret(platform: str) -> str | None:
    return os.environ.get(SECRET_ENV.format(platform.upper())) or None


def sign(secret: str, nonce: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), nonce.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(platform: str, headers, body: bytes) -> None:
    secret = platform_secret(platform)
    if secret is None:
        raise SignatureError(f"unknown NB-IoT platform {platform[:20]!r} (no secret configured)")
    nonce, signature = headers.get(NONCE_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    if not nonce or not signature:
        raise SignatureError(f"missing {NONCE_HEADER} / {SIGNATURE_HEADER}")
    if not hmac.compare_digest(sign(secret, nonce, body), signature):
        raise SignatureError("signature does not match")


def read_envelope(body: bytes) -> dict[str, Any]:
    """The webhook's envelope; the gateway needs the IMEI before it knows the device."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdapterError("body is not valid JSON") from exc
    if not isinstance(envelope, dict):
        raise AdapterError("body: expected a JSON object")
    if envelope.get("messageType") != "dataReport":
        raise AdapterError(f"messageType: unsupported {str(envelope.get('messageType'))[:30]!r}")
    if not isinstance(envelope.get("IMEI"), str) or not envelope["IMEI"]:
        raise AdapterError("IMEI: required")
    if not isinstance(envelope.get("payload"), dict):
        raise AdapterError("payload: expected a JSON object")
    if not isinstance(envelope.get("timestamp"), int):
        raise AdapterError("timestamp: required, milliseconds since the epoch")
    return envelope


def _alarm_state(value: Any) -> str:
    return "alarm" if value in (1, "1", True, "alarm") else "clear"


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse(request: PushRequest) -> Parsed:
    envelope = read_envelope(request.body)
    data = envelope["payload"]
    at = from_epoch(envelope["timestamp"] / MS_PER_S, field_name="timestamp")
    base_id = f"nb:{envelope['timestamp']}"
    kind = request.device.kind
    found: list[tuple[str, dict]] = []
    if kind == DeviceKind.SMOKE_DETECTOR and "smoke_state" in data:
        found.append((types.SMOKE_ALARM, {"state": _alarm_state(data["smoke_state"]),
                                          **({"concentration": data["concentration"]}
                                             if _number(data.get("concentration")) is not None else {})}))
    if kind == DeviceKind.GAS_DETECTOR and "gas_state" in data:
        found.append((types.GAS_ALARM, {"state": _alarm_state(data["gas_state"]),
                                        **({"lel_percent": data["lel_percent"]}
                                           if _number(data.get("lel_percent")) is not None else {})}))
    if kind == DeviceKind.WATER_METER and _number(data.get("total_m3")) is not None:
        found.append((types.WATER_READING, {"m3": data["total_m3"],
                                            **({"leak": bool(data["leak"])} if "leak" in data else {})}))
    if kind == DeviceKind.PARKING_SENSOR and data.get("parking_state") in (0, 1):
        found.append((types.SPACE_OCCUPANCY, {"occupied": data["parking_state"] == 1}))
    telemetry = {name: data[key] for key, name in TELEMETRY_FIELDS.items() if _number(data.get(key)) is not None}
    if telemetry:
        found.append((types.TELEMETRY, telemetry))
    if not found:
        raise AdapterError(f"payload has no field Linli reads for a {kind}")
    return Parsed([incoming(request.device, t, f"{base_id}:{t}", at, p) for t, p in found])


def respond(parsed: Parsed, stored: list[Stored]) -> tuple[int, dict]:
    return 200, {"stored": sum(1 for s in stored if not s.duplicate), "duplicates": sum(s.duplicate for s in stored)}
