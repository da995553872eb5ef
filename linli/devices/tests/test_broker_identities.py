"""Broker identities never collide. A device's code is its MQTT username and a level of its
topics, so no code that any path can register may equal, shadow or be read as another broker
account (the gateway's above all); the broker files refuse to come out otherwise; and a broker
configured from a registry full of hostile codes still keeps every device to its own topics."""

from __future__ import annotations

import contextlib
import queue

import paho.mqtt.client as mqtt
import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.core.errors import Conflict
from linli.core.tests.apiclient import ApiClient
from linli.devices import catalogue, codes, credentials, mosquitto
from linli.devices import services as devices
from linli.devices.models import CredentialKind, Device, DeviceCredential, DeviceType, Lifecycle
from linli.devices.tests.test_mosquitto import GATEWAY_SECRET, QUIET_S, WAIT_S, Peer, running_broker

GATEWAY = mosquitto.GATEWAY_USERNAME
GATEWAYS = list(mosquitto.GATEWAY_USERNAMES)  # the lone gateway's account, then one per replica
UP_ALL = f"{mosquitto.TOPIC_ROOT}/+/up/#"

# Codes that would take, shadow or be read as a broker account or a topic that is not theirs.
HOSTILE_CODES = [
    GATEWAY, "LINLI-GATEWAY", "Linli-Gateway", " linli-gateway", "linli-gateway ", "linli-gateway\n",
    "linli", "linli-vision", "linli_gateway", "linli-gateway-2", "$SYS", "$share", "+", "#", "a/b", "a:b",
    "#comment", "-leading", "_leading", "x" * 65, "ｌｉｎｌｉ-gateway", "linli-gatewаy",  # the last: Cyrillic а
]
# The nastiest codes the rule still allows: near the gateway's name, topic words, one character,
# a separator at the end, the longest. (Only generated codes hold '_'; see the broker test.)
NASTY_ALLOWED = ["gateway", "linligateway", "1inli-gateway", "up", "down", "v1", "a", "a-", "a-b", "z" * 64]


def _broker_usernames(passwd_text: str) -> list[str]:
    """The accounts Mosquitto reads from a password file: it skips comments and lines without a
    ':', cuts at the first ':' and trims blanks around the name."""
    names = []
    for line in passwd_text.splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        names.append(line.split(":", 1)[0].strip(" \t\r"))
    return names


def _acl_users(acl_text: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in acl_text.splitlines() if line.startswith("user ")]


def _assert_no_broker_identity_collides(files, registered: list[str]) -> None:
    passwd = files.password_file.read_text()
    names = _broker_usernames(passwd)
    assert len(passwd.splitlines()) == len(names), "every line is an account"
    assert len(names) == len(set(names)), f"duplicate broker accounts: {names}"
    assert names[:len(GATEWAYS)] == GATEWAYS
    # Every gateway account is a name no device may hold, so none can be taken or shadowed.
    assert all(codes.is_reserved(name) and not codes.is_allowed(name) for name in GATEWAYS)
    devices_in_file = names[len(GATEWAYS):]
    # Each device's entry is exactly its code, so its secret logs in as that code and nothing else.
    assert sorted(devices_in_file) == sorted(registered)
    assert len({n.casefold() for n in names}) == len(names), "names differing only by case"
    assert _acl_users(files.acl_file.read_text()) == GATEWAYS
    for code in devices_in_file:
        # A device's own topics are topics the gateway hears, and no other device's topics are its.
        assert mqtt.topic_matches_sub(UP_ALL, f"{mosquitto.TOPIC_ROOT}/{code}/up/event")
        for other in devices_in_file:
            if other != code:
                assert not mqtt.topic_matches_sub(f"{mosquitto.TOPIC_ROOT}/{code}/up/#",
                                                  f"{mosquitto.TOPIC_ROOT}/{other}/up/event")


@pytest.fixture(autouse=True)
def _catalogue(db):
    catalogue.install(DeviceType)


@pytest.fixture
def lock_type(db):
    return DeviceType.objects.get(code="ground-lock-mqtt")


def _register(district, lock_type, code: str, serial: str | None = None) -> Device:
    return devices.register_device(actor=district.admin, compound=district.a.compound, device_type=lock_type,
                                   serial=serial or f"S-{abs(hash(code))}", name="地锁", code=code)


@contextlib.contextmanager
def _database_rules_off():
    """Let a row in that today's rules refuse: the registry as an older release may have left it."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute("PRAGMA ignore_check_constraints = OFF")
    else:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # PostgreSQL alters no table with checks pending
            cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'devices_device'::regclass "
                        "AND contype = 'c'")
            for (name,) in cur.fetchall():
                cur.execute(f'ALTER TABLE devices_device DROP CONSTRAINT "{name}"')
            yield
            raise _Undo


class _Undo(Exception):
    pass


# Every path refuses a hostile code -------------------------------------------------------------

def test_the_api_refuses_a_device_code_that_is_a_reserved_broker_name(district, lock_type):
    api = ApiClient(district.a.users["integrator"])  # scoped to compound A only
    for n, code in enumerate(["linli-gateway", "linli", "linli-vision", "linli_gateway", "LINLI-GATEWAY",
                              "linli-gateway\n", "$SYS", "a/b"]):
        response = api.post("/api/devices", {"compound_id": district.a.compound.pk, "device_type_id": lock_type.pk,
                                             "serial": f"GW-{n}", "name": "网关", "code": code})
        assert response.status_code == 422, (code, response.content)
        assert list(response.json()["error"]["fields"]) == ["code"], code
    assert not Device.objects.filter(serial__startswith="GW-").exists()


def test_the_services_refuse_every_hostile_code_on_register_and_on_rename(district, lock_type):
    device = district.a.device
    for code in HOSTILE_CODES:
        with pytest.raises(ValidationError) as refused:
            _register(district, lock_type, code)
        assert "code" in refused.value.message_dict, code
        with pytest.raises(ValidationError) as refused:
            devices.update_device(actor=district.admin, device=device, code=code)
        assert "code" in refused.value.message_dict, code
        device.refresh_from_db()
    assert not Device.objects.filter(device_type=lock_type).exists()


def test_the_database_itself_refuses_a_hostile_code(district):
    device = district.a.device
    for code in [*HOSTILE_CODES, ""]:
        # PostgreSQL answers an over-long value with DataError before any constraint is asked.
        with pytest.raises((IntegrityError, DataError)), transaction.atomic():
            Device.objects.filter(pk=device.pk).update(code=code)
    # Codes differing only by case cannot both exist: upper case never gets in.
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.filter(pk=device.pk).update(code=device.code.upper())


def test_an_excel_import_names_the_row_of_a_reserved_code_and_writes_nothing(district):
    from linli.exchange.services import import_workbook
    from linli.exchange.tests.sheets import DEVICE_HEADERS, workbook

    a = district.a
    before = Device.objects.count()
    rows = [[a.compound.code, "", "", "", "ground-lock-mqtt", "GL-1", "地锁1", "gl-1", "", ""],
            [a.compound.code, "", "", "", "ground-lock-mqtt", "GL-2", "地锁2", GATEWAY, "", ""]]
    for dry_run in (True, False):
        report = import_workbook(actor=a.users["property_manager"], kind="devices",
                                 data=workbook(DEVICE_HEADERS, rows), dry_run=dry_run)
        assert not report.ok
        assert [(e.row, e.column) for e in report.errors] == [(3, "设备编码")]
    assert Device.objects.count() == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(codes=st.lists(st.one_of(
    st.sampled_from(HOSTILE_CODES + NASTY_ALLOWED),
    st.text(alphabet="aAlLiInN09-_ $#+/:\t\n.é", max_size=20),
    st.text(max_size=8),
), max_size=5))
def test_whatever_codes_are_registered_the_broker_files_hold_no_colliding_identity(district, lock_type,
                                                                                    tmp_path, codes):
    with contextlib.suppress(_Undo), transaction.atomic():
        registered = []
        for n, code in enumerate(codes):
            try:
                with transaction.atomic():
                    device = _register(district, lock_type, code, serial=f"P-{n}")
                    devices.issue_credential(actor=district.admin, device=device, kind=CredentialKind.MQTT_PASSWORD)
                registered.append(device.code)
            except (ValidationError, Conflict):
                pass
        files = mosquitto.write_broker_files(tmp_path, gateway_secret=GATEWAY_SECRET)
        _assert_no_broker_identity_collides(files, registered)
        raise _Undo


# The broker files refuse to come out wrong -----------------------------------------------------

def test_the_config_writer_refuses_a_bad_row_from_before_the_fix_and_keeps_the_last_good_files(
        district, lock_type, tmp_path, monkeypatch):
    from linli import cli

    monkeypatch.setenv(mosquitto.GATEWAY_PASSWORD_ENV, GATEWAY_SECRET)
    good = _register(district, lock_type, "good-lock")
    devices.issue_credential(actor=district.admin, device=good, kind=CredentialKind.MQTT_PASSWORD)
    files = mosquitto.write_broker_files(tmp_path, gateway_secret=GATEWAY_SECRET)
    last_good = {p: p.read_bytes() for p in (files.conf, files.password_file, files.acl_file)}
    for bad in (GATEWAY, " linli-gateway", "Good-Lock", "a:b", "#x"):
        with contextlib.suppress(_Undo), _database_rules_off():
            squatter = Device.objects.create(compound=district.a.compound, device_type=lock_type, serial=f"B-{bad}",
                                             name="旧数据", code=bad, lifecycle=Lifecycle.ACTIVE)
            DeviceCredential.objects.create(device=squatter, kind=CredentialKind.MQTT_PASSWORD,
                                            secret_hash=credentials.mosquitto_hash("squatter"))
            with pytest.raises(ValueError, match="refus") as refused:
                mosquitto.write_broker_files(tmp_path, gateway_secret=GATEWAY_SECRET, port=1884)
            assert repr(bad) in str(refused.value)
            # The operator's command says so and fails.
            with pytest.raises(SystemExit) as command:
                cli.main(["mosquitto-config", str(tmp_path), "--port", "1884"])
            assert "refusing to write the broker files" in str(command.value.code) and repr(bad) in str(command.value.code)
            assert {p: p.read_bytes() for p in last_good} == last_good, bad
            assert sorted(q.name for q in tmp_path.iterdir()) == ["acl", "mosquitto.conf", "passwd"]
            Device.objects.filter(pk=squatter.pk).delete()


def test_unsafe_codes_left_by_an_older_release_are_taken_out_of_service(district, lock_type):
    from django.utils import timezone

    from linli.devices.codes import quarantine_unsafe_codes

    good = _register(district, lock_type, "lock-1")
    devices.issue_credential(actor=district.admin, device=good, kind=CredentialKind.MQTT_PASSWORD)
    with contextlib.suppress(_Undo), _database_rules_off():
        squatter = Device.objects.create(compound=district.a.compound, device_type=lock_type, serial="OLD-1",
                                         name="旧数据", code=GATEWAY, lifecycle=Lifecycle.ACTIVE)
        Device.objects.create(compound=district.a.compound, device_type=lock_type, serial="OLD-2", name="旧数据",
                              code=f"quarantined-{squatter.pk}")  # the name the fix would pick is taken
        DeviceCredential.objects.create(device=squatter, kind=CredentialKind.MQTT_PASSWORD,
                                        secret_hash=credentials.mosquitto_hash("squatter"))
        fixed = quarantine_unsafe_codes(Device, DeviceCredential, now=timezone.now())
        squatter.refresh_from_db()
        assert fixed == [(squatter.pk, GATEWAY, squatter.code)]
        assert squatter.code.startswith(f"quarantined-{squatter.pk}-") and squatter.lifecycle == Lifecycle.DISABLED
        assert not DeviceCredential.objects.filter(device=squatter, revoked_at__isnull=True).exists()
        assert DeviceCredential.objects.filter(device=good, revoked_at__isnull=True).exists()
        raise _Undo


# A hostile registry against a real Mosquitto ---------------------------------------------------

def test_a_broker_configured_from_a_hostile_registry_keeps_every_device_to_its_own_topics(district, lock_type,
                                                                                         tmp_path):
    api = ApiClient(district.a.users["integrator"])
    squat = api.post("/api/devices", {"compound_id": district.a.compound.pk, "device_type_id": lock_type.pk,
                                      "serial": "SQUAT", "name": "冒充网关", "code": GATEWAY})
    assert squat.status_code == 422 and "code" in squat.json()["error"]["fields"]

    # Two codes that differ only by '_' and '-': one generated from a serial, one typed in.
    generated = f"{district.a.compound.code}-{lock_type.code}-a_b"
    wanted = [(code, f"N-{n}") for n, code in enumerate(NASTY_ALLOWED)] + [("", "A_B"), (generated.replace("_", "-"), "A-B")]
    secrets: dict[str, str] = {}
    for code, serial in wanted:
        made = api.post("/api/devices", {"compound_id": district.a.compound.pk, "device_type_id": lock_type.pk,
                                         "serial": serial, "name": "地锁", "code": code})
        assert made.status_code == 201, (code, made.content)
        issued = api.post(f"/api/devices/{made.json()['id']}/credentials", {"kind": "mqtt_password"}).json()
        assert issued["username"] == made.json()["code"] == (code or generated)
        secrets[issued["username"]] = issued["secret"]

    with running_broker(tmp_path) as broker:
        _assert_no_broker_identity_collides(
            mosquitto.BrokerFiles(broker.files.conf, broker.files.password_file, broker.files.acl_file),
            list(secrets))
        gateway = Peer(broker.port, GATEWAY, GATEWAY_SECRET, GATEWAY)
        # The first device claims the gateway's client id; after it, every second device connects
        # under its own code and the next one claims that code. The broker names every session
        # after its login, so none of them drops another.
        logins = list(secrets)
        claimed = [GATEWAY, *(logins[i - 1] if i % 2 == 0 else logins[i] for i in range(1, len(logins)))]
        assert len(set(claimed)) < len(claimed) - 1  # claims that collide with a live session
        peers = {code: Peer(broker.port, code, secret, claim)
                 for (code, secret), claim in zip(secrets.items(), claimed, strict=True)}
        # No device's secret opens a gateway's account.
        impostors = [Peer(broker.port, GATEWAYS[n % len(GATEWAYS)], secret, f"impostor-{n}")
                     for n, secret in enumerate(secrets.values())]
        try:
            assert not gateway.connected().is_failure
            assert all(not p.connected().is_failure for p in peers.values())
            assert all(p.connected().is_failure for p in impostors)

            assert not gateway.subscribe(UP_ALL).is_failure
            for code, peer in peers.items():
                peer.subscribe(f"{mosquitto.TOPIC_ROOT}/{code}/down/#")
                peer.subscribe(UP_ALL)  # granted by Mosquitto 2.0, but nothing is delivered on it
            for code, peer in peers.items():
                for other in peers:
                    if other == code:
                        continue
                    for way in ("up/event", "down/command"):
                        answer = peer.publish(f"{mosquitto.TOPIC_ROOT}/{other}/{way}", f"spoof {code}")
                        assert answer.is_failure and answer.value == 0x87, (code, other, way)
            with pytest.raises(queue.Empty):
                gateway.messages.get(timeout=QUIET_S)

            for code, peer in peers.items():
                own = f"{mosquitto.TOPIC_ROOT}/{code}/up/event"
                assert not peer.publish(own, f"own {code}").is_failure
                assert gateway.messages.get(timeout=WAIT_S) == (own, f"own {code}".encode())
                assert not gateway.publish(f"{mosquitto.TOPIC_ROOT}/{code}/down/command", f"cmd {code}").is_failure
                assert peer.messages.get(timeout=WAIT_S) == (f"{mosquitto.TOPIC_ROOT}/{code}/down/command",
                                                             f"cmd {code}".encode())
            # Nothing else reached anyone: not the gateway, not a device on its subscription to all uplink.
            with pytest.raises(queue.Empty):
                gateway.messages.get(timeout=QUIET_S)
            assert all(peer.messages.empty() for peer in peers.values())
            assert gateway.disconnects.empty() and all(peer.disconnects.empty() for peer in peers.values())
        finally:
            for peer in (gateway, *peers.values(), *impostors):
                peer.close()
