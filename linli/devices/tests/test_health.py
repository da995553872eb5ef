"""Device health from heartbeats, with simulated time."""

import datetime as dt

import pytest
from django.utils import timezone

from linli.devices import health
from linli.devices import services as devices
from linli.devices.models import DeviceState, DeviceType
from linli.events import types
from linli.events.pipeline import Incoming, store


@pytest.fixture
def lock(district):
    return devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="ground-lock-mqtt"), serial="GL-1",
                                   name="地锁1")


def _heartbeat(device, message_id):
    return Incoming(device.pk, device.compound_id, types.HEARTBEAT, message_id, timezone.now())


def test_a_device_goes_offline_after_three_missed_heartbeats_plus_grace_and_back_online_when_heard(lock):
    store([_heartbeat(lock, "h1")])
    state = DeviceState.objects.get(device=lock)
    assert state.online
    heard = state.last_seen_at
    period = lock.device_type.heartbeat_s  # 300 s for ground locks
    assert health.sweep(heard + dt.timedelta(seconds=3 * period)) == []
    assert health.sweep(heard + dt.timedelta(seconds=3 * period + 11)) == [lock.pk]
    state.refresh_from_db()
    assert not state.online and state.offline_since is not None
    store([_heartbeat(lock, "h2")])
    state.refresh_from_db()
    assert state.online and state.offline_since is None


def test_a_last_will_marks_the_device_offline_and_flags_are_kept_apart_from_values(lock):
    store([Incoming(lock.pk, lock.compound_id, types.STATUS, "s1", timezone.now(),
                    {"online": False, "battery_low": True})])
    state = DeviceState.objects.get(device=lock)
    assert not state.online and state.battery_low


def test_a_silent_device_raises_one_offline_alarm_which_closes_when_it_is_heard_again(lock):
    from linli.alarms.models import Alarm
    from linli.devices.watch import sweep_and_alarm

    store([_heartbeat(lock, "h1")])
    heard = DeviceState.objects.get(device=lock).last_seen_at
    later = heard + health.offline_after(lock.device_type.heartbeat_s) + dt.timedelta(seconds=1)
    went, closed = sweep_and_alarm(later)
    assert went == [lock.pk] and closed == []
    assert sweep_and_alarm(later + dt.timedelta(seconds=5)) == ([], [])  # no second alarm
    alarm = Alarm.objects.get(source=lock.code, type="device_offline")
    assert alarm.status == "active" and alarm.severity == "major"
    store([_heartbeat(lock, "h2")])
    assert sweep_and_alarm(timezone.now())[1] == [lock.pk]
    alarm.refresh_from_db()
    assert alarm.status == "resolved" and alarm.comments.get().text == "设备已恢复在线"


def test_outages_record_when_a_device_was_down_and_for_what(lock):
    from linli.devices.models import DeviceOutage

    store([_heartbeat(lock, "h1")])
    heard = DeviceState.objects.get(device=lock).last_seen_at
    down_at = heard + health.offline_after(lock.device_type.heartbeat_s) + dt.timedelta(seconds=1)
    health.sweep(down_at)
    health.sweep(down_at + dt.timedelta(seconds=30))  # still down: no second outage
    outage = DeviceOutage.objects.get(device=lock, cause="offline")
    assert outage.started_at == down_at and outage.ended_at is None
    store([_heartbeat(lock, "h2")])
    outage.refresh_from_db()
    assert outage.ended_at is not None  # heard again (simulated time ran ahead, so no ordering check)

    store([Incoming(lock.pk, lock.compound_id, types.STATUS, "s1", timezone.now(), {"fault": True})])
    fault = DeviceOutage.objects.get(device=lock, cause="fault")
    assert fault.ended_at is None
    store([Incoming(lock.pk, lock.compound_id, types.STATUS, "s2", timezone.now(), {"fault": False})])
    fault.refresh_from_db()
    assert fault.ended_at is not None
    assert DeviceOutage.objects.filter(device=lock).count() == 2


def test_last_seen_is_written_once_per_resolution_and_a_last_will_still_counts_at_once(lock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    at = timezone.now()
    health.seen([lock.pk], at=at)
    with CaptureQueriesContext(connection) as quiet:
        health.seen([lock.pk], at=at + dt.timedelta(seconds=2))
    assert quiet.captured_queries == []  # written 2 s ago: nothing to say yet
    assert DeviceState.objects.get(device=lock).last_seen_at == at
    health.seen([lock.pk], at=at + health.SEEN_RESOLUTION)
    assert DeviceState.objects.get(device=lock).last_seen_at == at + health.SEEN_RESOLUTION

    # The Last Will takes it offline; its next message, a second later, brings it back.
    health.apply_status(lock.pk, {"online": False}, at=at + dt.timedelta(seconds=6))
    assert not DeviceState.objects.get(device=lock).online
    health.seen([lock.pk], at=at + dt.timedelta(seconds=7))
    state = DeviceState.objects.get(device=lock)
    assert state.online and state.last_seen_at == at + dt.timedelta(seconds=7)
