"""The rules API: validated on save with the bad part named, templates, traces, scope."""

import pytest

from linli.automations.models import Rule
from linli.core.tests.apiclient import ApiClient
from linli.events import types

pytestmark = pytest.mark.urls("linli.core.tests.api_only_urls")

SMOKE = {"trigger": {"event_type": types.SMOKE_ALARM},
         "conditions": [{"field": "payload.state", "op": "eq", "value": "alarm"}],
         "actions": [{"do": "raise_alarm", "type": "smoke", "severity": "critical", "title": "烟感报警"}]}


def test_a_manager_creates_edits_traces_and_deletes_a_rule(district):
    api = ApiClient(district.a.users["property_manager"])
    created = api.post("/api/rules", {"compound_id": district.a.compound.pk, "name": "烟感即报", "mode": "parallel",
                                      "definition": SMOKE})
    assert created.status_code == 201, created.json()
    rule = created.json()
    assert rule["definition"]["actions"][0]["severity"] == "critical" and rule["mode"] == "parallel"
    patched = api.patch(f"/api/rules/{rule['id']}", {"enabled": False})
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    runs = api.get(f"/api/rules/{rule['id']}/runs")
    assert runs.status_code == 200 and runs.json()["count"] == 0
    assert api.delete(f"/api/rules/{rule['id']}").status_code == 204
    assert not Rule.objects.filter(pk=rule["id"]).exists()


def test_a_bad_definition_is_a_422_naming_the_field(district):
    api = ApiClient(district.a.users["property_manager"])
    bad = {**SMOKE, "actions": [{"do": "raise_alarm", "type": "smoke", "severity": "apocalyptic", "title": "x"}]}
    response = api.post("/api/rules", {"compound_id": district.a.compound.pk, "name": "坏", "definition": bad})
    assert response.status_code == 422
    assert "definition.actions.0.raise_alarm.severity" in response.json()["error"]["fields"]
    assert not Rule.objects.filter(name="坏").exists()


def test_templates_are_listed_and_installed_with_parameters(district):
    api = ApiClient(district.a.users["property_manager"])
    templates = {t["key"]: t for t in api.get("/api/rules/templates").json()}
    assert {"fire_lane", "smoke", "gas", "ebike", "entrapment", "fence_climb", "device_offline"} <= set(templates)
    assert templates["fire_lane"]["definition"]["hold_s"] == 300
    installed = api.post("/api/rules/templates/install", {"compound_id": district.a.compound.pk, "key": "fire_lane",
                                                          "name": "东门消防通道", "overrides": {"minutes": 8}})
    assert installed.status_code == 201
    assert installed.json()["definition"]["hold_s"] == 480
    unknown = api.post("/api/rules/templates/install", {"compound_id": district.a.compound.pk, "key": "nope"})
    assert unknown.status_code == 422


def test_a_guard_reads_nothing_and_a_technician_reads_but_cannot_write(district):
    guard, technician = ApiClient(district.a.users["guard"]), ApiClient(district.a.users["technician"])
    assert guard.get("/api/rules").json()["count"] == 0
    assert technician.get("/api/rules").json()["count"] >= 1
    response = technician.post("/api/rules", {"compound_id": district.a.compound.pk, "name": "越权",
                                              "definition": SMOKE})
    assert response.status_code == 403
