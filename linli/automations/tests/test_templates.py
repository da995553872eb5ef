"""The seed scenarios, each installed from its template and driven by stored events."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.alarms.models import Alarm
from linli.automations import engine
from linli.automations import services as automations
from linli.automations.models import RuleRun
from linli.automations.schema import RuleDefinition
from linli.automations.templates import TEMPLATES
from linli.devices import services as devices
from linli.devices.models import DeviceCommand, DeviceType
from linli.devices.watch import sweep_and_alarm
from linli.events import types
from linli.events.pipeline import Incoming, store


def _install(district, key, **overrides):
    rule = automations.install_template(actor=district.admin, compound=district.a.compound, key=key,
                                        overrides=overrides or None)
    engine.RULES.invalidate()
    return rule


def _device(district, type_code, serial, **place):
    return devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code=type_code), serial=serial,
                                   name=serial, **place)


def _send(device, message_id, event_type, payload, at=None):
    store([Incoming(device.pk, device.compound_id, event_type, message_id, at or timezone.now(), payload)])


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_every_template_builds_a_valid_definition(template):
    RuleDefinition.model_validate(template.definition())


def test_a_template_refuses_parameters_it_does_not_have(district):
    with pytest.raises(ValidationError) as caught:
        automations.install_template(actor=district.admin, compound=district.a.compound, key="fire_lane",
                                     overrides={"minutes": 5, "colour": "red"})
    assert "overrides" in caught.value.message_dict


def test_fire_lane_occupied_past_the_limit_warns_by_loudspeaker_then_alarms(district):
    a = district.a
    lane = _device(district, "parking-sensor-nbiot", "FL-1", x_m=5.0, y_m=5.0)
    elsewhere = _device(district, "parking-sensor-nbiot", "P-7", x_m=90.0, y_m=5.0)
    speaker = _device(district, "loudspeaker-linli", "LS-1", x_m=8.0, y_m=4.0, building=a.building)
    rule = _install(district, "fire_lane", minutes=5, devices=[lane.code])
    _send(elsewhere, "p1", types.SPACE_OCCUPANCY, {"occupied": True})  # an ordinary space: nothing
    _send(lane, "o1", types.SPACE_OCCUPANCY, {"occupied": True})
    armed = timezone.now()
    assert engine.fire_due(armed + dt.timedelta(minutes=4)) == []
    assert not DeviceCommand.objects.filter(device=speaker).exists()
    engine.fire_due(armed + dt.timedelta(minutes=5, seconds=1))
    command = DeviceCommand.objects.get(device=speaker)
    assert command.name == "play_message" and "消防通道" in command.params["text"]
    alarm = Alarm.objects.get(type="fire_lane", device=lane)
    assert alarm.severity == "major" and alarm.status == "active"
    assert RuleRun.objects.filter(rule=rule, outcome="fired").count() == 1


def test_smoke_raises_a_critical_alarm_and_tells_the_building_the_property_and_the_community(district):
    from linli.notify.models import Delivery, Notification
    from linli.notify.services import resolve_pending

    a = district.a
    rule = _install(district, "smoke")
    _send(a.device, "s-alarm", types.SMOKE_ALARM, {"state": "alarm"})
    alarm = Alarm.objects.get(type="smoke", device=a.device)
    assert alarm.severity == "critical" and alarm.life_safety
    notes = Notification.objects.filter(source__startswith=f"rule:{rule.pk}:")
    assert notes.count() == 2 and all(n.life_safety for n in notes)
    assert resolve_pending() == 2  # the dispatcher's first step after the commit
    told = set(Delivery.objects.filter(notification__in=notes).values_list("recipient_id", flat=True))
    residents = {a.users["resident"].pk}
    staff = {a.users[r].pk for r in ("property_manager", "guard", "technician", "community_officer")}
    assert residents | staff <= told
    assert not told & {u.pk for u in district.b.users.values()}  # nobody of the other compound
    # A redelivered message is a duplicate: no second round of notifications.
    _send(a.device, "s-alarm", types.SMOKE_ALARM, {"state": "alarm"})
    assert Notification.objects.filter(source__startswith=f"rule:{rule.pk}:").count() == 2


def test_an_ebike_in_the_lift_holds_the_door_speaks_and_alarms(district):
    a = district.a
    camera = _device(district, "elevator-ai-camera", "EA-1", building=a.building, unit=a.unit)
    controller = _device(district, "elevator-controller", "EC-1", building=a.building, unit=a.unit)
    _install(district, "ebike")
    _send(camera, "low", types.ELEVATOR_EBIKE, {"confidence": 0.4})
    assert not DeviceCommand.objects.filter(device=controller).exists()
    _send(camera, "high", types.ELEVATOR_EBIKE, {"confidence": 0.93})
    sent = dict(DeviceCommand.objects.filter(device=controller).values_list("name", "params"))
    assert sent["hold_door"] == {"seconds": 60} and "电动车" in sent["play_message"]["text"]
    assert Alarm.objects.get(type="ebike_in_elevator", device=camera).severity == "major"


def test_entrapment_is_critical_with_a_thirty_minute_arrival_deadline(district):
    from linli.alarms.escalation import escalate_due
    from linli.notify.models import Delivery, Notification
    from linli.notify.services import resolve_pending

    a = district.a
    controller = _device(district, "elevator-controller", "EC-2", building=a.building, unit=a.unit)
    _install(district, "entrapment")
    _send(controller, "trap", types.ELEVATOR_ENTRAPMENT, {"state": "active", "floor": 7})
    alarm = Alarm.objects.get(type="entrapment", device=controller)
    assert alarm.severity == "critical" and alarm.life_safety
    assert dt.timedelta(minutes=29) < alarm.deadline_at - alarm.raised_at <= dt.timedelta(minutes=30)
    note = Notification.objects.get(alarm_id=None, source__endswith=controller.code)
    resolve_pending()
    told = set(Delivery.objects.filter(notification=note).values_list("recipient_id", flat=True))
    assert {a.users["technician"].pk, a.users["property_manager"].pk} <= told
    from linli.alarms import services as alarms

    alarms.acknowledge(actor=a.users["guard"], alarm=alarm)
    assert escalate_due(alarm.deadline_at + dt.timedelta(seconds=1)) == [alarm.pk]


def test_fence_climbing_alarms_with_the_nearest_cameras_snapshot(district):
    fence = _device(district, "perimeter-linli", "PF-1", x_m=0.0, y_m=0.0)
    near = _device(district, "ip-camera", "CAM-near", x_m=12.0, y_m=3.0)
    far = _device(district, "ip-camera", "CAM-far", x_m=300.0, y_m=3.0)
    shot = {"kind": "image", "ref": "events/2026/11/21/near.jpg"}
    store([Incoming(near.pk, near.compound_id, types.INTRUSION, "cam-1", timezone.now(),
                    {"rule": "line_crossing", "state": "active"}, [shot])])
    store([Incoming(far.pk, far.compound_id, types.INTRUSION, "cam-2", timezone.now(),
                    {"rule": "line_crossing", "state": "active"}, [{"kind": "image", "ref": "events/far.jpg"}])])
    _install(district, "fence_climb")
    _send(fence, "climb", types.INTRUSION, {"rule": "fence_climb", "state": "active"})
    alarm = Alarm.objects.get(type="fence_climb", device=fence)
    assert {"kind": "camera", "device": near.code} in alarm.evidence
    assert shot in alarm.evidence and all(e.get("ref") != "events/far.jpg" for e in alarm.evidence)


def _silent_since_before_the_limit(device):
    from linli.devices import health
    from linli.devices.models import DeviceState

    _send(device, "hb", types.HEARTBEAT, {})
    long_ago = timezone.now() - health.offline_after(device.device_type.heartbeat_s) - dt.timedelta(seconds=1)
    DeviceState.objects.filter(device=device).update(last_seen_at=long_ago)


def test_a_device_offline_for_an_hour_becomes_a_work_order(district):
    lock = _device(district, "ground-lock-mqtt", "GL-9")
    _install(district, "device_offline")
    _silent_since_before_the_limit(lock)
    gone = timezone.now()
    went, _ = sweep_and_alarm(gone)
    assert went == [lock.pk]
    assert engine.fire_due(gone + dt.timedelta(minutes=59)) == []
    engine.fire_due(gone + dt.timedelta(minutes=60, seconds=1))
    # The work-order app files it as a repair order from an automation.
    from linli.workorders.models import WorkOrder

    order = WorkOrder.objects.get(compound=lock.compound, channel="automation")
    assert order.title.startswith("设备离线") and order.category.code == "device_repair"
    assert not Alarm.objects.filter(type="work_order_device_repair").exists()


def test_a_device_back_within_the_hour_makes_no_work_order(district):
    lock = _device(district, "ground-lock-mqtt", "GL-10")
    _install(district, "device_offline")
    _silent_since_before_the_limit(lock)
    gone = timezone.now()
    sweep_and_alarm(gone)
    _send(lock, "hb2", types.HEARTBEAT, {})
    sweep_and_alarm(timezone.now())  # heard again: an online connectivity event disarms
    engine.fire_due(gone + dt.timedelta(hours=2))
    from linli.workorders.models import WorkOrder

    assert not WorkOrder.objects.filter(channel="automation").exists()
