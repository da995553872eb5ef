"""NB-IoT operator platform webhooks (China Telecom CTWing subscription pushes, OneNET alike).

The platform, not the device, calls us: it is authenticated by a per-platform secret
(LINLI_NBIOT_SECRET_<PLATFORM>) signing the body, only the products configured for it
(LINLI_NBIOT_PRODUCTS_<PLATFORM>) are read, and the device is found by its IMEI (stored as
the device's serial). The report is read according to the device's kind.

CTWing's forms (ctwing.cn 订阅推送; tests/fixtures): `dataReport` carries the product's
object-model properties in `payload` (older LWM2M profiles nest them as
`{"serviceId", "serviceData"}`), or, for transparent-transmission products,
`{"APPdata": "<base64>"}`, read here when it holds JSON text; `eventReport` carries them in
`eventContent`. Other message types (online/offline, command responses) name no IMEI or
nothing Linli stores, and are refused with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linli.devices.adapters.base import (
    AdapterError,
    Parsed,
    PushRequest,
    charset_of,
    from_epoch,
    incoming,
    read_base64,
    read_json,
)
from linli.devices.models import DeviceKind, Protocol
from linli.events import types
from linli.events.pipeline import Stored

PROTOCOL = Protocol.NBIOT_WEBHOOK
SECRET_ENV = "LINLI_NBIOT_SECRET_{}"  # noqa: S105 — the variable name, not a secret
PRODUCTS_ENV = "LINLI_NBIOT_PRODUCTS_{}"  # comma-separated product ids the platform may push for
# OneNET signs with a nonce and a signature; we use HMAC-SHA256 over nonce + body (see docs/gateway.md).
NONCE_HEADER = "X-Linli-Nonce"
SIGNATURE_HEADER = "X-Linli-Signature"
MS_PER_S = 1000
APPDATA = "APPdata"  # CTWing's transparent-transmission field: the device's own bytes, base64
TELEMETRY_FIELDS = {"battery_voltage": "battery_v", "battery_level": "battery_pct", "Signal_Power": "rssi_dbm",
                    "signal_power": "rssi_dbm", "rsrp": "rssi_dbm", "Send_cnt": "send_count"}


class SignatureError(AdapterError):
    """The push is not proven to come from a platform we know (answered 401)."""


def platform_secret(platform: str) -> str | None:
    return os.environ.get(SECRET_ENV.format(platform.upper())) or None


def platform_products(platform: str) -> frozenset[str]:
    raw = os.environ.get(PRODUCTS_ENV.format(platform.upper()), "")
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


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


@dataclass(frozen=True)
class MessageForm:
    """A platform `messageType` Linli reads: the field its data is in, and its message ids' mark."""

    data_field: str
    id_mark: str


MESSAGE_FORMS = {
    "dataReport": MessageForm("payload", ""),
    "eventReport": MessageForm("eventContent", ":event"),
}


@dataclass(frozen=True)
class Report:
    """A platform push, checked: whose it is, when, and the device's data, unwrapped."""

    imei: str
    timestamp: int  # ms since the epoch; with the form's mark, the message id
    form: MessageForm
    data: dict[str, Any]


def read_report(platform: str, body: bytes, charset: str | None = None) -> Report:
    """The push read far enough to know the device (by IMEI); every refusal names its field."""
    envelope = read_json(body, charset=charset)
    if not isinstance(envelope, dict):
        raise AdapterError("body: expected a JSON object")
    message_type = envelope.get("messageType")
    form = MESSAGE_FORMS.get(message_type) if isinstance(message_type, str) else None
    if form is None:
        raise AdapterError(f"messageType {str(message_type)[:30]} is not one Linli reads "
                           f"({', '.join(MESSAGE_FORMS)})")
    product = envelope.get("productId")
    product = str(product) if isinstance(product, str | int) and not isinstance(product, bool) else ""
    if product not in platform_products(platform):
        raise AdapterError(f"productId {product[:20] or '(none)'}: not a product configured for "
                           f"{platform[:20]} ({PRODUCTS_ENV.format(platform.upper()[:20])})")
    imei = envelope.get("IMEI")
    if not isinstance(imei, str) or not imei:
        raise AdapterError("IMEI: required")
    timestamp = envelope.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        raise AdapterError("timestamp: required, milliseconds since the epoch")
    data = envelope.get(form.data_field)
    if not isinstance(data, dict):
        raise AdapterError(f"{form.data_field}: expected a JSON object")
    return Report(imei=imei, timestamp=timestamp, form=form, data=_unwrapped(data, form.data_field))


def _unwrapped(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The device's own fields, whichever of the platform's wrappings they came in."""
    if APPDATA in data:
        what = f"{where}.{APPDATA}"
        encoded = data[APPDATA]
        if not isinstance(encoded, str):
            raise AdapterError(f"{what}: expected base64 text")
        inner = read_json(read_base64(encoded, what=what), what=what)
        if not isinstance(inner, dict):
            raise AdapterError(f"{what}: expected a JSON object")
        return inner
    service_data = data.get("serviceData")
    return service_data if isinstance(service_data, dict) else data


def _alarm_state(value: Any) -> str:
    return "alarm" if value in (1, "1", True, "alarm") else "clear"


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _state_of(value: Any) -> dict | None:
    return {"state": _alarm_state(value)}


def _reading(value: Any) -> dict | None:
    return {"m3": value} if _number(value) is not None else None


def _occupancy(value: Any) -> dict | None:
    return {"occupied": value == 1} if value in (0, 1) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class DetectorField:
    """A field a kind of detector reports, and the Linli event it makes."""

    kind: str
    field: str
    event_type: str
    read: Callable[[Any], dict | None]  # the field's value → the payload, or None: not a reading
    # (field, payload key, convert): more of the same reading, added when present and convertible.
    extras: tuple[tuple[str, str, Callable[[Any], Any]], ...] = ()


def _bool(value: Any) -> bool:
    return bool(value)


DETECTOR_FIELDS = (
    DetectorField(DeviceKind.SMOKE_DETECTOR, "smoke_state", types.SMOKE_ALARM, _state_of,
                  (("concentration", "concentration", _number),)),
    DetectorField(DeviceKind.GAS_DETECTOR, "gas_state", types.GAS_ALARM, _state_of,
                  (("lel_percent", "lel_percent", _number),)),
    DetectorField(DeviceKind.WATER_METER, "total_m3", types.WATER_READING, _reading, (("leak", "leak", _bool),)),
    DetectorField(DeviceKind.PARKING_SENSOR, "parking_state", types.SPACE_OCCUPANCY, _occupancy),
)


def _readings(kind: str, data: dict[str, Any]) -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    for d in DETECTOR_FIELDS:
        payload = d.read(data[d.field]) if d.kind == kind and d.field in data else None
        if payload is None:
            continue
        for field, key, convert in d.extras:
            value = convert(data[field]) if field in data else None
            if value is not None:
                payload[key] = value
        found.append((d.event_type, payload))
    telemetry = {name: data[key] for key, name in TELEMETRY_FIELDS.items() if _number(data.get(key)) is not None}
    if telemetry:
        found.append((types.TELEMETRY, telemetry))
    return found


def parse(request: PushRequest) -> Parsed:
    report = read_report(request.route.get("platform", ""), request.body,
                         charset_of(request.headers.get("Content-Type", "")))
    at = from_epoch(report.timestamp / MS_PER_S, field_name="timestamp")
    found = _readings(request.device.kind, report.data)
    if not found:
        raise AdapterError(f"{report.form.data_field} has no field Linli reads for a {request.device.kind}")
    base_id = f"nb:{report.timestamp}{report.form.id_mark}"
    return Parsed([incoming(request.device, t, f"{base_id}:{t}", at, p) for t, p in found])


def respond(parsed: Parsed, stored: list[Stored]) -> tuple[int, dict]:
    return 200, {"stored": sum(1 for s in stored if not s.duplicate), "duplicates": sum(s.duplicate for s in stored)}
