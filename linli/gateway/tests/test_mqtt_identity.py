"""No MQTT client can take over another's session, against a real Mosquitto configured by Linli:
a device that logs in with its own secret but the gateway's client id, or another device's code,
neither disconnects that client nor receives what was meant for it; gateway workers each keep a
session of their own."""

from __future__ import annotations

import asyncio
import json
import queue
from types import SimpleNamespace

import pytest
from django.utils import timezone

from linli.devices import catalogue, mosquitto
from linli.devices import services as devices
from linli.devices.models import CredentialKind, DeviceType
from linli.devices.tests.test_mosquitto import GATEWAY_SECRET, QUIET_S, WAIT_S, Peer, running_broker
from linli.events import types
from linli.events.models import Event
from linli.events.writer import EventWriter
from linli.gateway.mqtt import (
    CLIENT_ID_ENV,
    HOST_ENV,
    REPLICA_ENV,
    MqttIngress,
    MqttSettings,
    default_client_id,
    gateway_username,
    start_mqtt_ingress,
    up_topic,
)

SETTLE_S = 15.0
SAMPLE_S = 0.01  # a dropped gateway stays away at least a second before it reconnects


@pytest.fixture(autouse=True)
def _catalogue(db):
    # A transactional test before us flushed the migrated device catalogue; build_district needs it.
    catalogue.install(DeviceType)


@pytest.fixture
def two_locks(district):
    lock_type = DeviceType.objects.get(code="ground-lock-mqtt")
    made = []
    for serial in ("GL-A", "GL-B"):
        device = devices.register_device(actor=district.admin, compound=district.a.compound, device_type=lock_type,
                                         serial=serial, name=f"地锁{serial}", lifecycle="active")
        made.append((device, devices.issue_credential(actor=district.admin, device=device,
                                                      kind=CredentialKind.MQTT_PASSWORD)))
    return made


@pytest.fixture
def gateway_env(monkeypatch):
    """The gateway's environment for a broker on `port`, as `linli gateway` reads it."""

    def point_at(port: int) -> None:
        monkeypatch.setenv(HOST_ENV, mosquitto.LOOPBACK)
        monkeypatch.setenv("LINLI_MQTT_PORT", str(port))
        monkeypatch.setenv(mosquitto.GATEWAY_PASSWORD_ENV, GATEWAY_SECRET)
        monkeypatch.delenv(CLIENT_ID_ENV, raising=False)
        monkeypatch.delenv(REPLICA_ENV, raising=False)
        monkeypatch.delenv("LINLI_MQTT_SHARED", raising=False)

    return point_at


def _event(message_id: str) -> str:
    return json.dumps({"message_id": message_id, "type": types.SPACE_OCCUPANCY, "at": timezone.now().isoformat(),
                       "payload": {"occupied": True}})


async def _until(condition, within: float = SETTLE_S) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await asyncio.to_thread(condition):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class Worker:
    """One gateway process's MQTT ingress, started through the gateway's own hook with the
    identity `linli gateway [--workers N]` gives worker `index` (the supervisor also sets
    LINLI_MQTT_CLIENT_ID to `<base>-<index>` in each worker)."""

    def __init__(self, writer: EventWriter, index: int = 0, workers: int = 1):
        self.context = SimpleNamespace(writer=writer, directory=None, worker=index, workers=workers)
        self.index, self.workers = index, workers
        self.drops = 0
        self._stop = None
        self._watch: asyncio.Task | None = None

    @property
    def ingress(self) -> MqttIngress:
        return self.context.mqtt

    async def start(self, monkeypatch) -> MqttIngress:
        if self.workers > 1:
            monkeypatch.setenv(CLIENT_ID_ENV, f"{default_client_id()}-{self.index}")
        self._stop = await start_mqtt_ingress(self.context)
        await asyncio.wait_for(self.ingress.connected.wait(), WAIT_S)
        await asyncio.sleep(0.2)  # the SUBSCRIBE goes right after CONNACK; let the broker take it
        self._watch = asyncio.get_running_loop().create_task(self._count_drops())
        return self.ingress

    async def _count_drops(self) -> None:
        was_up = True
        while True:
            up = self.ingress.connected.is_set()
            self.drops += was_up and not up
            was_up = up
            await asyncio.sleep(SAMPLE_S)

    def ids_a_device_could_claim(self) -> list[str]:
        """Every client id this gateway is known by: the one it sent and its broker account, and the
        documented, guessable `linli-gateway-<host>[-<index>]`."""
        base = default_client_id()
        guessable = f"{base}-{self.index}" if self.workers > 1 else base
        settings = self.ingress.settings
        return list(dict.fromkeys([settings.client_id, settings.username, guessable]))

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._stop is not None:
            stop, self._stop = self._stop, None
            await stop()


async def _as_a_device_claiming(port: int, device, secret: str, client_id: str, message_id: str) -> object:
    """Log in with the device's own secret but `client_id`, send one event, leave; the PUBACK reason."""
    peer = await asyncio.to_thread(Peer, port, device.code, secret, client_id)
    try:
        assert not (await asyncio.to_thread(peer.connected)).is_failure, client_id
        return await asyncio.to_thread(peer.publish, up_topic(device.code, "event"), _event(message_id))
    finally:
        await asyncio.to_thread(peer.close)


def test_each_gateway_process_logs_in_with_an_account_of_its_own(monkeypatch):
    monkeypatch.delenv(REPLICA_ENV, raising=False)
    monkeypatch.setenv(mosquitto.GATEWAY_PASSWORD_ENV, GATEWAY_SECRET)
    monkeypatch.setenv(CLIENT_ID_ENV, "what-the-supervisor-sets")  # not read: the session is the account's
    assert gateway_username() == "linli-gateway"
    assert [gateway_username(worker=i, workers=3) for i in range(3)] == [f"linli-gateway-{i}" for i in range(3)]
    settings = MqttSettings.from_env(worker=1, replicas=2)
    assert (settings.username, settings.client_id, settings.password) == ("linli-gateway-1", "linli-gateway-1",
                                                                          GATEWAY_SECRET)
    # A second host takes the next range; a lone process there is a replica too.
    monkeypatch.setenv(REPLICA_ENV, "4")
    assert gateway_username() == "linli-gateway-4"
    assert [gateway_username(worker=i, workers=2) for i in range(2)] == ["linli-gateway-4", "linli-gateway-5"]
    # Past the accounts the broker files hold, a worker refuses to start rather than share one.
    assert gateway_username(worker=11, workers=12) == f"linli-gateway-{mosquitto.GATEWAY_REPLICAS - 1}"
    with pytest.raises(ValueError, match="no broker account"):
        gateway_username(worker=12, workers=13)
    for nonsense in ("-1", "two"):
        monkeypatch.setenv(REPLICA_ENV, nonsense)
        with pytest.raises(ValueError, match=REPLICA_ENV):
            gateway_username()


@pytest.mark.django_db(transaction=True)
def test_a_device_using_the_gateways_client_id_neither_drops_the_gateway_nor_takes_its_session(
        two_locks, tmp_path, gateway_env, monkeypatch):
    (a, pa), _ = two_locks
    with running_broker(tmp_path) as broker:
        gateway_env(broker.port)

        async def scenario() -> list[str]:
            writer = EventWriter(max_batch=50, max_wait_s=0.005)
            await writer.start()
            gateway = Worker(writer)
            try:
                ingress = await gateway.start(monkeypatch)
                sent = []
                for n, client_id in enumerate(gateway.ids_a_device_could_claim()):
                    sent.append(f"claim-{n}")
                    reason = await _as_a_device_claiming(broker.port, a, pa, client_id, sent[-1])
                    assert reason.value == 0, (client_id, reason)  # taken by a subscriber: the gateway
                await asyncio.sleep(QUIET_S)
                assert gateway.drops == 0, "the broker disconnected the gateway"
                await _until(lambda: ingress.stored == len(sent), within=WAIT_S)
                assert ingress.connected.is_set()
                return sent
            finally:
                await gateway.stop()
                await writer.stop()

        sent = asyncio.run(scenario())
    assert sorted(Event.objects.filter(device=a).values_list("message_id", flat=True)) == sorted(sent)


@pytest.mark.django_db(transaction=True)
def test_a_device_using_another_devices_code_as_client_id_does_not_drop_it(two_locks, tmp_path):
    (a, pa), (b, pb) = two_locks
    down_b = f"{mosquitto.TOPIC_ROOT}/{b.code}/down/command"
    with running_broker(tmp_path) as broker:
        gateway = Peer(broker.port, mosquitto.GATEWAY_USERNAME, GATEWAY_SECRET, "gw")
        # Lock B connects as Linli's devices do, client id = its code.
        lock_b = Peer(broker.port, b.code, pb, b.code)
        intruder = None
        try:
            assert not gateway.connected().is_failure and not lock_b.connected().is_failure
            assert not gateway.subscribe(f"{mosquitto.TOPIC_ROOT}/+/up/#").is_failure
            assert not lock_b.subscribe(down_b).is_failure
            intruder = Peer(broker.port, a.code, pa, b.code)  # lock A's own secret, lock B's client id
            assert not intruder.connected().is_failure
            with pytest.raises(queue.Empty):
                lock_b.disconnects.get(timeout=QUIET_S)
            # B still has its session: it hears its command; A, though it claimed B's id, does not.
            assert not gateway.publish(down_b, b"cmd").is_failure
            assert lock_b.messages.get(timeout=WAIT_S) == (down_b, b"cmd")
            with pytest.raises(queue.Empty):
                intruder.messages.get(timeout=QUIET_S)
            # Each still speaks as itself only.
            assert not lock_b.publish(f"{mosquitto.TOPIC_ROOT}/{b.code}/up/event", b"b").is_failure
            assert intruder.publish(f"{mosquitto.TOPIC_ROOT}/{b.code}/up/event", b"spoof").value == 0x87
            assert not intruder.publish(f"{mosquitto.TOPIC_ROOT}/{a.code}/up/event", b"a").is_failure
            heard = {gateway.messages.get(timeout=WAIT_S) for _ in range(2)}
            assert heard == {(f"{mosquitto.TOPIC_ROOT}/{b.code}/up/event", b"b"),
                             (f"{mosquitto.TOPIC_ROOT}/{a.code}/up/event", b"a")}
            assert lock_b.disconnects.empty() and gateway.disconnects.empty()
        finally:
            for peer in (gateway, lock_b, intruder):
                if peer is not None:
                    peer.close()


@pytest.mark.django_db(transaction=True)
def test_two_gateway_workers_stay_connected_and_each_resumes_its_own_session(two_locks, tmp_path, gateway_env,
                                                                             monkeypatch):
    (a, pa), (b, pb) = two_locks
    with running_broker(tmp_path) as broker:
        gateway_env(broker.port)

        async def scenario() -> set[str]:
            writer = EventWriter(max_batch=50, max_wait_s=0.005)
            await writer.start()
            workers = [Worker(writer, index, workers=2) for index in range(2)]
            ingresses: list[MqttIngress] = []
            sent: set[str] = set()

            def stored() -> int:
                return sum(i.stored for i in ingresses)

            try:
                for worker in workers:
                    ingresses.append(await worker.start(monkeypatch))
                # A device claiming either worker's client id drops neither.
                for worker in workers:
                    for n, client_id in enumerate(worker.ids_a_device_could_claim()):
                        sent.add(f"w{worker.index}-claim-{n}")
                        reason = await _as_a_device_claiming(broker.port, a, pa, client_id, f"w{worker.index}-claim-{n}")
                        assert reason.value == 0, (client_id, reason)
                await asyncio.sleep(QUIET_S)
                assert [w.drops for w in workers] == [0, 0], "a worker was disconnected"
                await _until(lambda: stored() == len(sent), within=WAIT_S)

                # Worker 1 goes away (a restart); what the broker queued in its session while it
                # was gone reaches it when it is back under the same identity.
                await workers[1].stop()
                lock_b = await asyncio.to_thread(Peer, broker.port, b.code, pb, b.code)
                try:
                    assert not (await asyncio.to_thread(lock_b.connected)).is_failure
                    for n in range(20):
                        sent.add(f"away-{n}")
                        assert (await asyncio.to_thread(lock_b.publish, up_topic(b.code, "event"),
                                                        _event(f"away-{n}"))).value == 0
                finally:
                    await asyncio.to_thread(lock_b.close)
                workers[1] = Worker(writer, 1, workers=2)
                back = await workers[1].start(monkeypatch)
                ingresses.append(back)
                await _until(lambda: stored() == len(sent))
                assert back.stored > 0, "nothing was waiting in the returning worker's session"
                await asyncio.sleep(QUIET_S)
                assert [w.drops for w in workers] == [0, 0] and all(w.ingress.connected.is_set() for w in workers)
                return sent
            finally:
                for worker in workers:
                    await worker.stop()
                await writer.stop()

        sent = asyncio.run(scenario())
    assert set(Event.objects.values_list("message_id", flat=True)) >= sent
    assert Event.objects.filter(message_id__in=sent).count() == len(sent)
