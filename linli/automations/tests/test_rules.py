"""Rules as data: validated on save, evaluated on stored events, durable across restarts."""

import datetime as dt

import pytest
from django.utils import timezone
from pydantic import ValidationError

from linli.alarms.models import Alarm
from linli.automations import engine
from linli.automations.models import Rule, RuleRun, RuleTimer
from linli.automations.schema import RuleDefinition
from linli.devices import services as devices
from linli.devices.models import DeviceType
from linli.events import types
from linli.events.pipeline import Incoming, store

SMOKE_RULE = {"trigger": {"event_type": types.SMOKE_ALARM, "device_kind": "smoke_detector"},
              "conditions": [{"field": "payload.state", "op": "eq", "value": "alarm"}],
              "actions": [{"do": "raise_alarm", "type": "smoke", "severity": "critical", "title": "烟感报警"}]}
FIRE_LANE_RULE = {"trigger": {"event_type": types.SPACE_OCCUPANCY},
                  "conditions": [{"field": "payload.occupied", "op": "eq", "value": True}],
                  "hold_s": 600,
                  "actions": [{"do": "raise_alarm", "type": "fire_lane", "severity": "major",
                               "title": "消防通道占用超过10分钟"}]}


def _rule(definition, name, compound=None):
    RuleDefinition.model_validate(definition)
    rule = Rule.objects.create(name=name, compound=compound, definition=definition)
    engine.RULES.invalidate()
    return rule


def _send(device, message_id, event_type, payload):
    store([Incoming(device.pk, device.compound_id, event_type, message_id, timezone.now(), payload)])


@pytest.fixture
def lane_sensor(district):
    return devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="parking-sensor-nbiot"),
                                   serial="FL-1", name="消防通道地磁")


def test_a_smoke_alarm_raises_a_critical_alarm_through_the_stored_event(district):
    _rule(SMOKE_RULE, "烟感即报")
    _send(district.a.device, "x1", types.SMOKE_ALARM, {"state": "alarm"})
    alarm = Alarm.objects.get(type="smoke", device=district.a.device)
    assert alarm.severity == "critical" and alarm.life_safety
    run = RuleRun.objects.get(outcome="fired")
    assert run.conditions[0]["passed"] and run.actions[0]["alarm_id"] == alarm.pk


def test_conditions_that_fail_are_traced_and_do_nothing(district):
    rule = _rule(SMOKE_RULE, "烟感即报")
    _send(district.a.device, "x2", types.SMOKE_ALARM, {"state": "clear"})
    assert not Alarm.objects.filter(type="smoke").exists()
    assert RuleRun.objects.get(rule=rule).outcome == "conditions_failed"


def test_a_for_ten_minutes_rule_armed_before_a_restart_fires_at_the_right_time_after_it(lane_sensor):
    _rule(FIRE_LANE_RULE, "消防通道占用10分钟")
    _send(lane_sensor, "o1", types.SPACE_OCCUPANCY, {"occupied": True})
    timer = RuleTimer.objects.get()
    armed = timer.armed_at
    # A restart: every in-memory structure is gone; only the database remains.
    engine.RULES = engine._RuleCache()
    assert engine.fire_due(armed + dt.timedelta(minutes=9, seconds=59)) == []
    fired = engine.fire_due(armed + dt.timedelta(minutes=10))
    assert len(fired) == 1
    assert Alarm.objects.get(type="fire_lane", device=lane_sensor).severity == "major"
    assert not RuleTimer.objects.exists()
    assert engine.fire_due(armed + dt.timedelta(minutes=11)) == []


def test_the_car_leaving_in_time_disarms_the_timer(lane_sensor):
    rule = _rule(FIRE_LANE_RULE, "消防通道占用10分钟")
    _send(lane_sensor, "o1", types.SPACE_OCCUPANCY, {"occupied": True})
    _send(lane_sensor, "o2", types.SPACE_OCCUPANCY, {"occupied": False})
    assert not RuleTimer.objects.exists()
    assert engine.fire_due(timezone.now() + dt.timedelta(hours=1)) == []
    outcomes = list(RuleRun.objects.filter(rule=rule).order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["armed", "disarmed"]


@pytest.mark.parametrize("bad", [
    {**SMOKE_RULE, "trigger": {"event_type": "nope"}},
    {**SMOKE_RULE, "conditions": [{"field": "payload.state", "op": "regex", "value": ".*"}]},
    {**SMOKE_RULE, "conditions": [{"field": "__class__", "op": "eq", "value": 1}]},
    {**SMOKE_RULE, "actions": [{"do": "shell", "cmd": "rm"}]},
    {**SMOKE_RULE, "extra": 1},
    {**SMOKE_RULE, "actions": []},
])
def test_rules_outside_the_whitelisted_language_are_refused(bad):
    with pytest.raises(ValidationError):
        RuleDefinition.model_validate(bad)


def test_rules_read_a_busy_devices_record_once_per_cache_period_not_per_report(lane_sensor, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _rule(FIRE_LANE_RULE, "消防通道")

    def device_reads(message_id):
        with CaptureQueriesContext(connection) as ctx:
            _send(lane_sensor, message_id, types.SPACE_OCCUPANCY, {"occupied": False})
        return sum('FROM "devices_device"' in q["sql"] for q in ctx.captured_queries)

    assert device_reads("o1") == 1
    assert device_reads("o2") == 0  # the same sensor a moment later
    clock = [engine.time.monotonic() + engine.DEVICE_CACHE_S + 1]
    monkeypatch.setattr(engine.time, "monotonic", lambda: clock[0])
    assert device_reads("o3") == 1  # read again after DEVICE_CACHE_S: a moved device is seen
