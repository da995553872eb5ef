"""The broker configuration Linli generates, checked against a real Mosquitto: each device
publishes and receives only under its own code; strangers are turned away."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from linli.devices import catalogue, credentials, mosquitto
from linli.devices import services as devices
from linli.devices.models import DeviceType, Lifecycle

WAIT_S = 5.0
QUIET_S = 0.7  # how long we listen to be sure a message does NOT arrive
GATEWAY_SECRET = "gateway-test-secret"


def mosquitto_or_skip() -> str:
    binary = mosquitto.mosquitto_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is required on CI but not installed")
        pytest.skip("mosquitto not installed")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind((mosquitto.LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class Broker:
    port: int
    files: mosquitto.BrokerFiles
    binary: str
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = mosquitto.spawn_broker(self.files, port=self.port, binary=self.binary)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@contextlib.contextmanager
def running_broker(directory: Path):
    """A private Mosquitto on a free port with the files Linli generates right now."""
    binary = mosquitto_or_skip()
    port = free_port()
    # Started as root, mosquitto would switch to the `mosquitto` user and lose read access to tmp files.
    run_as = "root" if os.geteuid() == 0 else None
    files = mosquitto.write_broker_files(directory, port=port, gateway_secret=GATEWAY_SECRET, run_as=run_as)
    broker = Broker(port, files, binary)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Peer:
    """A synchronous MQTT 5 client that records what happens to it."""

    def __init__(self, port: int, username: str | None, password: str | None, client_id: str):
        self.connack: queue.Queue = queue.Queue()
        self.suback: queue.Queue = queue.Queue()
        self.messages: queue.Queue = queue.Queue()
        self.disconnects: queue.Queue = queue.Queue()  # the broker's reason each time it dropped us
        self.pubacks: dict[int, object] = {}
        self._puback_seen = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, rc, p: self.connack.put(rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.suback.put(rcs)
        self.client.on_message = lambda c, u, msg: self.messages.put((msg.topic, msg.payload))
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda c, u, f, rc, p: self.disconnects.put(rc)
        self.client.connect(mosquitto.LOOPBACK, port)
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._puback_seen:
            self.pubacks[mid] = reason_code
            self._puback_seen.notify_all()

    def connected(self) -> object:
        return self.connack.get(timeout=WAIT_S)

    def subscribe(self, topic: str) -> object:
        self.client.subscribe(topic, qos=1)
        return self.suback.get(timeout=WAIT_S)[0]

    def publish(self, topic: str, payload: bytes | str) -> object:
        """Publish with QoS 1 and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        with self._puback_seen:
            self._puback_seen.wait_for(lambda: info.mid in self.pubacks, timeout=WAIT_S)
        return self.pubacks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(autouse=True)
def _catalogue(db):
    # A transactional test before us flushed the migrated device catalogue; build_district needs it.
    catalogue.install(DeviceType)


@pytest.fixture
def two_locks(district):
    lock_type = DeviceType.objects.get(code="ground-lock-mqtt")
    made = []
    for serial in ("GL-A", "GL-B"):
        device = devices.register_device(actor=district.admin, compound=district.a.compound,
                                         device_type=lock_type, serial=serial, name=f"地锁{serial}")
        made.append((device, devices.issue_credential(actor=district.admin, device=device, kind="mqtt_password")))
    return made


def test_the_password_file_is_the_live_mqtt_credentials_plus_the_gateways(district, two_locks, tmp_path):
    (a, pa), (b, _) = two_locks
    pa2 = devices.issue_credential(actor=district.admin, device=a, kind="mqtt_password")  # rotation revokes pa
    devices.update_device(actor=district.admin, device=b, lifecycle=Lifecycle.DISABLED)
    files = mosquitto.write_broker_files(tmp_path, gateway_secret=GATEWAY_SECRET)
    lines = dict(line.split(":", 1) for line in files.password_file.read_text().splitlines())
    # The lone gateway's account and one per replica, all with the gateway's password.
    assert list(lines) == [*mosquitto.GATEWAY_USERNAMES, a.code]
    assert mosquitto.GATEWAY_USERNAMES[1:] == tuple(f"linli-gateway-{n}" for n in range(mosquitto.GATEWAY_REPLICAS))
    assert credentials.mosquitto_verify(pa2, lines[a.code]) and not credentials.mosquitto_verify(pa, lines[a.code])
    assert all(credentials.mosquitto_verify(GATEWAY_SECRET, lines[name]) for name in mosquitto.GATEWAY_USERNAMES)
    assert oct(files.password_file.stat().st_mode & 0o777) == oct(mosquitto.PRIVATE_MODE)
    conf = files.conf.read_text()
    assert "allow_anonymous false" in conf and "per_listener_settings false" in conf
    # Every client's session is its account's (a listener option: after the listener's line).
    assert f"listener {mosquitto.DEFAULT_PORT} 127.0.0.1\nuse_username_as_clientid true\n" in conf


def test_a_listener_off_loopback_needs_tls(tmp_path):
    with pytest.raises(ValueError, match="TLS"):
        mosquitto.conf_text(password_file=tmp_path / "p", acl_file=tmp_path / "a", bind="0.0.0.0")  # noqa: S104
    tls = mosquitto.Tls(certfile=Path("/etc/linli/tls/server.crt"), keyfile=Path("/etc/linli/tls/server.key"))
    conf = mosquitto.conf_text(password_file=tmp_path / "p", acl_file=tmp_path / "a", bind="0.0.0.0",  # noqa: S104
                               port=8883, tls=tls)
    assert "listener 8883 0.0.0.0" in conf and "certfile /etc/linli/tls/server.crt" in conf


@pytest.mark.django_db(transaction=True)
def test_a_device_talks_only_under_its_own_code_and_strangers_are_refused(two_locks, tmp_path):
    (a, pa), (b, pb) = two_locks
    with running_broker(tmp_path) as broker:
        gateway = Peer(broker.port, mosquitto.GATEWAY_USERNAME, GATEWAY_SECRET, "gw")
        lock_a = Peer(broker.port, a.code, pa, "lock-a")
        lock_b = Peer(broker.port, b.code, pb, "lock-b")
        anonymous = Peer(broker.port, None, None, "anon")
        wrong = Peer(broker.port, a.code, "not-the-password", "wrong")
        try:
            assert not gateway.connected().is_failure
            assert not lock_a.connected().is_failure and not lock_b.connected().is_failure
            # Mosquitto 2 answers both with CONNACK 0x87 "Not authorized".
            assert anonymous.connected().is_failure
            assert wrong.connected().is_failure

            assert not gateway.subscribe(f"{mosquitto.TOPIC_ROOT}/+/up/#").is_failure
            assert not lock_b.subscribe(f"{mosquitto.TOPIC_ROOT}/{b.code}/down/#").is_failure
            # Mosquitto 2.0 grants a subscription outside the device's ACL but never delivers on it.
            lock_a.subscribe(f"{mosquitto.TOPIC_ROOT}/{b.code}/down/#")

            assert not lock_a.publish(f"{mosquitto.TOPIC_ROOT}/{a.code}/up/event", b"own").is_failure
            assert gateway.messages.get(timeout=WAIT_S) == (f"{mosquitto.TOPIC_ROOT}/{a.code}/up/event", b"own")

            # Speaking as lock B, or commanding it: the broker answers PUBACK 0x87 and drops it.
            spoof = lock_a.publish(f"{mosquitto.TOPIC_ROOT}/{b.code}/up/event", b"spoof")
            assert spoof.is_failure and spoof.value == 0x87
            assert lock_a.publish(f"{mosquitto.TOPIC_ROOT}/{b.code}/down/command", b"open").value == 0x87
            with pytest.raises(queue.Empty):
                gateway.messages.get(timeout=QUIET_S)
            with pytest.raises(queue.Empty):
                lock_b.messages.get(timeout=QUIET_S)

            # The gateway may command lock B; lock A, though subscribed, never hears it.
            assert not gateway.publish(f"{mosquitto.TOPIC_ROOT}/{b.code}/down/command", b"cmd").is_failure
            assert lock_b.messages.get(timeout=WAIT_S) == (f"{mosquitto.TOPIC_ROOT}/{b.code}/down/command", b"cmd")
            with pytest.raises(queue.Empty):
                lock_a.messages.get(timeout=QUIET_S)
        finally:
            for peer in (gateway, lock_a, lock_b, anonymous, wrong):
                peer.close()
