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


def test_the_after_store_hooks_get_the_rows_exactly_as_stored(smoke_detector, monkeypatch):
    from linli.events import pipeline

    seen = []
    monkeypatch.setattr(pipeline, "AFTER_STORE", [seen.extend])
    store([_msg(smoke_detector, "h1"), _msg(smoke_detector, "h2", types.TELEMETRY), _msg(smoke_detector, "h1")])
    assert [e.message_id for e in seen] == ["h1", "h2"]  # duplicates are not handed on
    fields = [f.attname for f in Event._meta.concrete_fields]
    for event in seen:
        # Built without Model.__init__: every column must be there and equal to the stored row.
        stored = Event.objects.get(pk=event.pk)
        assert {f: getattr(event, f) for f in fields} == {f: getattr(stored, f) for f in fields}
        assert not event._state.adding and event.device == smoke_detector


def test_a_batch_of_dead_letters_is_one_insert_and_keeps_no_nul(db, django_assert_num_queries):
    from linli.events.pipeline import dead_letters

    with django_assert_num_queries(1):
        dead_letters([{"source": "mqtt", "reason": "malformed JSON", "raw": b"{\x00oops", "headers": {"topic": "t"}},
                      {"source": "mqtt", "reason": "unknown event type", "raw": "{}",
                       "headers": {"Cookie": "c", "topic": "t"}}])
    letters = {d.reason: d for d in DeadLetter.objects.filter(source="mqtt")}
    assert letters["malformed JSON"].raw == "{\ufffdoops"
    assert letters["unknown event type"].headers == {"topic": "t"}
