"""MQTT ingress end to end through a real Mosquitto configured by Linli: stored once, then
acknowledged; poison dead-lettered without stopping the ingress; commands reach one device."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import queue
import uuid
from types import SimpleNamespace

import paho.mqtt.client as mqtt
import pytest
from django.db import DataError, OperationalError
from django.utils import timezone

from linli.devices import catalogue
from linli.devices import services as devices
from linli.devices.directory import DeviceDirectory
from linli.devices.models import DeviceType, Lifecycle
from linli.devices.mosquitto import GATEWAY_USERNAME, LOOPBACK
from linli.devices.tests.test_mosquitto import GATEWAY_SECRET, QUIET_S, WAIT_S, Peer, running_broker
from linli.events import types
from linli.events.models import DeadLetter, Event
from linli.events.writer import EventWriter
from linli.gateway.mqtt import (
    HOST_ENV,
    DeviceLookup,
    MqttIngress,
    MqttSettings,
    Rejected,
    build_incoming,
    command_topic,
    parse_topic,
    start_mqtt_ingress,
    up_topic,
)

SETTLE_S = 15.0


def _event(message_id: str, event_type: str = types.SPACE_OCCUPANCY, **payload) -> str:
    return json.dumps({"message_id": message_id, "type": event_type,
                       "at": timezone.now().isoformat(), "payload": payload or {"occupied": True}})


async def _until(condition, within: float = SETTLE_S) -> None:
    """Poll a synchronous (database) condition from a thread until it holds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await asyncio.to_thread(condition):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class Gateway:
    """EventWriter + MqttIngress, started inside a test's event loop."""

    def __init__(self, port: int, writer: EventWriter | None = None):
        self.writer = writer or EventWriter(max_batch=100, max_wait_s=0.005)
        settings = MqttSettings(host=LOOPBACK, port=port, username=GATEWAY_USERNAME, password=GATEWAY_SECRET,
                                client_id=f"gw-{uuid.uuid4().hex[:8]}")
        self.ingress = MqttIngress(writer=self.writer, settings=settings, directory=DeviceLookup(ttl_s=0.2))

    async def __aenter__(self) -> MqttIngress:
        await self.writer.start()
        await self.ingress.start()
        await asyncio.wait_for(self.ingress.connected.wait(), WAIT_S)
        await asyncio.sleep(0.2)  # the SUBSCRIBE is sent right after CONNACK; let the broker take it
        return self.ingress

    async def __aexit__(self, *exc) -> None:
        await self.ingress.stop()
        await self.writer.stop()


@pytest.fixture(autouse=True)
def _catalogue(db):
    # A transactional test before us flushed the migrated device catalogue; build_district needs it.
    catalogue.install(DeviceType)


@pytest.fixture
def locks(district):
    lock_type = DeviceType.objects.get(code="ground-lock-mqtt")
    made = []
    for serial in ("GL-A", "GL-B", "GL-OFF"):
        device = devices.register_device(actor=district.admin, compound=district.a.compound,
                                         device_type=lock_type, serial=serial, name=f"地锁{serial}")
        made.append((device, devices.issue_credential(actor=district.admin, device=device, kind="mqtt_password")))
    return made


# --- the contract, without a broker ---------------------------------------------------------

class _Ref:
    id, compound_id = 7, 3


def test_topics_outside_the_contract_are_rejected():
    assert parse_topic("linli/v1/gl-a/up/event") == ("gl-a", "event")
    for topic in ("linli/v1/gl-a/up/bogus", "linli/v2/gl-a/up/event", "linli/v1/gl-a/down/command",
                  "linli/v1//up/event", "linli/v1/gl-a/up/event/extra"):
        with pytest.raises(Rejected):
            parse_topic(topic)


def test_an_event_needs_a_known_type_an_id_and_an_aware_time():
    now = timezone.now()
    ok = build_incoming(_Ref(), "event", _event("m1").encode(), now=now)
    assert (ok.device_id, ok.compound_id, ok.type, ok.message_id) == (7, 3, types.SPACE_OCCUPANCY, "m1")
    naive = json.dumps({"message_id": "m2", "type": types.TELEMETRY, "at": "2026-01-01T08:00:00", "payload": {}})
    for raw, reason in ((b"{not json", "malformed JSON"), (b"[1]", "not a JSON object"),
                        (_event("m3", "no.such_type").encode(), "unknown event type"),
                        (naive.encode(), "no UTC offset"),
                        (_event("m4", types.TELEMETRY, note="a\u0000b").encode(), "NUL character"),
                        (json.dumps({"type": types.TELEMETRY, "at": now.isoformat()}).encode(), "message_id")):
        with pytest.raises(Rejected, match=reason):
            build_incoming(_Ref(), "event", raw, now=now)


def test_a_payload_nested_too_deep_is_rejected_naming_the_nesting():
    # Deep enough to exhaust the parser's recursion, and merely deeper than any device message needs.
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"payload": ' + b"[" * 40 + b"]" * 40 + b"}"):
        with pytest.raises(Rejected) as rejected:
            build_incoming(_Ref(), "event", raw, now=timezone.now())
        assert rejected.value.reason == "malformed JSON"
        assert rejected.value.detail == "payload is nested deeper than 32 levels"


def test_a_last_will_and_an_ack_become_events():
    now = timezone.now()
    will = build_incoming(_Ref(), "status", b'{"online": false}', now=now)
    assert will.type == types.STATUS and will.payload == {"online": False} and will.at == now
    ack = build_incoming(_Ref(), "ack", b'{"command_id": "c1", "ok": true, "detail": "done"}', now=now)
    assert ack.type == types.COMMAND_ACK and ack.message_id == "ack-c1"
    assert ack.payload == {"command_id": "c1", "ok": True, "detail": "done"}


# --- through a real broker ------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_hundred_events_are_stored_exactly_once_even_when_one_is_resent(locks, tmp_path):
    (a, pa), _, _ = locks
    with running_broker(tmp_path) as broker:
        lock = Peer(broker.port, a.code, pa, "lock-a")

        async def scenario():
            async with Gateway(broker.port) as ingress:
                assert not lock.connected().is_failure
                for i in range(200):
                    lock.client.publish(up_topic(a.code, "event"), _event(f"occ-{i}"), qos=1)
                assert not lock.publish(up_topic(a.code, "event"), _event("occ-17")).is_failure  # a resend
                await _until(lambda: ingress.stored == 201)
                return ingress.dead_letters

        try:
            assert asyncio.run(scenario()) == 0
        finally:
            lock.close()
    assert Event.objects.filter(device=a).count() == 200
    assert Event.objects.filter(device=a, message_id="occ-17").count() == 1


@pytest.mark.django_db(transaction=True)
def test_poison_goes_to_dead_letters_and_the_ingress_keeps_running(district, locks, tmp_path):
    (a, pa), _, (off, p_off) = locks
    with running_broker(tmp_path) as broker:  # the broker still knows the lock we now disable
        devices.update_device(actor=district.admin, device=off, lifecycle=Lifecycle.DISABLED)
        lock, stale = Peer(broker.port, a.code, pa, "lock-a"), Peer(broker.port, off.code, p_off, "lock-off")

        async def scenario():
            async with Gateway(broker.port) as ingress:
                assert not lock.connected().is_failure and not stale.connected().is_failure
                lock.publish(up_topic(a.code, "event"), b"{definitely not json")
                lock.publish(up_topic(a.code, "event"), _event("x1", "no.such_type"))
                lock.publish(up_topic(a.code, "bogus"), _event("x2"))
                stale.publish(up_topic(off.code, "event"), _event("x3"))
                lock.publish(up_topic(a.code, "event"), _event("after-poison"))
                await _until(lambda: ingress.dead_letters == 4 and ingress.stored == 1)

        try:
            asyncio.run(scenario())
        finally:
            lock.close()
            stale.close()
    reasons = set(DeadLetter.objects.filter(source="mqtt").values_list("reason", flat=True))
    assert reasons == {"malformed JSON", "unknown event type", "topic outside the contract",
                       "unknown or disabled device"}
    assert DeadLetter.objects.get(reason="malformed JSON").device_id == a.pk
    assert Event.objects.filter(device=a, message_id="after-poison").exists()
    assert not Event.objects.filter(device=off).exists()


class _FlakyWriter(EventWriter):
    """The database refuses the first few submissions, as if it were restarting."""

    def __init__(self, failures: int):
        super().__init__(max_batch=10, max_wait_s=0.001)
        self.failures = failures

    async def submit_batch(self, messages):
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("database is restarting")
        return await super().submit_batch(messages)


@pytest.mark.django_db(transaction=True)
def test_a_message_the_database_could_not_take_is_retried_not_acknowledged_and_not_dead_lettered(locks, tmp_path):
    (a, pa), _, _ = locks
    with running_broker(tmp_path) as broker:
        lock = Peer(broker.port, a.code, pa, "lock-a")

        async def scenario():
            async with Gateway(broker.port, writer=_FlakyWriter(failures=2)) as ingress:
                assert not lock.connected().is_failure
                lock.client.publish(up_topic(a.code, "event"), _event("late"), qos=1)
                await asyncio.sleep(0.3)  # first attempt failed; the retry waits STORE_RETRY_MIN_S
                assert (ingress.stored, ingress.acknowledged) == (0, 0)  # no PUBACK while the database refuses it
                await _until(lambda: ingress.acknowledged == 1)
                assert ingress.stored == 1

        try:
            asyncio.run(scenario())
        finally:
            lock.close()
    assert Event.objects.filter(device=a, message_id="late").count() == 1
    assert not DeadLetter.objects.filter(source="mqtt").exists()


class _RefusingBatchWriter(EventWriter):
    """Every batch is refused for its content (as PostgreSQL would refuse one bad value)."""

    async def submit_batch(self, messages):
        raise DataError("a value in this batch cannot be stored")


@pytest.mark.django_db(transaction=True)
def test_a_batch_refused_for_its_content_is_stored_message_by_message_not_retried_forever(locks, tmp_path):
    (a, pa), _, _ = locks
    with running_broker(tmp_path) as broker:
        lock = Peer(broker.port, a.code, pa, "lock-a")

        async def scenario():
            async with Gateway(broker.port, writer=_RefusingBatchWriter()) as ingress:
                assert not lock.connected().is_failure
                lock.publish(up_topic(a.code, "event"), _event("alone"))
                await _until(lambda: ingress.acknowledged == 1)
                assert (ingress.stored, ingress.dead_letters) == (1, 0)

        try:
            asyncio.run(scenario())
        finally:
            lock.close()
    assert Event.objects.filter(device=a, message_id="alone").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_command_reaches_only_its_device_and_the_ack_is_stored(locks, tmp_path):
    (a, pa), (b, pb), _ = locks
    with running_broker(tmp_path) as broker:
        lock_a, lock_b = Peer(broker.port, a.code, pa, "lock-a"), Peer(broker.port, b.code, pb, "lock-b")

        async def scenario():
            async with Gateway(broker.port) as ingress:
                for lock, device in ((lock_a, a), (lock_b, b)):
                    assert not lock.connected().is_failure
                    assert not lock.subscribe(f"linli/v1/{device.code}/down/#").is_failure
                command_id = await ingress.send_command(b.code, "lock", {"target": "up"}, ttl_s=30,
                                                        issued_by="guard:1")
                topic, raw = await asyncio.to_thread(lock_b.messages.get, timeout=WAIT_S)
                assert topic == command_topic(b.code)
                command = json.loads(raw)
                assert command["command_id"] == command_id and command["name"] == "lock"
                assert command["params"] == {"target": "up"} and command["issued_by"] == "guard:1"
                expires = dt.datetime.fromisoformat(command["expires_at"])
                assert timezone.now() < expires <= timezone.now() + dt.timedelta(seconds=30)
                with pytest.raises(queue.Empty):
                    await asyncio.to_thread(lock_a.messages.get, timeout=QUIET_S)
                with pytest.raises(LookupError):
                    await ingress.send_command("no-such-lock", "lock", {})
                ack = json.dumps({"command_id": command_id, "ok": True, "detail": "locked"})
                assert not lock_b.publish(up_topic(b.code, "ack"), ack).is_failure
                await _until(lambda: Event.objects.filter(device=b, type=types.COMMAND_ACK).exists())
                return command_id

        try:
            command_id = asyncio.run(scenario())
        finally:
            lock_a.close()
            lock_b.close()
    assert Event.objects.get(device=b, type=types.COMMAND_ACK).payload["command_id"] == command_id


@pytest.mark.django_db(transaction=True)
def test_a_lost_device_is_marked_offline_by_its_last_will(locks, tmp_path):
    (a, pa), _, _ = locks
    with running_broker(tmp_path) as broker:
        lock = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lock-a", protocol=mqtt.MQTTv5)
        lock.username_pw_set(a.code, pa)
        lock.will_set(up_topic(a.code, "status"), '{"online": false}', qos=1, retain=True)

        async def scenario():
            async with Gateway(broker.port) as ingress:
                lock.connect(LOOPBACK, broker.port)
                lock.loop_start()
                lock.publish(up_topic(a.code, "status"), '{"online": true}', qos=1, retain=True)
                await _until(lambda: ingress.stored == 1)
                lock.loop_stop()
                lock.socket().close()  # the device drops off without DISCONNECT: the broker sends its will
                await _until(lambda: ingress.stored == 2)

        asyncio.run(scenario())
    statuses = list(Event.objects.filter(device=a, type=types.STATUS).order_by("id").values_list("payload", flat=True))
    assert statuses == [{"online": True}, {"online": False}]


@pytest.mark.django_db(transaction=True)
def test_the_ingress_reconnects_after_the_broker_restarts(locks, tmp_path):
    (a, pa), _, _ = locks
    with running_broker(tmp_path) as broker:
        async def scenario():
            async with Gateway(broker.port) as ingress:
                await asyncio.to_thread(broker.stop)
                await _until(lambda: not ingress.connected.is_set(), within=WAIT_S)
                await asyncio.to_thread(broker.start)
                await asyncio.wait_for(ingress.connected.wait(), SETTLE_S)
                await asyncio.sleep(0.2)
                lock = await asyncio.to_thread(Peer, broker.port, a.code, pa, "lock-a")
                try:
                    assert not (await asyncio.to_thread(lock.connected)).is_failure
                    await asyncio.to_thread(lock.publish, up_topic(a.code, "event"), _event("after-restart"))
                    await _until(lambda: ingress.stored == 1)
                finally:
                    lock.close()

        asyncio.run(scenario())
    assert Event.objects.filter(device=a, message_id="after-restart").exists()


def test_without_a_broker_configured_the_gateway_runs_http_only(monkeypatch):
    monkeypatch.delenv(HOST_ENV, raising=False)
    context = SimpleNamespace(writer=None, directory=None)
    stop = asyncio.run(start_mqtt_ingress(context))
    asyncio.run(stop())
    assert not hasattr(context, "mqtt")


@pytest.mark.django_db(transaction=True)
def test_the_gateway_hook_uses_the_shared_device_directory(locks, tmp_path, monkeypatch):
    (a, pa), _, _ = locks
    with running_broker(tmp_path) as broker:
        monkeypatch.setenv(HOST_ENV, LOOPBACK)
        monkeypatch.setenv("LINLI_MQTT_PORT", str(broker.port))
        monkeypatch.setenv("LINLI_MQTT_GATEWAY_PASSWORD", GATEWAY_SECRET)
        lock = Peer(broker.port, a.code, pa, "lock-a")

        async def scenario():
            directory = DeviceDirectory()
            await asyncio.to_thread(directory.load)
            context = SimpleNamespace(writer=EventWriter(), directory=directory)
            await context.writer.start()
            stop = await start_mqtt_ingress(context)
            try:
                await asyncio.wait_for(context.mqtt.connected.wait(), WAIT_S)
                await asyncio.sleep(0.2)
                assert not lock.connected().is_failure
                lock.publish(up_topic(a.code, "telemetry"), _event("t1", types.TELEMETRY, battery_v=3.6))
                await _until(lambda: context.mqtt.stored == 1)
            finally:
                await stop()
                await context.writer.stop()

        try:
            asyncio.run(scenario())
        finally:
            lock.close()
    assert Event.objects.get(device=a, message_id="t1").payload == {"battery_v": 3.6}


@pytest.mark.django_db(transaction=True)
def test_a_lone_gateways_subscription_outlives_a_broker_restart(locks, tmp_path):
    """Mosquitto keeps a plain subscription of a persistent session over its restart (not a shared
    one): what a device sends before the gateway is back waits for it instead of being dropped."""
    from linli.devices import mosquitto
    from linli.devices.tests.test_mosquitto import Broker, free_port, mosquitto_or_skip

    (a, pa), _, _ = locks
    port = free_port()
    files = mosquitto.write_broker_files(tmp_path, port=port, gateway_secret=GATEWAY_SECRET, persistence_dir=tmp_path,
                                         run_as="root" if os.geteuid() == 0 else None)
    broker = Broker(port, files, mosquitto_or_skip())
    broker.start()
    settings = MqttSettings(host=LOOPBACK, port=port, username=GATEWAY_USERNAME, password=GATEWAY_SECRET,
                            client_id="gw-lone", shared=False)
    try:
        async def scenario():
            writer = EventWriter(max_batch=10, max_wait_s=0.001)
            await writer.start()
            try:
                first = MqttIngress(writer=writer, settings=settings, directory=DeviceLookup(ttl_s=0.2))
                await first.start()
                await asyncio.wait_for(first.connected.wait(), WAIT_S)
                await asyncio.sleep(0.2)
                await first.stop()  # the gateway is away; its session stays with the broker
                broker.proc.terminate()  # SIGTERM: the broker saves its state and stops
                broker.proc.wait()
                broker.start()
                lock = await asyncio.to_thread(Peer, port, a.code, pa, "lock-a")
                try:
                    assert not (await asyncio.to_thread(lock.connected)).is_failure
                    reason = await asyncio.to_thread(lock.publish, up_topic(a.code, "event"), _event("meanwhile"))
                finally:
                    lock.close()
                assert reason.value == 0  # accepted for a subscriber (not 0x10 "no matching subscribers")
                again = MqttIngress(writer=writer, settings=settings, directory=DeviceLookup(ttl_s=0.2))
                await again.start()
                try:
                    await _until(lambda: again.stored == 1)
                finally:
                    await again.stop()
            finally:
                await writer.stop()

        asyncio.run(scenario())
    finally:
        broker.stop()
    assert Event.objects.filter(device=a, message_id="meanwhile").count() == 1
