"""Console pages for devices, their health, the event log and dead letters: scoped, permission-aware,
every write through the device services, a new credential shown once and never again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.core.models import AuditEntry
from linli.core.testing import ID_NUMBERS, PHONES
from linli.devices import credentials
from linli.devices import services as devices
from linli.devices.models import (
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceCredential,
    DeviceOutage,
    DeviceType,
)
from linli.events import types
from linli.events.models import DeadLetter
from linli.events.pipeline import Incoming, dead_letter, store

DEVICE_ROLES = ["street_officer", "community_officer", "property_manager", "guard", "technician", "integrator"]
NO_DEVICE_ROLES = ["grid_worker", "cashier", "customer_service", "resident"]
LISTS = ["web:device_list", "web:device_health", "web:event_list", "web:dead_letter_list"]


def lock_for(district, serial="GL-1"):
    return devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="ground-lock-mqtt"), serial=serial,
                                   name=f"地锁{serial}")


@pytest.mark.parametrize("role", DEVICE_ROLES)
def test_device_roles_open_every_device_page_of_their_side(district, client_for, role):
    client = client_for(district.a.users[role])
    for name in LISTS:
        assert client.get(reverse(name)).status_code == 200, name
    page = client.get(reverse("web:device_detail", args=[district.a.device.pk]))
    assert page.status_code == 200
    assert "A烟感" in page.content.decode()
    assert client.get(reverse("web:device_detail", args=[district.b.device.pk])).status_code == 404
    nav = client.get(reverse("web:home")).content.decode()
    assert reverse("web:device_list") in nav and reverse("web:event_list") in nav


@pytest.mark.parametrize("role", NO_DEVICE_ROLES)
def test_roles_without_device_rights_are_refused(district, client_for, role):
    client = client_for(district.a.users[role])
    for name in LISTS:
        assert client.get(reverse(name)).status_code == 403, name
    assert client.get(reverse("web:device_detail", args=[district.a.device.pk])).status_code == 403
    assert reverse("web:device_list") not in client.get(reverse("web:home")).content.decode()


def test_lists_hold_only_the_side_in_scope(district, client_for):
    client = client_for(district.a.users["property_manager"])
    listing = client.get(reverse("web:device_list")).content.decode()
    assert "A烟感" in listing and "B烟感" not in listing
    events = client.get(reverse("web:event_list")).content.decode()
    assert district.a.device.name in events and district.b.device.name not in events
    letters = client.get(reverse("web:dead_letter_list")).content.decode()
    assert "payload not understood" in letters and "阜安小区" in letters and "中云小区" not in letters
    # Filtering for the other side's compound is not a way in: the choice is refused and ignored.
    other = client.get(reverse("web:device_list"), {"compound": district.b.compound.pk}).content.decode()
    assert "B烟感" not in other
    health = client.get(reverse("web:device_health"), {"compound": district.b.compound.pk}).content.decode()
    assert "中云小区" not in health


def test_device_list_filters(district, client_for):
    lock = lock_for(district)
    client = client_for(district.a.users["technician"])

    def codes(**params):
        html = client.get(reverse("web:device_list"), params).content.decode()
        return {d.code for d in (district.a.device, lock) if d.code in html}

    assert codes() == {district.a.device.code, lock.code}
    assert codes(kind="ground_lock") == {lock.code}
    assert codes(q="GL-1") == {lock.code}
    assert codes(q="烟感") == {district.a.device.code}
    # The smoke detector was heard when the district was built; the new lock never has been.
    assert codes(online="online") == {district.a.device.code}
    assert codes(online="offline") == {lock.code}
    store([Incoming(lock.pk, lock.compound_id, types.HEARTBEAT, "h1", timezone.now())])
    assert codes(online="online") == {district.a.device.code, lock.code}
    assert codes(online="offline") == set()
    assert codes(lifecycle="disabled") == set()


def test_buttons_follow_what_the_user_may_do_with_this_device(district, client_for):
    url = reverse("web:device_detail", args=[district.a.device.pk])
    manager = client_for(district.a.users["property_manager"]).get(url).content.decode()
    assert reverse("web:device_edit", args=[district.a.device.pk]) in manager
    assert 'id="rotate"' in manager and 'id="lifecycle"' in manager and 'id="command"' in manager
    guard = client_for(district.a.users["guard"]).get(url).content.decode()
    assert 'id="command"' in guard  # a guard sends commands …
    assert 'id="rotate"' not in guard and reverse("web:device_edit", args=[district.a.device.pk]) not in guard
    officer = client_for(district.a.users["street_officer"]).get(url).content.decode()
    assert 'id="command"' not in officer and 'id="rotate"' not in officer
    list_page = client_for(district.a.users["guard"]).get(reverse("web:device_list")).content.decode()
    assert reverse("web:device_create") not in list_page
    # … and the refused actions answer 403 when posted anyway.
    guard_client = client_for(district.a.users["guard"])
    assert guard_client.post(reverse("web:device_credential", args=[district.a.device.pk]),
                             {"kind": "http_token"}).status_code == 403
    assert guard_client.get(reverse("web:device_edit", args=[district.a.device.pk])).status_code == 403
    assert not DeviceCredential.objects.exists()


def test_an_integrator_registers_a_device_through_the_form(district, client_for):
    a = district.a
    client = client_for(a.users["integrator"])
    form = client.get(reverse("web:device_create"), {"compound": a.compound.pk})
    assert form.status_code == 200 and a.building.standard_address in form.content.decode()
    lock_type = DeviceType.objects.get(code="ground-lock-mqtt")
    response = client.post(reverse("web:device_create") + f"?compound={a.compound.pk}", {
        "compound": a.compound.pk, "device_type": lock_type.pk, "serial": "GL-9", "name": "东区地锁",
        "code": "", "building": a.building.pk, "unit": a.unit.pk, "floor": "-0", "x_m": "12.5", "y_m": "",
    })
    assert response.status_code == 400  # floor 0 does not exist: the service refuses, named on the field
    assert "楼层超出该楼栋的范围" in response.content.decode()
    response = client.post(reverse("web:device_create"), {
        "compound": a.compound.pk, "device_type": lock_type.pk, "serial": "GL-9", "name": "东区地锁",
        "code": "east-lock-9", "building": a.building.pk, "unit": a.unit.pk, "floor": "1", "x_m": "12.5",
    })
    device = Device.objects.get(code="east-lock-9")
    assert response.status_code == 302 and response["Location"] == reverse("web:device_detail", args=[device.pk])
    assert (device.compound_id, device.unit_id, device.floor, device.x_m) == (a.compound.pk, a.unit.pk, 1, 12.5)
    entry = AuditEntry.objects.get(object_type="devices.device", object_id=str(device.pk), action="create")
    assert entry.actor == "integrator_a"
    # The other side's compound is not among the choices, so nothing can be registered there.
    refused = client.post(reverse("web:device_create"), {
        "compound": district.b.compound.pk, "device_type": lock_type.pk, "serial": "GL-10", "name": "越权"})
    assert refused.status_code == 400 and not Device.objects.filter(serial="GL-10").exists()


def test_editing_and_changing_the_lifecycle_go_through_the_service(district, client_for):
    device = district.a.device
    client = client_for(district.a.users["property_manager"])
    response = client.post(reverse("web:device_edit", args=[device.pk]), {
        "name": "A烟感（5楼楼道）", "building": district.a.building.pk, "unit": district.a.unit.pk, "floor": "5"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.name == "A烟感（5楼楼道）"
    response = client.post(reverse("web:device_lifecycle", args=[device.pk]), {"lifecycle": "disabled"}, follow=True)
    device.refresh_from_db()
    assert device.lifecycle == "disabled" and "已停用" in response.content.decode()
    assert AuditEntry.objects.filter(object_type="devices.device", object_id=str(device.pk),
                                     action="update").count() == 2
    assert client.post(reverse("web:device_lifecycle", args=[district.b.device.pk]),
                       {"lifecycle": "disabled"}).status_code == 404


def test_a_rotated_credential_is_shown_once_and_never_again(district, client_for):
    device = district.a.device
    client = client_for(district.a.users["integrator"])
    url = reverse("web:device_credential", args=[device.pk])
    first = client.post(url, {"kind": "http_token"})
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"] or "max-age=0" in first["Cache-Control"]
    old_secret = first.context["secret"]
    assert old_secret in first.content.decode()
    cred = DeviceCredential.objects.get(device=device, revoked_at__isnull=True)
    assert cred.secret_hash == credentials.token_digest(old_secret)

    second = client.post(url, {"kind": "http_token"})
    new_secret = second.context["secret"]
    assert new_secret != old_secret
    assert devices.device_for_http_token(old_secret) is None
    assert devices.device_for_http_token(new_secret).pk == device.pk

    detail = client.get(reverse("web:device_detail", args=[device.pk])).content.decode()
    assert new_secret not in detail and old_secret not in detail
    assert cred.secret_hash not in detail
    assert detail.count("HTTP令牌") >= 2  # both credentials listed, by kind and dates
    mqtt = client.post(url, {"kind": "mqtt_password"})
    assert credentials.mosquitto_verify(mqtt.context["secret"],
                                        DeviceCredential.objects.get(device=device, kind="mqtt_password").secret_hash)
    assert "MQTT用户名" in mqtt.content.decode() and device.code in mqtt.content.decode()
    for entry in AuditEntry.objects.filter(object_type="devices.devicecredential"):
        assert new_secret not in str(entry.after) and cred.secret_hash not in str(entry.after)
    assert client.get(url).status_code == 405


def test_commands_are_queued_for_capabilities_of_the_type_only(district, client_for):
    lock = lock_for(district)
    client = client_for(district.a.users["guard"])
    url = reverse("web:device_command", args=[lock.pk])
    response = client.post(url, {"name": "unlock", "params": '{"reason": "访客"}', "ttl_s": "120"})
    assert response.status_code == 302
    command = DeviceCommand.objects.get(device=lock)
    assert (command.name, command.params, command.status) == ("unlock", {"reason": "访客"}, CommandStatus.PENDING)
    assert (command.expires_at - command.created_at) == dt.timedelta(seconds=120)
    assert command.issued_by == f"user:{district.a.users['guard'].pk}"
    detail = client.get(reverse("web:device_detail", args=[lock.pk])).content.decode()
    assert "unlock" in detail and "待下发" in detail
    bad = client.post(url, {"name": "self_destruct", "params": "", "ttl_s": "60"})
    assert bad.status_code == 400
    not_json = client.post(url, {"name": "lock", "params": "[1, 2]", "ttl_s": "60"})
    assert not_json.status_code == 400 and "参数应为JSON对象" in not_json.content.decode()
    assert DeviceCommand.objects.filter(device=lock).count() == 1
    officer = client_for(district.a.users["street_officer"])
    assert officer.post(url, {"name": "lock", "ttl_s": "60"}).status_code == 403


def test_the_detail_page_shows_state_outages_and_recent_events(district, client_for):
    device = district.a.device
    DeviceOutage.objects.create(device=device, compound_id=device.compound_id, cause="fault",
                                started_at=timezone.now() - dt.timedelta(hours=3),
                                ended_at=timezone.now() - dt.timedelta(hours=1))
    html = client_for(district.a.users["technician"]).get(reverse("web:device_detail", args=[device.pk])).content.decode()
    assert "故障" in html and "烟雾报警" in html and "smoke" in html
    assert reverse("web:event_list") + f"?device={device.code}" in html


def test_the_event_log_filters_by_type_device_and_time_and_masks_personal_numbers(district, client_for):
    lock = lock_for(district)
    now = timezone.now()
    store([
        Incoming(lock.pk, lock.compound_id, types.DOOR_ACCESS, "d1", now - dt.timedelta(days=2),
                 {"method": "phone", "granted": True, "credential_ref": PHONES["a_owner"]},
                 evidence=[{"kind": "snapshot", "ref": "2024/01/a.jpg"}]),
        Incoming(lock.pk, lock.compound_id, types.HEARTBEAT, "h1", now),
    ])
    client = client_for(district.a.users["property_manager"])

    def page(**params):
        return client.get(reverse("web:event_list"), params).content.decode()

    everything = page()
    assert "门禁通行" in everything and "心跳" in everything and "烟雾报警" in everything
    assert PHONES["a_owner"] not in everything and "138****8001" in everything
    door = client.get(reverse("web:event_list"), {"type": types.DOOR_ACCESS})
    event_id = door.context["rows"][0].event.pk
    assert reverse("web:event_evidence", args=[event_id, 0]) in door.content.decode()
    assert [r.event.type for r in door.context["rows"]] == [types.DOOR_ACCESS]
    by_device = client.get(reverse("web:event_list"), {"device": lock.code}).context["rows"]
    assert {r.event.type for r in by_device} == {types.DOOR_ACCESS, types.HEARTBEAT}
    since = (now - dt.timedelta(hours=1)).astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%dT%H:%M")
    recent = client.get(reverse("web:event_list"), {"device": lock.code, "since": since}).context["rows"]
    assert [r.event.type for r in recent] == [types.HEARTBEAT]
    foreign = client.get(reverse("web:event_list"), {"device": district.b.device.code}).context["rows"]
    assert foreign == []


@pytest.fixture
def disk_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "linli.events.media.DiskStorage"}}
    return settings.MEDIA_ROOT


def test_evidence_is_served_from_the_media_store_to_those_who_see_the_event(district, client_for, disk_media):
    from linli.events import media

    lock = lock_for(district)
    media.save("events/2024/06/01/snap.jpg", b"\xff\xd8jpeg")
    store([Incoming(lock.pk, lock.compound_id, types.INTRUSION, "i1", timezone.now(), {"state": "active"},
                    evidence=[{"kind": "snapshot", "ref": "../../etc/passwd"},
                              {"kind": "snapshot", "ref": "events/2024/06/01/snap.jpg"},
                              {"kind": "clip", "ref": "events/2024/06/01/gone.mp4"}])])
    client = client_for(district.a.users["guard"])
    rows = client.get(reverse("web:event_list"), {"type": types.INTRUSION}).context["rows"]
    event_id = rows[0].event.pk
    # The reference that could leave the media root is not offered at all.
    assert [e["url"] for e in rows[0].evidence] == [reverse("web:event_evidence", args=[event_id, n]) for n in (1, 2)]
    picture = client.get(reverse("web:event_evidence", args=[event_id, 1]))
    assert picture.status_code == 200 and picture["Content-Type"] == "image/jpeg"
    assert b"".join(picture.streaming_content) == b"\xff\xd8jpeg"
    assert client.get(reverse("web:event_evidence", args=[event_id, 0])).status_code == 404
    assert client.get(reverse("web:event_evidence", args=[event_id, 2])).status_code == 404  # purged
    assert client.get(reverse("web:event_evidence", args=[event_id, 7])).status_code == 404
    other_side = client_for(district.b.users["guard"])
    assert other_side.get(reverse("web:event_evidence", args=[event_id, 1])).status_code == 404
    assert client_for(district.a.users["cashier"]).get(
        reverse("web:event_evidence", args=[event_id, 1])).status_code == 403


def test_dead_letters_without_a_compound_are_for_platform_administrators_only(district, client_for):
    dead_letter(source="mqtt", reason="unknown device", raw=f'{{"id": "ghost", "tel": "{PHONES["b_owner"]}"}}')
    admin = client_for(district.admin).get(reverse("web:dead_letter_list")).content.decode()
    assert "unknown device" in admin and PHONES["b_owner"] not in admin
    for user in (district.city_admin, district.a.users["property_manager"], district.a.users["street_officer"]):
        html = client_for(user).get(reverse("web:dead_letter_list")).content.decode()
        assert "unknown device" not in html
    long_raw = "x" * 1000
    dead_letter(source="http:linli_json", reason="bad json", raw=long_raw, compound_id=district.a.compound.pk)
    html = client_for(district.a.users["technician"]).get(reverse("web:dead_letter_list"),
                                                         {"source": "http:linli_json"}).content.decode()
    assert "bad json" in html and long_raw not in html and "x" * 300 + "…" in html
    assert DeadLetter.objects.count() == 4


def test_the_health_page_shows_the_compounds_figures(district, client_for):
    lock_for(district)  # registered, never heard from
    client = client_for(district.a.users["property_manager"])
    response = client.get(reverse("web:device_health"), {"compound": district.a.compound.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "50.0%" in html  # the smoke detector is online, the lock is not
    assert "智能地锁" in html and "烟感探测器" in html
    assert html.count("<rect") == 30  # one bar per day
    assert response.context["health"].total == 2 and response.context["health"].never_seen == 1


# Constant query counts ------------------------------------------------------------------------


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("name", LISTS)
def test_device_list_pages_run_a_constant_number_of_queries(district, client_for, name):
    client = client_for(district.a.users["property_manager"])
    url = reverse(name)
    queries(client, url)
    before = queries(client, url)
    now = timezone.now()
    for i in range(6):
        lock = lock_for(district, serial=f"Q-{i}")
        store([Incoming(lock.pk, lock.compound_id, types.HEARTBEAT, f"q{i}", now,
                        evidence=[{"kind": "snapshot", "ref": f"{i}.jpg"}])])
        DeviceOutage.objects.create(device=lock, compound_id=lock.compound_id, cause="offline",
                                    started_at=now - dt.timedelta(hours=i + 1), ended_at=now - dt.timedelta(hours=i))
        dead_letter(source="mqtt", reason=f"bad {i}", raw="{}", device_id=lock.pk, compound_id=lock.compound_id)
    assert queries(client, url) == before


def test_device_pages_never_show_a_clear_id_or_phone_number(district, client_for):
    a = district.a
    store([Incoming(a.device.pk, a.compound.pk, types.TELEMETRY, "t1", timezone.now(),
                    {"owner_id": ID_NUMBERS["a_owner"], "owner_phone": PHONES["a_owner"]})])
    dead_letter(source="mqtt", reason="bad", raw=f"{ID_NUMBERS['a_family']} {PHONES['a_family']}",
                detail=PHONES["a_family"], compound_id=a.compound.pk)
    for role in DEVICE_ROLES:
        client = client_for(a.users[role])
        for url in [reverse(n) for n in LISTS] + [reverse("web:device_detail", args=[a.device.pk])]:
            html = client.get(url).content.decode()
            for value in [*ID_NUMBERS.values(), *PHONES.values()]:
                assert value not in html, (role, url)
