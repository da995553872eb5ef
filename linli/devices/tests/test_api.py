"""Managing devices through the API: register, place, issue credentials, see state."""

import pytest

from linli.core.tests.apiclient import ApiClient
from linli.devices.credentials import mosquitto_verify, token_digest
from linli.devices.models import DeviceCredential, DeviceType

pytestmark = pytest.mark.urls("linli.core.tests.api_only_urls")


def test_an_integrator_registers_a_camera_and_gets_a_push_token_once(district):
    api = ApiClient(district.a.users["integrator"])
    lpr = DeviceType.objects.get(code="lpr-alarminfoplate")
    created = api.post("/api/devices", {"compound_id": district.a.compound.pk, "device_type_id": lpr.pk,
                                        "serial": "VZ-0001", "name": "东门入口相机"})
    assert created.status_code == 201, created.content
    device = created.json()
    assert device["kind"] == "lpr_camera" and device["state"]["online"] is False
    issued = api.post(f"/api/devices/{device['id']}/credentials", {"kind": "http_token"}).json()
    stored = DeviceCredential.objects.get(device_id=device["id"], revoked_at__isnull=True)
    assert stored.secret_hash == token_digest(issued["secret"])
    again = api.post(f"/api/devices/{device['id']}/credentials", {"kind": "http_token"}).json()
    assert again["secret"] != issued["secret"]
    assert DeviceCredential.objects.filter(device_id=device["id"], revoked_at__isnull=True).count() == 1


def test_mqtt_passwords_are_kept_as_mosquitto_hashes(district):
    api = ApiClient(district.a.users["property_manager"])
    issued = api.post(f"/api/devices/{district.a.device.pk}/credentials", {"kind": "mqtt_password"}).json()
    assert issued["username"] == district.a.device.code
    stored = DeviceCredential.objects.get(device=district.a.device, kind="mqtt_password")
    assert mosquitto_verify(issued["secret"], stored.secret_hash)


def test_placement_must_be_inside_the_compound(district):
    api = ApiClient(district.admin)
    response = api.post("/api/devices", {"compound_id": district.a.compound.pk,
                                         "device_type_id": district.a.device.device_type_id, "serial": "S-9",
                                         "name": "x", "building_id": district.b.building.pk})
    assert response.status_code == 422
    assert "building" in response.json()["error"]["fields"]


def test_a_technician_reads_devices_but_cannot_register_one(district):
    api = ApiClient(district.a.users["technician"])
    assert [d["id"] for d in api.get("/api/devices").json()["items"]] == [district.a.device.pk]
    response = api.post("/api/devices", {"compound_id": district.a.compound.pk,
                                         "device_type_id": district.a.device.device_type_id, "serial": "S-8",
                                         "name": "x"})
    assert response.status_code == 403
