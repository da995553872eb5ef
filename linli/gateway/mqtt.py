"""MQTT ingress of `linli gateway`: Linli's topic contract over MQTT 5 (see docs/mqtt.md).

Each message is stored through the EventWriter and only then acknowledged (QoS 1 PUBACK after
commit). Poison (bad topic, bad JSON, unknown device or type) goes to the dead-letter table and
is acknowledged so the broker stops redelivering it; when the database is down nothing is
acknowledged and the message is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import paho.mqtt.client as mqtt
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli.devices.mosquitto import DEFAULT_PORT, GATEWAY_USERNAME, LOOPBACK, TOPIC_ROOT, gateway_password
from linli.events import types
from linli.events.pipeline import Incoming, dead_letter, store
from linli.events.writer import EventWriter

if TYPE_CHECKING:
    from linli.gateway.app import GatewayContext

log = logging.getLogger("linli.gateway.mqtt")

QOS = 1
SHARE_GROUP = "linli"
UP_FILTER = f"{TOPIC_ROOT}/+/up/#"
SHARED_UP_FILTER = f"$share/{SHARE_GROUP}/{UP_FILTER}"
UP_EVENT, UP_TELEMETRY, UP_STATUS, UP_ACK = "event", "telemetry", "status", "ack"
UP_KINDS = frozenset({UP_EVENT, UP_TELEMETRY, UP_STATUS, UP_ACK})
DOWN_COMMAND = "command"
DEAD_LETTER_SOURCE = "mqtt"
MESSAGE_ID_MAX = 80  # Event.message_id
KEEPALIVE_S = 30
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
STORE_RETRY_MIN_S, STORE_RETRY_MAX_S = 0.5, 10.0
SESSION_EXPIRY_S = 3600  # unacknowledged messages wait this long for a restarted gateway
RECEIVE_MAXIMUM = 1000  # QoS 1 messages the broker may have in flight to us: the writer's batch size
DIRECTORY_TTL_S = 30.0  # a disabled device stops being accepted within this long
PUBLISH_TIMEOUT_S = 10.0
HOST_ENV = "LINLI_MQTT_HOST"  # set it to turn the MQTT ingress on
# The database is away (restart, network): worth waiting for. Anything else is about the message.
RETRYABLE = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class MqttSettings:
    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    username: str = GATEWAY_USERNAME
    password: str = ""
    # Stable per replica, so a restarted gateway resumes its session and gets what it had not acked.
    client_id: str = ""
    tls_ca: str | None = None

    @classmethod
    def from_env(cls) -> MqttSettings:
        return cls(host=os.environ.get(HOST_ENV, LOOPBACK),
                   port=int(os.environ.get("LINLI_MQTT_PORT", str(DEFAULT_PORT))),
                   password=gateway_password(),
                   client_id=os.environ.get("LINLI_MQTT_CLIENT_ID", f"linli-gateway-{socket.gethostname()}"),
                   tls_ca=os.environ.get("LINLI_MQTT_TLS_CA") or None)


class KnownDevice(Protocol):
    """What the ingress needs of a device; linli.devices.directory.DeviceRef has it."""

    @property
    def id(self) -> int: ...

    @property
    def compound_id(self) -> int: ...


class DeviceFinder(Protocol):
    """linli.devices.directory.DeviceDirectory (shared with the HTTP side), or DeviceLookup."""

    def device_for_code(self, code: str) -> KnownDevice | None: ...


@dataclass(frozen=True)
class _Found:
    id: int
    compound_id: int


class Rejected(Exception):
    """A message that can never be stored: dead-letter it and acknowledge it."""

    def __init__(self, reason: str, detail: str = "", device: KnownDevice | None = None):
        super().__init__(reason)
        self.reason, self.detail, self.device = reason, detail, device


class DeviceLookup:
    """Device code → (id, compound) for devices that are not disabled, cached for a short while.

    For an ingress running without the gateway's polled DeviceDirectory (tools, tests)."""

    def __init__(self, *, ttl_s: float = DIRECTORY_TTL_S):
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, _Found | None]] = {}

    def device_for_code(self, code: str) -> KnownDevice | None:
        """Runs in a thread (it may query the database)."""
        now = time.monotonic()
        hit = self._cache.get(code)
        if hit is not None and hit[0] > now:
            return hit[1]
        from linli.devices.models import Device, Lifecycle

        row = (Device.objects.filter(code=code).exclude(lifecycle=Lifecycle.DISABLED)
               .values_list("pk", "compound_id").first())
        found = _Found(*row) if row else None
        # Unknown codes are cached too, so a flood of poison does not become a flood of queries.
        self._cache[code] = (now + self.ttl_s, found)
        return found


def parse_topic(topic: str) -> tuple[str, str]:
    """`linli/v1/{code}/up/{kind}` → (code, kind)."""
    parts = topic.split("/")
    root = TOPIC_ROOT.split("/")
    if len(parts) != len(root) + 3 or parts[: len(root)] != root or parts[len(root) + 1] != "up":
        raise Rejected("topic outside the contract")
    code, kind = parts[len(root)], parts[-1]
    if not code or kind not in UP_KINDS:
        raise Rejected("topic outside the contract")
    return code, kind


def _json_object(raw: bytes) -> dict[str, Any]:
    if b"\\u0000" in raw:
        raise Rejected("NUL character in payload")  # PostgreSQL text and jsonb cannot hold it
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected("malformed JSON", str(exc)) from None
    if not isinstance(body, dict):
        raise Rejected("payload is not a JSON object")
    return body


def _aware(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise Rejected("field 'at' missing or not a string")
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Rejected("field 'at' is not ISO 8601", value[:100]) from None
    if at.tzinfo is None:
        raise Rejected("field 'at' has no UTC offset", value[:100])
    return at


def _message_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MESSAGE_ID_MAX:
        raise Rejected("field 'message_id' missing, not a string or too long")
    return value


def build_incoming(device: KnownDevice, kind: str, raw: bytes, *, now: dt.datetime) -> Incoming:
    """One contract message → Incoming, or Rejected naming what is wrong."""
    body = _json_object(raw)
    if kind == UP_ACK:
        command_id = body.get("command_id")
        if not isinstance(command_id, str) or not command_id or not isinstance(body.get("ok"), bool):
            raise Rejected("ack needs 'command_id' (string) and 'ok' (boolean)")
        payload = {"command_id": command_id, "ok": body["ok"], "detail": str(body.get("detail", ""))[:500]}
        # One ack per command: a resent ack is a duplicate.
        return Incoming(device.id, device.compound_id, types.COMMAND_ACK,
                        _message_id(f"ack-{command_id}"), now, payload)
    if kind == UP_STATUS and "message_id" not in body:
        # The bare form `{"online": …}`, which is what a Last Will carries: it cannot hold a fresh
        # id or time, so the broker's delivery time names it.
        if not isinstance(body.get("online"), bool):
            raise Rejected("status needs 'online' (boolean)")
        return Incoming(device.id, device.compound_id, types.STATUS,
                        f"status-{int(now.timestamp() * 1000)}", now, body)
    event_type = body.get("type")
    if event_type not in types.ALL:
        raise Rejected("unknown event type", str(event_type)[:100])
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        raise Rejected("field 'payload' is not an object")
    return Incoming(device.id, device.compound_id, event_type, _message_id(body.get("message_id")),
                    _aware(body.get("at")), payload)


class MqttIngress:
    """The gateway's MQTT side: subscribe (shared), store, acknowledge; and send commands."""

    def __init__(self, *, writer: EventWriter, settings: MqttSettings, directory: DeviceFinder | None = None):
        self.writer = writer
        self.settings = settings
        self.directory: DeviceFinder = directory or DeviceLookup()
        self.connected = asyncio.Event()
        # Counters for health checks and tests: stored (or found duplicate), dead-lettered, PUBACKs sent.
        self.stored = self.dead_letters = self.acknowledged = 0
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._tasks: set[asyncio.Task] = set()
        # Lookups and dead letters: one thread with its own database connection.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-mqtt-db")

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        client_id = self.settings.client_id or f"linli-gateway-{uuid.uuid4().hex[:12]}"
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                             manual_ack=True)
        client.username_pw_set(self.settings.username, self.settings.password)
        if self.settings.tls_ca:
            client.tls_set(ca_certs=self.settings.tls_ca)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        # connect_async + loop_start: paho's network thread connects, and reconnects with
        # backoff whenever the broker goes away (also when it is not up yet).
        client.connect_async(self.settings.host, self.settings.port, keepalive=KEEPALIVE_S, clean_start=False,
                             properties=props)
        self._client = client
        client.loop_start()

    async def stop(self) -> None:
        self._stopping = True
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._db.shutdown(wait=True)

    # paho's network thread ------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("mqtt: broker refused the gateway: %s", reason_code)
            return
        client.subscribe(SHARED_UP_FILTER, qos=QOS)
        log.info("mqtt: connected to %s:%d", self.settings.host, self.settings.port)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        if not self._stopping:
            log.warning("mqtt: disconnected (%s); reconnecting", reason_code)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Hand over plain values: the handler runs later, on the event loop's thread.
        args = (message.topic, bytes(message.payload), message.mid, message.qos)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._spawn, *args)

    # the event loop -------------------------------------------------------------------------

    def _spawn(self, topic: str, raw: bytes, mid: int, qos: int) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(topic, raw, mid, qos))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, topic: str, raw: bytes, mid: int, qos: int) -> None:
        delay = STORE_RETRY_MIN_S
        while True:
            try:
                await self._store_or_dead_letter(topic, raw)
                break
            except RETRYABLE as exc:  # database unreachable: keep the message unacknowledged and retry
                log.warning("mqtt: message not stored (%s); retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORE_RETRY_MAX_S)
        client = self._client
        if client is not None:
            client.ack(mid, qos)
            self.acknowledged += 1

    async def _store_or_dead_letter(self, topic: str, raw: bytes) -> None:
        loop = asyncio.get_running_loop()
        device: KnownDevice | None = None
        try:
            code, kind = parse_topic(topic)
            device = await loop.run_in_executor(self._db, self._lookup, code)
            if device is None:
                raise Rejected("unknown or disabled device", code[:64])
            incoming = build_incoming(device, kind, raw, now=timezone.now())
        except Rejected as rejected:
            await loop.run_in_executor(self._db, self._dead_letter, topic, raw, rejected, device)
            self.dead_letters += 1
            return
        try:
            await self.writer.submit(incoming)
        except RETRYABLE:
            raise
        except Exception as exc:
            # The database refused the batch this message was in (e.g. a value PostgreSQL cannot
            # hold): store it alone, so one bad message neither blocks nor sinks the others.
            try:
                await loop.run_in_executor(self._db, _store_alone, incoming)
            except RETRYABLE:
                raise
            except Exception:
                rejected = Rejected("not storable", type(exc).__name__, device)
                await loop.run_in_executor(self._db, self._dead_letter, topic, raw, rejected, device)
                self.dead_letters += 1
                return
        self.stored += 1

    def _lookup(self, code: str) -> KnownDevice | None:
        close_old_connections()
        return self.directory.device_for_code(code)

    def _dead_letter(self, topic: str, raw: bytes, rejected: Rejected, device: KnownDevice | None) -> None:
        close_old_connections()
        dead_letter(source=DEAD_LETTER_SOURCE, reason=rejected.reason, detail=rejected.detail, raw=raw,
                    headers={"topic": topic[:200]}, device_id=device.id if device else None,
                    compound_id=device.compound_id if device else None)

    # commands -------------------------------------------------------------------------------

    async def send_command(self, device_code: str, name: str, params: dict[str, Any] | None = None, *,
                           ttl_s: int = 60, issued_by: str = "") -> str:
        """Publish a command on the device's down topic; returns its id once the broker has it.

        The device answers on up/ack with the same command_id; a command past `expires_at` must
        not be executed, and the broker drops it once the MQTT message expiry has passed.
        """
        loop = asyncio.get_running_loop()
        if await loop.run_in_executor(self._db, self._lookup, device_code) is None:
            raise LookupError("unknown or disabled device")
        client = self._client
        if client is None or not self.connected.is_set():
            # Refuse rather than queue: the caller (an automation, a guard) must know now.
            raise ConnectionError("not connected to the MQTT broker")
        command_id = uuid.uuid4().hex
        expires_at = timezone.now() + dt.timedelta(seconds=ttl_s)
        body = {"command_id": command_id, "name": name, "params": params or {},
                "expires_at": expires_at.isoformat(), "issued_by": issued_by}
        props = Properties(PacketTypes.PUBLISH)
        props.MessageExpiryInterval = ttl_s
        info = client.publish(command_topic(device_code), json.dumps(body, ensure_ascii=False), qos=QOS,
                              properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"publish failed: {mqtt.error_string(info.rc)}")
        await loop.run_in_executor(None, info.wait_for_publish, PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError("the broker did not acknowledge the command")
        return command_id


async def start_mqtt_ingress(context: GatewayContext) -> Callable[[], Awaitable[None]]:
    """The gateway's hook (linli.gateway.app.INGRESSES): MQTT runs only where a broker is configured."""
    if not os.environ.get(HOST_ENV):
        log.info("mqtt: %s not set, MQTT ingress off (HTTP push only)", HOST_ENV)
        return _nothing_to_stop
    ingress = MqttIngress(writer=context.writer, settings=MqttSettings.from_env(), directory=context.directory)
    await ingress.start()
    context.mqtt = ingress  # so automations and the console can send commands
    return ingress.stop


async def _nothing_to_stop() -> None:
    return None


def _store_alone(incoming: Incoming) -> None:
    close_old_connections()
    store([incoming])


def command_topic(device_code: str) -> str:
    return f"{TOPIC_ROOT}/{device_code}/down/{DOWN_COMMAND}"


def up_topic(device_code: str, kind: str) -> str:
    return f"{TOPIC_ROOT}/{device_code}/up/{kind}"
