"""NB-IoT operator webhooks: signed by the platform, the device found by IMEI, read by its kind."""

from __future__ import annotations

import base64
import json

import pytest

from linli.devices.adapters import nbiot_webhook
from linli.events import types
from linli.events.models import DeadLetter, Event, Lane
from linli.gateway.tests.conftest import fixture_bytes, run_gateway

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "locally-generated-test-secret"
IMEI = "869975031234567"


@pytest.fixture(autouse=True)
def _platform_secret(monkeypatch):
    monkeypatch.setenv("LINLI_NBIOT_SECRET_CTWING", SECRET)
    monkeypatch.setenv("LINLI_NBIOT_PRODUCTS_CTWING", "15012345, 15045240")


def report(payload: dict, *, imei=IMEI, timestamp=1772323200123) -> bytes:
    return json.dumps({"messageType": "dataReport", "IMEI": imei, "deviceId": "d-" + imei, "productId": "15012345",
                       "tenantId": "2000123", "timestamp": timestamp, "payload": payload}).encode()


def _signed(body: bytes, *, nonce="n-42", secret=SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", nbiot_webhook.NONCE_HEADER: nonce,
            nbiot_webhook.SIGNATURE_HEADER: nbiot_webhook.sign(secret, nonce, body)}


def _post(h, body: bytes, headers: dict, platform="ctwing"):
    return h.client.post(f"/push/nbiot/{platform}", data=body, headers=headers)


def test_a_smoke_alarm_takes_the_life_safety_lane_with_battery_telemetry_beside_it(provision):
    smoke = provision("smoke-nbiot", IMEI)
    body = report({"smoke_state": 1, "concentration": 12.5, "battery_level": 87, "Signal_Power": -91})

    async def scenario(h):
        response = await _post(h, body, _signed(body))
        return response.status, await response.json()

    assert run_gateway(scenario) == (200, {"stored": 2, "duplicates": 0})
    alarm = Event.objects.get(device=smoke.device, type=types.SMOKE_ALARM)
    assert alarm.payload == {"state": "alarm", "concentration": 12.5} and alarm.lane == Lane.LIFE_SAFETY
    assert Event.objects.get(device=smoke.device, type=types.TELEMETRY).payload == {"battery_pct": 87,
                                                                                   "rssi_dbm": -91}


@pytest.mark.parametrize(("type_code", "payload", "event_type", "expected"), [
    ("gas-nbiot", {"gas_state": 0, "lel_percent": 3}, types.GAS_ALARM, {"state": "clear", "lel_percent": 3}),
    ("water-meter-nbiot", {"total_m3": 123.45, "leak": 0}, types.WATER_READING, {"m3": 123.45, "leak": False}),
    ("parking-sensor-nbiot", {"mag_id": "M1", "parking_state": 1, "X_value": 12, "battery_voltage": 3.6},
     types.SPACE_OCCUPANCY, {"occupied": True}),
])
def test_each_detector_kind_is_read_as_its_event(provision, type_code, payload, event_type, expected):
    dev = provision(type_code, IMEI)
    body = report(payload)

    async def scenario(h):
        return (await _post(h, body, _signed(body))).status

    assert run_gateway(scenario) == 200
    assert Event.objects.get(device=dev.device, type=event_type).payload == expected


def test_a_tampered_body_fails_the_signature_and_is_a_dead_letter(provision):
    smoke = provision("smoke-nbiot", IMEI)
    body = report({"smoke_state": 0})
    headers = _signed(body)
    tampered = body.replace(b'"smoke_state": 0', b'"smoke_state": 1')

    async def scenario(h):
        bad = await _post(h, tampered, headers)
        wrong_secret = await _post(h, body, _signed(body, secret="guess"))
        unsigned = await _post(h, body, {"Content-Type": "application/json"})
        unknown_platform = await _post(h, body, _signed(body), platform="onenet")
        return bad.status, wrong_secret.status, unsigned.status, unknown_platform.status

    assert run_gateway(scenario) == (401, 401, 401, 401)
    assert not Event.objects.filter(device=smoke.device).exists()
    reasons = list(DeadLetter.objects.filter(source="http:nbiot_webhook", device__isnull=True)
                   .values_list("reason", flat=True))
    assert reasons.count("signature does not match") == 2 and len(reasons) == 4


def test_an_unknown_imei_and_an_unreadable_payload_are_dead_letters(provision):
    provision("water-meter-nbiot", IMEI)
    unknown, unreadable = report({"total_m3": 1}, imei="860000000000000"), report({"colour": "red"})

    async def scenario(h):
        first = await _post(h, unknown, _signed(unknown))
        second = await _post(h, unreadable, _signed(unreadable))
        return first.status, second.status, (await second.json())["error"]

    assert run_gateway(scenario) == (404, 400, "payload has no field Linli reads for a water_meter")
    assert DeadLetter.objects.filter(source="http:nbiot_webhook", reason="unknown IMEI").count() == 1


def test_a_repeated_report_is_stored_once(provision):
    dev = provision("water-meter-nbiot", IMEI)
    body = report({"total_m3": 10.5})

    async def scenario(h):
        await _post(h, body, _signed(body))
        return await (await _post(h, body, _signed(body, nonce="n-43"))).json()

    assert run_gateway(scenario) == {"stored": 0, "duplicates": 1}
    assert Event.objects.filter(device=dev.device).count() == 1


# --- CTWing's formats, read as documented (fixtures/README.md) ----------------------------------

def _pushed(body: bytes, platform: str = "ctwing") -> tuple[int, dict]:
    async def scenario(h):
        response = await _post(h, body, _signed(body), platform)
        return response.status, await response.json()

    return run_gateway(scenario)


def _documented(name: str, **changes) -> bytes:
    return json.dumps({**json.loads(fixture_bytes(name)), **changes}).encode()


@pytest.mark.parametrize(("name", "event_type", "expected"), [
    ("ctwing_data_report.json", types.SMOKE_ALARM, {"state": "alarm", "concentration": 12.5}),
    ("ctwing_transparent.json", types.SMOKE_ALARM, {"state": "clear"}),
    ("ctwing_event_report.json", types.TELEMETRY, {"battery_v": 2.9, "battery_pct": 9}),
])
def test_each_documented_ctwing_form_is_read(provision, name, event_type, expected):
    smoke = provision("smoke-nbiot", IMEI)

    assert _pushed(fixture_bytes(name))[0] == 200
    assert Event.objects.get(device=smoke.device, type=event_type).payload == expected


def test_a_report_in_a_declared_chinese_charset_is_read(provision):
    smoke = provision("smoke-nbiot", IMEI)
    body = json.dumps({**json.loads(fixture_bytes("ctwing_data_report.json")), "deviceType": "烟感"},
                      ensure_ascii=False).encode("gbk")

    async def scenario(h):
        headers = {**_signed(body), "Content-Type": "application/json; charset=GBK"}
        return (await _post(h, body, headers)).status

    assert run_gateway(scenario) == 200
    assert Event.objects.filter(device=smoke.device, type=types.SMOKE_ALARM).exists()


def test_an_object_model_report_with_service_data_is_read(provision):
    gas = provision("gas-nbiot", IMEI)
    body = _documented("ctwing_data_report.json", payload={"serviceId": "notification",
                                                           "serviceData": {"gas_state": 1, "lel_percent": 25}})

    assert _pushed(body)[0] == 200
    assert Event.objects.get(device=gas.device, type=types.GAS_ALARM).payload == {"state": "alarm",
                                                                                  "lel_percent": 25}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"productId": "19999999"}, "productId 19999999: not a product configured for ctwing"),
    ({"payload": {"APPdata": "not base64!"}}, "payload.APPdata is not valid base64"),
    ({"payload": {"APPdata": base64.b64encode(b"\x01\x02binary").decode()}}, "payload.APPdata is not valid JSON"),
    ({"messageType": "deviceOnlineOfflineReport", "eventType": 1}, "messageType deviceOnlineOfflineReport"),
])
def test_a_report_linli_cannot_use_is_a_dead_letter_naming_why(provision, changes, reason):
    smoke = provision("smoke-nbiot", IMEI)

    status, answer = _pushed(_documented("ctwing_transparent.json", **changes))
    assert status == 400 and reason in answer["error"]
    assert reason in DeadLetter.objects.filter(source="http:nbiot_webhook").latest("id").reason
    assert not Event.objects.filter(device=smoke.device).exists()


def test_without_configured_products_every_report_is_refused(provision, monkeypatch):
    provision("smoke-nbiot", IMEI)
    monkeypatch.delenv("LINLI_NBIOT_PRODUCTS_CTWING")

    status, answer = _pushed(fixture_bytes("ctwing_data_report.json"))
    assert status == 400 and "LINLI_NBIOT_PRODUCTS_CTWING" in answer["error"]


@pytest.mark.parametrize("nesting", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
])
def test_a_signed_push_nested_to_exhaust_recursion_is_a_dead_letter_not_a_500(provision, nesting):
    provision("smoke-nbiot", IMEI)
    body = b'{"messageType": "dataReport", "IMEI": "' + IMEI.encode() + b'", "payload": ' + nesting + b"}"

    status, answer = _pushed(body)
    assert status == 400 and "nested deeper than" in answer["error"]
    assert "nested deeper than" in DeadLetter.objects.filter(source="http:nbiot_webhook").latest("id").reason


def test_a_transparent_payload_nested_too_deep_is_a_dead_letter(provision):
    provision("smoke-nbiot", IMEI)
    inner = base64.b64encode(b"[" * 10_000 + b"]" * 10_000).decode()

    status, answer = _pushed(_documented("ctwing_transparent.json", payload={"APPdata": inner}))
    assert status == 400 and "payload.APPdata is nested deeper than" in answer["error"]
