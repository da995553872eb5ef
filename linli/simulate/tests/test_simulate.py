"""`linli simulate` against a gateway started in the test (HTTP app, writer, directory and the MQTT
ingress on a private Mosquitto): every kind of device is heard in its own language, broken
messages become dead letters with their reason, resends are stored once, and what the
simulator saw acknowledged is exactly what the database holds."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiohttp import web

from linli.devices import catalogue
from linli.devices import services as devices
from linli.devices.directory import DeviceDirectory
from linli.devices.models import DeviceType
from linli.devices.mosquitto import GATEWAY_USERNAME, LOOPBACK
from linli.devices.tests.test_mosquitto import GATEWAY_SECRET, running_broker
from linli.events import types
from linli.events.models import DeadLetter, Event
from linli.events.writer import EventWriter
from linli.gateway.http import build_app
from linli.gateway.mqtt import MqttIngress, MqttSettings
from linli.simulate.command import NBIOT_PRODUCTS_ENV, NBIOT_SECRET_ENV
from linli.simulate.fleet import NBIOT_PRODUCT, load_fleet, provision
from linli.simulate.runner import Burst, Options, Simulator
from linli.simulate.traffic import HTTP, MQTT

pytestmark = pytest.mark.django_db(transaction=True)
NOT_COUNTED = (types.STATUS, types.COMMAND_ACK)  # the simulator's own bookkeeping messages


@pytest.fixture
def fleet(district, tmp_path, monkeypatch, settings):
    """One active device of every type in the catalogue, with credentials the simulator holds."""
    catalogue.install(DeviceType)
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    settings.MEDIA_ROOT = tmp_path / "media"
    made = [devices.register_device(actor=district.admin, compound=district.a.compound, device_type=t,
                                    serial=f"8612345{i:08d}", name=f"{t.name} 1", building=district.a.building,
                                    unit=district.a.unit, floor=2)
            for i, t in enumerate(DeviceType.objects.order_by("code"))]
    provision(made, actor=district.admin)
    found, missing = load_fleet()
    assert {d.code for d in found} == {d.code for d in made}
    assert missing == 2  # the district's own smoke detectors: no secrets, not simulated
    return found


async def _serve(options: Options, simulator_fleet, broker_port: int) -> Simulator:
    writer = EventWriter(max_batch=100, max_wait_s=0.002)
    await writer.start()
    directory = DeviceDirectory()
    await asyncio.to_thread(directory.load)
    ingress = MqttIngress(writer=writer, directory=directory,
                          settings=MqttSettings(host=LOOPBACK, port=broker_port, username=GATEWAY_USERNAME,
                                                password=GATEWAY_SECRET, client_id="gw-sim-test"))
    runner = web.AppRunner(build_app(writer=writer, directory=directory))
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await ingress.start()
    await asyncio.wait_for(ingress.connected.wait(), 10)
    await asyncio.sleep(0.2)  # the shared subscription is in place
    options.gateway_url = f"http://{LOOPBACK}:{port}"
    simulator = Simulator(simulator_fleet, options)
    try:
        await simulator.run()
        # What the broker took is stored by the gateway a moment later.
        for _ in range(100):
            if ingress.acknowledged >= simulator.stats.by_transport[MQTT]:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        await ingress.stop()
        await runner.cleanup()
        await writer.stop()
    return simulator


def test_every_device_kind_is_heard_and_broken_messages_become_dead_letters(fleet, tmp_path, monkeypatch):
    monkeypatch.setenv(NBIOT_SECRET_ENV, "test-nbiot-secret")
    monkeypatch.setenv(NBIOT_PRODUCTS_ENV, NBIOT_PRODUCT)
    with running_broker(tmp_path / "broker") as broker:
        options = Options(mqtt_host=LOOPBACK, mqtt_port=broker.port, nbiot_secret="test-nbiot-secret", rate=60,
                          duration=3.0, malformed=0.15, duplicates=0.15, incident_every_s=1.0, images=0.5,
                          summary_every_s=0, drain_s=10, seed=7)
        simulator = asyncio.run(_serve(options, fleet, broker.port))
    stats = simulator.stats
    assert stats.errors == 0 and stats.unconfirmed == 0
    assert stats.by_transport[HTTP] > 0 and stats.by_transport[MQTT] > 0

    stored = Counter(Event.objects.exclude(type__in=NOT_COUNTED).values_list("type", flat=True))
    # Exactly what was acknowledged, each message once (duplicates were resent, not stored again).
    assert sum(stored.values()) == stats.events_acked + 2  # + the district's own smoke alarms
    assert stats.duplicates > 0
    # Every kind of traffic made it, through its own adapter.
    for event_type in (types.PLATE_READ, types.DOOR_ACCESS, types.SPACE_OCCUPANCY, types.TELEMETRY,
                       types.HEARTBEAT, types.WATER_READING, types.INTRUSION):
        assert stored[event_type] > 0, event_type
    assert Event.objects.filter(type=types.STATUS, payload={"online": True}).exists()  # MQTT devices said hello
    assert Event.objects.filter(type=types.PLATE_READ).exclude(evidence=[]).exists()  # with a snapshot
    kinds_heard = set(Event.objects.values_list("device__device_type__kind", flat=True))
    assert len(kinds_heard) == len({d.kind for d in fleet})

    # Broken on purpose: refused over HTTP with a 4xx, and kept with the reason either way.
    assert stats.malformed > 0
    letters = DeadLetter.objects.exclude(reason="payload not understood")  # the district's own
    assert letters.count() == stats.malformed
    reasons = set(letters.values_list("reason", flat=True))
    assert reasons <= {"malformed JSON", "unknown event type", "body is not valid JSON",
                       "unknown or revoked device token", "token belongs to another device"}
    assert reasons & {"malformed JSON", "body is not valid JSON"}


def test_offline_devices_fall_silent_and_a_burst_multiplies_the_rate(fleet, tmp_path):
    with running_broker(tmp_path / "broker") as broker:
        options = Options(mqtt_host=LOOPBACK, mqtt_port=broker.port, rate=20, duration=2.5, offline=0.5,
                          burst=Burst(factor=4, seconds=1.0, start_s=1.0), heartbeats=False, summary_every_s=0,
                          seed=3)
        simulator = asyncio.run(_serve(options, fleet, broker.port))
    silent = simulator.silent
    assert len(silent) == round(len(fleet) * 0.5)
    # Everyday traffic: 20/s for 1.5 s and 80/s for 1 s, give or take a tick; plus one hello per device.
    assert 80 <= simulator.stats.sent - len(fleet) <= 130
    # Nothing from a silent device after it fell silent; an MQTT one left its Last Will behind.
    after = Event.objects.filter(device__code__in=silent, received_at__gt=simulator.silenced_at)
    assert not after.exclude(type=types.STATUS).exists()
    silent_mqtt = {d.code for d in fleet if d.code in silent and d.mqtt_password}
    offline = set(Event.objects.filter(type=types.STATUS, payload={"online": False})
                  .values_list("device__code", flat=True))
    assert silent_mqtt and offline == silent_mqtt
