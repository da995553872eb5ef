"""Automation rule pages: scoped list and detail with the run trace, templates, the JSON editor
with field errors in Chinese, enable/disable and delete — every write audited by the services."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.alarms.models import Alarm
from linli.automations import engine, services
from linli.automations.models import Rule
from linli.core.models import AuditEntry
from linli.events import types
from linli.events.pipeline import Incoming, store

ROLES = ["street_officer", "community_officer", "grid_worker", "property_manager", "guard", "technician",
         "cashier", "customer_service", "integrator", "resident"]
VIEWERS = {"street_officer", "community_officer", "property_manager", "technician", "integrator"}


def install(side, admin, key="smoke", name=None):
    rule = services.install_template(actor=admin, compound=side.compound, key=key, name=name)
    # The service invalidates the cache it imported; a test elsewhere may have swapped engine.RULES.
    engine.RULES.invalidate()
    return rule


@pytest.fixture
def rules(district):
    return {"a": install(district.a, district.admin), "b": install(district.b, district.admin)}


def audited(rule_pk, action):
    return AuditEntry.objects.filter(object_type="automations.rule", object_id=str(rule_pk), action=action)


@pytest.mark.parametrize("role", ROLES)
def test_rule_pages_answer_each_role_with_a_page_or_a_refusal(district, rules, client_for, role):
    client = client_for(district.a.users[role])
    expected = 200 if role in VIEWERS else 403
    for url in (reverse("web:rule_list"), reverse("web:rule_detail", args=[rules["a"].pk])):
        assert client.get(url).status_code == expected, url
    editor = 200 if role in ("property_manager", "integrator") else 403
    assert client.get(reverse("web:rule_templates")).status_code == editor
    assert client.get(reverse("web:rule_edit", args=[rules["a"].pk])).status_code == editor


def test_the_list_shows_only_the_users_compounds(district, rules, client_for):
    html = client_for(district.a.users["property_manager"]).get(reverse("web:rule_list")).content.decode()
    assert reverse("web:rule_detail", args=[rules["a"].pk]) in html
    assert reverse("web:rule_detail", args=[rules["b"].pk]) not in html
    assert "阜安小区" in html and "中云小区" not in html


def test_the_other_sides_rule_is_not_found_and_untouched(district, rules, client_for):
    client = client_for(district.a.users["property_manager"])
    other = rules["b"]
    assert client.get(reverse("web:rule_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("web:rule_edit", args=[other.pk])).status_code == 404
    assert client.post(reverse("web:rule_toggle", args=[other.pk]), {"enabled": "0"}).status_code == 404
    assert client.post(reverse("web:rule_delete", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.enabled


def test_installing_a_template_with_adjusted_parameters(district, client_for):
    client = client_for(district.a.users["property_manager"])
    chooser = client.get(reverse("web:rule_templates")).content.decode()
    assert "消防通道占用" in chooser and reverse("web:rule_install", args=["fire_lane"]) in chooser
    url = reverse("web:rule_install", args=["fire_lane"])
    form = client.get(url).content.decode()
    assert 'name="param_minutes"' in form and 'value="5"' in form
    assert f'value="{district.b.compound.pk}"' not in form  # only compounds where one may add rules
    response = client.post(url, {"compound": district.a.compound.pk, "name": "东门消防通道", "enabled": "on",
                                 "param_minutes": "10", "param_devices": "FL-1，FL-2",
                                 "param_message": "请勿占用消防通道"})
    rule = Rule.objects.get(name="东门消防通道")
    assert response.status_code == 302 and response["Location"] == reverse("web:rule_detail", args=[rule.pk])
    assert rule.compound == district.a.compound and rule.enabled and rule.mode == "single"
    assert rule.definition["hold_s"] == 600
    assert {"field": "device.code", "op": "in", "value": ["FL-1", "FL-2"]} in rule.definition["conditions"]
    assert rule.definition["actions"][0]["params"]["text"] == "请勿占用消防通道"
    assert audited(rule.pk, "create").get().actor == "property_manager_a"


def test_a_template_is_refused_for_another_compound_and_for_bad_parameters(district, client_for):
    client = client_for(district.a.users["property_manager"])
    url = reverse("web:rule_install", args=["fire_lane"])
    base = {"name": "占道", "param_minutes": "5", "param_devices": "", "param_message": "请驶离"}
    other = client.post(url, {**base, "compound": district.b.compound.pk})
    assert other.status_code == 400
    negative = client.post(url, {**base, "compound": district.a.compound.pk, "param_minutes": "-1"})
    assert negative.status_code == 400 and "hold_s：不能小于 0" in negative.content.decode()
    assert not Rule.objects.filter(name="占道").exists()
    install(district.a, district.admin, key="fire_lane", name="占道")
    twice = client.post(url, {**base, "compound": district.a.compound.pk})
    html = twice.content.decode()
    assert twice.status_code == 400 and "本小区已有同名的联动规则" in html[html.index('name="name"'):]
    assert Rule.objects.filter(name="占道").count() == 1
    assert client.get(reverse("web:rule_install", args=["no_such_template"])).status_code == 404


def test_the_editor_shows_schema_errors_in_chinese_next_to_the_definition(district, rules, client_for):
    rule = rules["a"]
    client = client_for(district.a.users["property_manager"])
    url = reverse("web:rule_edit", args=[rule.pk])
    bad = json.loads(json.dumps(rule.definition))
    bad["trigger"]["event_type"] = "safety.no_such_event"
    bad["actions"][0]["severity"] = "urgent"
    bad["actions"].append({"do": "explode"})
    bad["colour"] = "red"
    response = client.post(url, {"name": rule.name, "mode": "parallel", "enabled": "on",
                                 "definition": json.dumps(bad)})
    assert response.status_code == 400
    html = response.content.decode()
    field = html[html.index('name="definition"'):]
    field = field[:field.index("</div>")]
    assert "trigger.event_type：未知的事件类型" in field
    assert "actions[0].severity：取值须为以下之一：" in field
    assert "actions[3]：未知的动作“explode”" in field
    assert "colour：不允许的字段" in field
    assert "Input should" not in html
    broken = client.post(url, {"name": rule.name, "mode": "parallel", "definition": "{\"trigger\": "})
    assert broken.status_code == 400 and "不是有效的 JSON" in broken.content.decode()
    rule.refresh_from_db()
    assert rule.definition["actions"][0]["severity"] == "critical"
    assert not audited(rule.pk, "update").exists()


def test_a_valid_edit_is_saved_through_the_service_and_audited(district, rules, client_for):
    rule = rules["a"]
    client = client_for(district.a.users["integrator"])
    definition = json.loads(json.dumps(rule.definition))
    definition["actions"] = [{"do": "raise_alarm", "type": "smoke", "severity": "major", "title": "烟感（复核）"}]
    response = client.post(reverse("web:rule_edit", args=[rule.pk]),
                           {"name": "烟感复核", "mode": "queued", "definition": json.dumps(definition)})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "烟感复核" and rule.mode == "queued" and not rule.enabled
    assert rule.definition["actions"][0]["severity"] == "major"
    entry = audited(rule.pk, "update").get()
    assert entry.actor == "integrator_a" and entry.after["name"] == "烟感复核"


def test_a_rule_is_disabled_enabled_and_deleted(district, rules, client_for):
    rule = rules["a"]
    client = client_for(district.a.users["property_manager"])
    toggle = reverse("web:rule_toggle", args=[rule.pk])
    assert client.post(toggle, {"enabled": "0", "next": "list"})["Location"] == reverse("web:rule_list")
    rule.refresh_from_db()
    assert not rule.enabled
    assert client.post(toggle, {"enabled": "1"}).status_code == 302
    rule.refresh_from_db()
    assert rule.enabled and audited(rule.pk, "update").count() == 2
    delete = reverse("web:rule_delete", args=[rule.pk])
    assert "确定删除联动规则" in client.get(delete).content.decode()
    assert client.post(delete)["Location"] == reverse("web:rule_list")
    assert not Rule.objects.filter(pk=rule.pk).exists()
    assert audited(rule.pk, "delete").get().actor == "property_manager_a"


def test_a_viewer_gets_no_edit_buttons_and_cannot_write(district, rules, client_for):
    rule = rules["a"]
    client = client_for(district.a.users["technician"])
    html = client.get(reverse("web:rule_detail", args=[rule.pk])).content.decode()
    assert reverse("web:rule_edit", args=[rule.pk]) not in html
    assert reverse("web:rule_toggle", args=[rule.pk]) not in html
    assert client.post(reverse("web:rule_toggle", args=[rule.pk]), {"enabled": "0"}).status_code == 403
    assert client.post(reverse("web:rule_delete", args=[rule.pk])).status_code == 403
    rule.refresh_from_db()
    assert rule.enabled


def send(device, message_id, payload):
    store([Incoming(device.pk, device.compound_id, types.SMOKE_ALARM, message_id, timezone.now(), payload)])


def test_the_detail_shows_each_run_with_conditions_and_action_results(district, rules, client_for):
    device = district.a.device
    send(device, "trace-1", {"state": "clear"})
    send(device, "trace-2", {"state": "alarm"})
    alarm = Alarm.objects.get(type="smoke", device=device)
    client = client_for(district.a.users["property_manager"])
    url = reverse("web:rule_detail", args=[rules["a"].pk])
    html = client.get(url).content.decode()
    runs = html[html.index('id="runs"'):]
    fired, failed = runs.index("已触发"), runs.index("条件不满足")
    assert fired < failed  # newest first
    fired_row, failed_row = runs[fired:failed], runs[failed:]
    assert "✓ <code>payload.state</code> = <code>alarm</code>" in fired_row
    assert "产生告警" in fired_row and reverse("web:alarm_detail", args=[alarm.pk]) in fired_row
    assert "通知" in fired_row
    assert "✗ <code>payload.state</code> = <code>alarm</code>" in failed_row
    assert "<code>clear</code>" in failed_row
    only_fired = client.get(url, {"outcome": "fired"}).content.decode()
    assert "条件不满足</span>" not in only_fired and "已触发</span>" in only_fired


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_rule_list_and_trace_run_a_constant_number_of_queries(district, rules, client_for):
    client = client_for(district.a.users["property_manager"])
    device = district.a.device
    send(device, "q-0", {"state": "alarm"})
    listing, detail = reverse("web:rule_list"), reverse("web:rule_detail", args=[rules["a"].pk])
    before = queries(client, listing), queries(client, detail)
    for i in range(5):
        install(district.a, district.admin, key="gas", name=f"燃气{i}")
        send(device, f"q-{i + 1}", {"state": "alarm" if i % 2 else "clear"})
    assert (queries(client, listing), queries(client, detail)) == before
