"""Storing device messages: once per (device, message id), in one transaction per batch."""

import datetime as dt

import pytest
from django.utils import timezone

from linli.devices import services as devices
from linli.devices.models import DeviceType
from linli.events import types
from linli.events.models import DeadLetter, Event
from linli.events.pipeline import Incoming, dead_letter, store


@pytest.fixture
def smoke_detector(district):
    return devices.register_device(actor=district.a.users["property_manager"], compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="smoke-nbiot"), serial="SD-0001",
                                   name="3号楼2单元烟感", building=district.a.building, unit=district.a.unit, floor=5)


def _msg(device, message_id, event_type=types.SMOKE_ALARM):
    return Incoming(device_id=device.pk, compound_id=device.compound_id, type=event_type, message_id=message_id,
                    at=timezone.now() - dt.timedelta(seconds=1), payload={"state": "alarm"})


def test_a_resent_message_is_stored_once(smoke_detector):
    first = store([_msg(smoke_detector, "m1"), _msg(smoke_detector, "m2")])
    again = store([_msg(smoke_detector, "m1"), _msg(smoke_detector, "m3"), _msg(smoke_detector, "m3")])
    assert [r.duplicate for r in first] == [False, False]
    assert [r.duplicate for r in again] == [True, False, True]
    assert Event.objects.filter(device=smoke_detector).count() == 3
    assert again[1].event_id == Event.objects.get(message_id="m3").pk


def test_smoke_alarms_take_the_life_safety_lane(smoke_detector):
    store([_msg(smoke_detector, "s1"), _msg(smoke_detector, "t1", types.TELEMETRY)])
    lanes = dict(Event.objects.filter(device=smoke_detector).values_list("message_id", "lane"))
    assert lanes == {"s1": "life_safety", "t1": "telemetry"}


def test_a_dead_letter_keeps_the_reason_and_drops_secrets_from_headers(db):
    letter = dead_letter(source="http:linli_json", reason="unknown device token", raw=b'{"x": 1}',
                         headers={"Authorization": "Bearer secret", "Content-Type": "application/json"})
    letter.refresh_from_db()
    assert letter.reason == "unknown device token"
    assert "Authorization" not in letter.headers
    assert DeadLetter.objects.filter(reason="unknown device token").count() == 1


def test_devices_are_scoped_like_everything_else(smoke_detector, district):
    from linli.devices.selectors import devices as visible

    assert set(visible(district.a.users["property_manager"])) == {smoke_detector, district.a.device}
    assert smoke_detector not in set(visible(district.b.users["property_manager"]))
    assert not visible(district.a.users["resident"]).exists()


def test_mqtt_passwords_use_mosquittos_pbkdf2_format():
    from linli.devices.credentials import mosquitto_hash, mosquitto_verify

    stored = mosquitto_hash("s3cret")
    assert stored.startswith("$7$101$")
    assert mosquitto_verify("s3cret", stored)
    assert not mosquitto_verify("wrong", stored)
