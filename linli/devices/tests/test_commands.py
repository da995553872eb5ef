"""Device commands: queued as rows, checked against the device's capabilities, sent by the
gateway over MQTT, closed by the device's ack (matched by command id), never sent stale."""

import asyncio
import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.core.errors import NotFound
from linli.devices import commands
from linli.devices import services as devices
from linli.devices.models import CommandStatus, DeviceCommand, DeviceType, Lifecycle
from linli.events import types
from linli.events.pipeline import Incoming, store


@pytest.fixture
def lock(district):
    return devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="ground-lock-mqtt"), serial="GL-C1",
                                   name="地锁C1")


def _ack(device, command_id, ok=True, message_id=None):
    store([Incoming(device.pk, device.compound_id, types.COMMAND_ACK, message_id or f"ack-{command_id}",
                    timezone.now(), {"command_id": command_id, "ok": ok, "detail": "done" if ok else "jammed"})])


def test_a_guard_queues_a_command_the_device_can_do_and_it_is_audited(district, lock):
    command = devices.send_command(actor=district.a.users["guard"], device=lock, name="unlock", ttl_s=30)
    assert command.status == CommandStatus.PENDING and command.issued_by.startswith("user:")
    assert dt.timedelta(seconds=29) < command.expires_at - command.created_at <= dt.timedelta(seconds=30)
    from linli.core.models import AuditEntry

    assert AuditEntry.objects.filter(object_type__endswith="devicecommand", object_id=str(command.pk)).exists()


@pytest.mark.parametrize(("name", "ttl_s", "field"), [("open_sesame", 30, "name"), ("unlock", 0, "ttl_s"),
                                                      ("unlock", 2 * 86400, "ttl_s")])
def test_commands_the_device_cannot_take_are_refused_naming_why(district, lock, name, ttl_s, field):
    with pytest.raises(ValidationError) as caught:
        devices.send_command(actor=district.admin, device=lock, name=name, ttl_s=ttl_s)
    assert field in caught.value.message_dict
    assert not DeviceCommand.objects.filter(device=lock).exists()


def test_a_disabled_device_takes_no_commands(district, lock):
    devices.update_device(actor=district.admin, device=lock, lifecycle=Lifecycle.DISABLED)
    lock.refresh_from_db()
    with pytest.raises(ValidationError):
        devices.send_command(actor=district.admin, device=lock, name="unlock")


def test_staff_without_the_right_or_outside_the_compound_cannot_command(district, lock):
    with pytest.raises(NotFound):
        devices.send_command(actor=district.b.users["guard"], device=lock, name="unlock")
    with pytest.raises(NotFound):  # a cashier does not even see devices
        devices.send_command(actor=district.a.users["cashier"], device=lock, name="unlock")


def test_a_device_without_a_down_channel_fails_at_once_instead_of_waiting(district):
    smoke = district.a.device  # NB-IoT: the operator platform holds no commands for us
    DeviceType.objects.filter(pk=smoke.device_type_id).update(capabilities=["smoke", "self_test"])
    smoke.refresh_from_db()
    command = commands.queue(smoke, "self_test")
    assert command.status == CommandStatus.FAILED and command.detail


def test_the_ack_closes_only_the_command_of_that_device(district, lock):
    other = devices.register_device(actor=district.admin, compound=district.a.compound,
                                    device_type=lock.device_type, serial="GL-C2", name="地锁C2")
    ok = commands.queue(lock, "unlock")
    jammed = commands.queue(lock, "lock")
    _ack(other, ok.command_id, message_id="forged")  # another device cannot close our command
    ok.refresh_from_db()
    assert ok.status == CommandStatus.PENDING
    _ack(lock, ok.command_id)
    _ack(lock, jammed.command_id, ok=False)
    ok.refresh_from_db()
    jammed.refresh_from_db()
    assert ok.status == CommandStatus.ACKED and ok.acked_at is not None and ok.detail == "done"
    assert jammed.status == CommandStatus.FAILED and jammed.detail == "jammed"


def test_a_stale_command_expires_instead_of_being_sent(district, lock):
    command = commands.queue(lock, "unlock", ttl_s=5)
    assert commands.claim_due(timezone.now()) == [command]
    assert commands.claim_due(timezone.now() + dt.timedelta(seconds=6)) == []
    command.refresh_from_db()
    assert command.status == CommandStatus.EXPIRED


@pytest.mark.django_db(transaction=True)
def test_a_failed_publish_is_retried_then_given_up(district, lock):
    command = commands.queue(lock, "unlock")

    async def broker_down(cmd):
        raise ConnectionError("no broker")

    for _ in range(commands.MAX_ATTEMPTS):
        assert asyncio.run(commands.deliver_once(broker_down)) == 0
    command.refresh_from_db()
    assert command.status == CommandStatus.FAILED and command.attempts == commands.MAX_ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_a_queued_command_reaches_the_device_through_mosquitto_and_its_ack_closes_it(district, tmp_path):
    from linli.devices.tests.test_mosquitto import WAIT_S, Peer, running_broker
    from linli.gateway.mqtt import command_topic, up_topic
    from linli.gateway.tests.test_mqtt import Gateway, _until

    lock = devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="ground-lock-mqtt"), serial="GL-M1",
                                   name="地锁M1")
    password = devices.issue_credential(actor=district.admin, device=lock, kind="mqtt_password")
    with running_broker(tmp_path) as broker:
        peer = Peer(broker.port, lock.code, password, "lock-m1")

        async def scenario():
            async with Gateway(broker.port) as ingress:
                assert not peer.connected().is_failure
                assert not peer.subscribe(f"linli/v1/{lock.code}/down/#").is_failure
                stop = await commands.start_command_sender(SimpleNamespace(mqtt=ingress), every_s=0.2)
                try:
                    command = await asyncio.to_thread(
                        devices.send_command, actor=district.a.users["guard"], device=lock, name="unlock",
                        params={"reason": "访客"})
                    topic, raw = await asyncio.to_thread(peer.messages.get, timeout=WAIT_S)
                    body = json.loads(raw)
                    assert topic == command_topic(lock.code)
                    assert body["command_id"] == command.command_id and body["params"] == {"reason": "访客"}
                    await _until(lambda: DeviceCommand.objects.get(pk=command.pk).status == CommandStatus.SENT)
                    ack = json.dumps({"command_id": command.command_id, "ok": True, "detail": "unlocked"})
                    assert not peer.publish(up_topic(lock.code, "ack"), ack).is_failure
                    await _until(lambda: DeviceCommand.objects.get(pk=command.pk).status == CommandStatus.ACKED)
                finally:
                    await stop()

        try:
            asyncio.run(scenario())
        finally:
            peer.close()
