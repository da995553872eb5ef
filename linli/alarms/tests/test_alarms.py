"""Alarm lifecycle: one open alarm per (source, type) that counts repeats; a strict path to closure."""

import pytest
from django.core.exceptions import ValidationError

from linli.alarms import services
from linli.alarms.models import Alarm
from linli.core.errors import NotFound
from linli.core.tests.apiclient import ApiClient

pytestmark = pytest.mark.urls("linli.core.tests.api_only_urls")


def _smoke(district, side="a"):
    s = getattr(district, side)
    return services.raise_alarm(compound_id=s.compound.pk, source=s.device.code, type="smoke", severity="critical",
                                title="3号楼2单元烟感报警", device_id=s.device.pk, life_safety=True)


def test_a_repeat_counts_on_the_open_alarm_and_a_new_one_opens_after_closure(district):
    alarm, created = _smoke(district)
    again, created_again = _smoke(district)
    assert created and not created_again
    assert again.pk == alarm.pk and Alarm.objects.get(pk=alarm.pk).count == 2
    guard = district.a.users["guard"]
    services.resolve(actor=guard, alarm=Alarm.objects.get(pk=alarm.pk), note="现场确认为油烟")
    fresh, created = _smoke(district)
    assert created and fresh.pk != alarm.pk


def test_the_lifecycle_moves_forward_only(district):
    alarm, _ = _smoke(district)
    guard, manager = district.a.users["guard"], district.a.users["property_manager"]
    services.acknowledge(actor=guard, alarm=alarm)
    services.dispatch(actor=manager, alarm=alarm, assignee=district.a.users["technician"])
    with pytest.raises(ValidationError):
        services.acknowledge(actor=guard, alarm=alarm)
    services.resolve(actor=district.a.users["technician"], alarm=alarm)
    alarm.refresh_from_db()
    assert alarm.status == "resolved" and alarm.closed_at and alarm.acknowledged_by == guard


def test_another_compounds_staff_cannot_touch_the_alarm(district):
    alarm, _ = _smoke(district)
    with pytest.raises(NotFound):
        services.acknowledge(actor=district.b.users["guard"], alarm=alarm)


def test_the_board_lists_open_alarms_most_severe_first(district):
    services.raise_alarm(compound_id=district.a.compound.pk, source="rule:fire-lane", type="fire_lane",
                         severity="warning", title="消防通道占用")
    _smoke(district)
    api = ApiClient(district.a.users["guard"])
    items = api.get("/api/alarms", open_only=True).json()["items"]
    severities = [a["severity"] for a in items]
    assert severities[0] == "critical" and set(severities[1:]) == {"warning"} and len(severities) == 3
    acked = api.post(f"/api/alarms/{items[0]['id']}/acknowledge")
    assert acked.json()["status"] == "acknowledged"
    assert api.post(f"/api/alarms/{items[0]['id']}/comments", {"text": "已到场"}).status_code == 201
