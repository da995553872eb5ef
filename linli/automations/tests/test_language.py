"""The rule language beyond a single condition: time windows, "N times within M", run modes,
device commands to the right device, the work-order hook, and validation on save."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.alarms.models import Alarm
from linli.automations import actions, engine
from linli.automations import services as automations
from linli.automations.models import RuleRun, RuleTimer
from linli.automations.schema import DEVICE_KINDS, TimeWindow
from linli.devices import services as devices
from linli.devices.models import DeviceCommand, DeviceKind, DeviceType
from linli.events import types
from linli.events.pipeline import Incoming, store

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _send(device, message_id, event_type, payload, at=None):
    store([Incoming(device.pk, device.compound_id, event_type, message_id, at or timezone.now(), payload)])


def _rule(district, definition, name="规则", mode="single"):
    rule = automations.create_rule(actor=district.admin, compound=district.a.compound, name=name,
                                   definition=definition, mode=mode)
    engine.RULES.invalidate()
    return rule


def _device(district, type_code, serial, **place):
    return devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code=type_code), serial=serial,
                                   name=serial, **place)


def _outcomes(rule):
    return list(RuleRun.objects.filter(rule=rule).order_by("id").values_list("outcome", flat=True))


def test_the_schema_knows_every_device_kind_the_registry_has():
    assert set(DeviceKind.values) == DEVICE_KINDS


@pytest.mark.parametrize(("local", "inside"), [
    (dt.datetime(2026, 11, 20, 23, 30, tzinfo=SHANGHAI), True),   # Friday night
    (dt.datetime(2026, 11, 21, 5, 59, tzinfo=SHANGHAI), True),    # Saturday early morning: the window opened on Friday
    (dt.datetime(2026, 11, 21, 6, 0, tzinfo=SHANGHAI), False),
    (dt.datetime(2026, 11, 21, 23, 0, tzinfo=SHANGHAI), False),   # Saturday night: not a window day
    (dt.datetime(2026, 11, 22, 3, 0, tzinfo=SHANGHAI), False),    # Sunday morning belongs to Saturday's window
    (dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI), False),
])
def test_a_window_over_midnight_belongs_to_the_day_it_opened(local, inside):
    window = TimeWindow(start=dt.time(22), end=dt.time(6), days=[1, 2, 3, 4, 5])
    assert window.contains(local) is inside


def test_events_outside_the_window_do_not_fire(district):
    sensor = _device(district, "perimeter-linli", "PM-1")
    rule = _rule(district, {
        "trigger": {"event_type": types.INTRUSION},
        "window": {"start": "22:00", "end": "06:00"},
        "actions": [{"do": "raise_alarm", "type": "night_intrusion", "severity": "major", "title": "夜间入侵"}]})
    noon = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
    night = dt.datetime(2026, 11, 20, 23, 0, tzinfo=SHANGHAI)
    _send(sensor, "d1", types.INTRUSION, {"rule": "field", "state": "active"}, at=noon)
    assert not Alarm.objects.filter(type="night_intrusion").exists()
    _send(sensor, "n1", types.INTRUSION, {"rule": "field", "state": "active"}, at=night)
    assert Alarm.objects.filter(type="night_intrusion").count() == 1
    assert _outcomes(rule) == ["outside_window", "fired"]


def test_n_times_within_m_seconds_fires_on_the_nth_and_counts_afresh_after(district):
    camera = _device(district, "elevator-ai-camera", "EA-1", building=district.a.building, unit=district.a.unit)
    rule = _rule(district, {
        "trigger": {"event_type": types.ELEVATOR_FIGHT},
        "count": {"times": 3, "within_s": 60},
        "actions": [{"do": "raise_alarm", "type": "elevator_fight", "severity": "major", "title": "打斗"}]})
    for i in range(3):
        _send(camera, f"f{i}", types.ELEVATOR_FIGHT, {"confidence": 0.9})
    assert _outcomes(rule) == ["counted", "counted", "fired"]
    _send(camera, "f3", types.ELEVATOR_FIGHT, {"confidence": 0.9})
    assert _outcomes(rule)[-1] == "counted"  # the count starts again after a firing


def test_hits_older_than_the_window_do_not_count(district):
    camera = _device(district, "elevator-ai-camera", "EA-2")
    rule = _rule(district, {
        "trigger": {"event_type": types.ELEVATOR_FIGHT}, "count": {"times": 2, "within_s": 60},
        "actions": [{"do": "raise_alarm", "type": "elevator_fight", "severity": "major", "title": "打斗"}]})
    _send(camera, "old", types.ELEVATOR_FIGHT, {"confidence": 0.9})
    RuleRun.objects.filter(rule=rule).update(at=timezone.now() - dt.timedelta(seconds=61))
    _send(camera, "new", types.ELEVATOR_FIGHT, {"confidence": 0.9})
    assert _outcomes(rule) == ["counted", "counted"]
    assert not Alarm.objects.filter(type="elevator_fight").exists()


HELD = {"trigger": {"event_type": types.SPACE_OCCUPANCY},
        "conditions": [{"field": "payload.occupied", "op": "eq", "value": True}], "hold_s": 300,
        "actions": [{"do": "raise_alarm", "type": "fire_lane", "severity": "major", "title": "占用"}]}


@pytest.mark.parametrize(("mode", "timers", "second"), [
    ("single", 1, "skipped"), ("restart", 1, "rearmed"), ("queued", 2, "armed"), ("parallel", 2, "armed"),
])
def test_run_modes_decide_what_a_second_trigger_does_while_one_is_pending(district, mode, timers, second):
    sensor = _device(district, "parking-sensor-nbiot", f"FL-{mode}")
    rule = _rule(district, HELD, mode=mode)
    _send(sensor, "o1", types.SPACE_OCCUPANCY, {"occupied": True})
    first_fire = RuleTimer.objects.get(rule=rule).fire_at
    _send(sensor, "o2", types.SPACE_OCCUPANCY, {"occupied": True})
    assert _outcomes(rule) == ["armed", second]
    pending = list(RuleTimer.objects.filter(rule=rule).order_by("fire_at"))
    assert len(pending) == timers
    if mode == "restart":
        assert pending[0].fire_at > first_fire
    if mode == "queued":
        assert pending[1].fire_at > pending[0].fire_at
    fired = engine.fire_due(timezone.now() + dt.timedelta(seconds=301))
    assert len(fired) == timers
    # However many runs fired, one alarm is open for the device; repeats are counted on it.
    alarm = Alarm.objects.get(type="fire_lane", device=sensor)
    assert alarm.count == timers


def test_a_broken_condition_disarms_every_pending_run_of_the_device(district):
    sensor = _device(district, "parking-sensor-nbiot", "FL-P")
    rule = _rule(district, HELD, mode="parallel")
    _send(sensor, "o1", types.SPACE_OCCUPANCY, {"occupied": True})
    _send(sensor, "o2", types.SPACE_OCCUPANCY, {"occupied": True})
    _send(sensor, "o3", types.SPACE_OCCUPANCY, {"occupied": False})
    assert not RuleTimer.objects.filter(rule=rule).exists()
    assert _outcomes(rule)[-1] == "disarmed"


def test_a_command_goes_to_the_device_of_the_right_kind_in_the_same_unit(district):
    a = district.a
    camera = _device(district, "elevator-ai-camera", "EA-3", building=a.building, unit=a.unit)
    here = _device(district, "elevator-controller", "EC-1", building=a.building, unit=a.unit)
    other_unit = a.building.units.exclude(pk=a.unit.pk).first()
    _device(district, "elevator-controller", "EC-2", building=a.building, unit=other_unit)
    rule = _rule(district, {
        "trigger": {"event_type": types.ELEVATOR_EBIKE},
        "actions": [{"do": "command", "name": "hold_door", "params": {"seconds": 60},
                     "target": {"kind": "elevator_controller", "near": "same_unit"}}]})
    _send(camera, "e1", types.ELEVATOR_EBIKE, {"confidence": 0.95})
    command = DeviceCommand.objects.get(issued_by=f"rule:{rule.pk}")
    assert command.device == here and command.name == "hold_door" and command.params == {"seconds": 60}
    assert command.status == "pending" and command.issued_by == f"rule:{rule.pk}"
    run = RuleRun.objects.get(rule=rule)
    assert run.actions[0]["commands"][0]["device"] == here.code


def test_the_nearest_loudspeaker_is_the_one_closest_by_position(district):
    sensor = _device(district, "parking-sensor-nbiot", "FL-N", x_m=10.0, y_m=10.0)
    _device(district, "loudspeaker-linli", "LS-far", x_m=200.0, y_m=10.0)
    near = _device(district, "loudspeaker-linli", "LS-near", x_m=20.0, y_m=15.0)
    target = actions.targets(sensor, actions.Target(kind="loudspeaker", near="nearest"))
    assert target == [near]


def test_an_action_that_fails_is_traced_and_the_others_still_run(district):
    sensor = _device(district, "perimeter-linli", "PM-2")
    rule = _rule(district, {
        "trigger": {"event_type": types.INTRUSION},
        "actions": [{"do": "command", "name": "play_message", "target": {"kind": "loudspeaker", "near": "nearest"}},
                    {"do": "raise_alarm", "type": "intrusion", "severity": "major", "title": "入侵"}]})
    _send(sensor, "i1", types.INTRUSION, {"rule": "field", "state": "active"})
    run = RuleRun.objects.get(rule=rule)
    assert run.outcome == "fired"
    assert "error" in run.actions[0]  # no loudspeaker in the compound
    assert Alarm.objects.filter(type="intrusion", device=sensor).exists()


def test_a_work_order_goes_to_the_registered_handler_or_is_kept_as_an_alarm(district, monkeypatch):
    monkeypatch.setattr(actions, "WORK_ORDER_HANDLERS", [])  # as on a deployment without the work-order app
    sensor = _device(district, "perimeter-linli", "PM-3")
    rule = _rule(district, {"trigger": {"event_type": types.INTRUSION},
                            "actions": [{"do": "work_order", "category": "repair", "title": "围栏检修"}]})
    _send(sensor, "w1", types.INTRUSION, {"rule": "field", "state": "active"})
    kept = Alarm.objects.get(type="work_order_repair", device=sensor)
    assert kept.title == "围栏检修" and kept.severity == "minor"

    received = []
    monkeypatch.setattr(actions, "WORK_ORDER_HANDLERS",
                        [lambda **order: received.append(order) or {"work_order": 42}])
    _send(sensor, "w2", types.INTRUSION, {"rule": "field", "state": "active"})
    assert received[0]["category"] == "repair" and received[0]["compound_id"] == sensor.compound_id
    assert RuleRun.objects.filter(rule=rule).order_by("id").last().actions[0] == {"do": "work_order",
                                                                                   "work_order": 42}


@pytest.mark.parametrize(("definition", "field"), [
    ({"trigger": {"event_type": "nope"}, "actions": [{"do": "clear_alarm", "type": "x"}]},
     "definition.trigger.event_type"),
    ({"trigger": {"event_type": types.INTRUSION},
      "actions": [{"do": "raise_alarm", "type": "x", "severity": "huge", "title": "t"}]},
     "definition.actions.0.raise_alarm.severity"),
    ({"trigger": {"event_type": types.INTRUSION}, "count": {"times": 2, "within_s": 10}, "hold_s": 5,
      "actions": [{"do": "clear_alarm", "type": "x"}]}, "definition"),
    ({"trigger": {"event_type": types.INTRUSION},
      "actions": [{"do": "command", "name": "open", "target": {"near": "nearest"}}]},
     "definition.actions.0.command.target"),
    ({"trigger": {"event_type": types.INTRUSION}, "actions": [{"do": "notify", "title": "无人"}]},
     "definition.actions.0.notify"),
])
def test_a_bad_definition_is_refused_on_save_naming_the_bad_part(district, definition, field):
    with pytest.raises(ValidationError) as caught:
        automations.create_rule(actor=district.admin, compound=district.a.compound, name="坏规则",
                                definition=definition)
    assert field in caught.value.message_dict


def test_quiet_outcomes_are_traced_once_a_minute_while_acting_ones_always_are(district, monkeypatch):
    sensor = _device(district, "parking-sensor-nbiot", "FL-Q")
    rule = _rule(district, HELD)
    for i in range(5):
        _send(sensor, f"busy{i}", types.SPACE_OCCUPANCY, {"occupied": True})
    assert _outcomes(rule) == ["armed", "skipped"]  # four skips, one traced
    clock = [engine.time.monotonic() + engine.QUIET_TRACE_EVERY_S + 1]
    monkeypatch.setattr(engine.time, "monotonic", lambda: clock[0])
    _send(sensor, "later", types.SPACE_OCCUPANCY, {"occupied": True})
    _send(sensor, "free", types.SPACE_OCCUPANCY, {"occupied": False})
    assert _outcomes(rule) == ["armed", "skipped", "skipped", "disarmed"]
