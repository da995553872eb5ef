"""MQTT ingress of `linli gateway`: Linli's topic contract over MQTT 5 (see docs/mqtt.md).

Each message is stored through the EventWriter and only then acknowledged (QoS 1 PUBACK after
commit). Poison (bad topic, bad JSON, unknown device or type) goes to the dead-letter table and
is acknowledged so the broker stops redelivering it; when the database is down nothing is
acknowledged and the message is retried.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import json
import logging
import os
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from linli.devices.adapters.base import AdapterError, read_json
from linli.devices.mosquitto import (
    DEFAULT_PORT,
    GATEWAY_USERNAME,
    LOOPBACK,
    TOPIC_ROOT,
    gateway_password,
    gateway_replica_username,
)
from linli.events import types
from linli.events.pipeline import Incoming, dead_letters, store
from linli.events.writer import EventWriter
from linli.gateway.mqtt_client import FAILURE, MqttClient, MqttError, message_expiry

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
RECEIVE_MAXIMUM = 1000  # QoS 1 messages the broker may have in flight to us (unacknowledged)
BATCH_MAX = 500  # messages handed to the writer at once (its batch size)
BATCHES_IN_FLIGHT = 4  # batches being stored at once: the next is parsed while one commits
DIRECTORY_TTL_S = 30.0  # a disabled device stops being accepted within this long
PUBLISH_TIMEOUT_S = 10.0
HOST_ENV = "LINLI_MQTT_HOST"  # set it to turn the MQTT ingress on
# This host's first gateway replica: its processes log in as `linli-gateway-<first + worker>`.
# Gateways on several hosts each need their own range (see docs/mqtt.md).
REPLICA_ENV = "LINLI_MQTT_REPLICA"
# No longer read: the broker names every session after its account (use_username_as_clientid).
# Kept so the tests can show that setting it changes nothing.
CLIENT_ID_ENV = "LINLI_MQTT_CLIENT_ID"
SHARED_ENV = "LINLI_MQTT_SHARED"  # 1: share the load with other gateway replicas; 0: do not; unset: if --workers > 1
# The database is away (restart, network): worth waiting for. Anything else is about the message.
RETRYABLE = (OperationalError, InterfaceError)


_Received = tuple[str, bytes, int | None, int, int]  # topic, payload, packet id, QoS, connection


@dataclass(frozen=True)
class MqttSettings:
    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    username: str = GATEWAY_USERNAME
    password: str = ""
    # The session is the account's: the broker replaces whatever id we send by the username
    # (use_username_as_clientid), so a restarted gateway resumes its session and gets what it
    # had not acked, and no device can claim it. Empty: the username, which is what we send.
    client_id: str = ""
    tls_ca: str | None = None
    # Split the load with other gateways ($share). Mosquitto 2.0 does not keep shared
    # subscriptions over its own restart (a plain one it does): until the gateways subscribe
    # again it answers devices "no matching subscribers" and drops their messages. So a lone
    # gateway subscribes plainly, and only several share (see docs/mqtt.md).
    shared: bool = True

    @classmethod
    def from_env(cls, *, worker: int = 0, replicas: int = 1) -> MqttSettings:
        """Worker `worker` of `replicas` gateway processes on this host (`--workers`)."""
        shared = os.environ.get(SHARED_ENV, "")
        username = gateway_username(worker=worker, workers=replicas)
        return cls(host=os.environ.get(HOST_ENV, LOOPBACK),
                   port=int(os.environ.get("LINLI_MQTT_PORT", str(DEFAULT_PORT))),
                   username=username, password=gateway_password(), client_id=username,
                   tls_ca=os.environ.get("LINLI_MQTT_TLS_CA") or None,
                   shared=shared == "1" if shared in ("0", "1") else replicas > 1)

    @property
    def up_filter(self) -> str:
        return SHARED_UP_FILTER if self.shared else UP_FILTER


def gateway_username(*, worker: int = 0, workers: int = 1) -> str:
    """The broker account of this gateway process, which is also its client id and its session.

    A lone gateway is `linli-gateway`; the workers of `--workers N`, or any process on a host
    with LINLI_MQTT_REPLICA set, are `linli-gateway-<LINLI_MQTT_REPLICA + worker>`, so no two
    gateway processes share a session (two would disconnect each other in turn)."""
    first = os.environ.get(REPLICA_ENV, "").strip()
    if not first and workers <= 1:
        return GATEWAY_USERNAME
    if first and not first.isdigit():
        raise ValueError(f"{REPLICA_ENV} must be a replica number (0, 1, …), not {first!r}")
    return gateway_replica_username(int(first or 0) + worker)


def default_client_id() -> str:
    """The id gateways sent before the broker named sessions after accounts (what an attacker would claim)."""
    return f"linli-gateway-{socket.gethostname()}"


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
        body = read_json(raw, what="payload")  # the adapters' bounded parser: no nesting exhausts recursion
    except AdapterError as exc:  # syntax, charset, size or nesting: the detail names which
        raise Rejected("malformed JSON", exc.reason) from None
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
    if event_type not in types.FROM_DEVICES:
        raise Rejected("unknown event type", str(event_type)[:100])
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        raise Rejected("field 'payload' is not an object")
    return Incoming(device.id, device.compound_id, event_type, _message_id(body.get("message_id")),
                    _aware(body.get("at")), payload)


class MqttIngress:
    """The gateway's MQTT side: subscribe (shared), store, acknowledge; and send commands.

    Everything runs on the gateway's event loop: the client parses what arrives, the
    consumer hands it to the writer in batches, and the acknowledgements of a committed batch
    go back in one write."""

    def __init__(self, *, writer: EventWriter, settings: MqttSettings, directory: DeviceFinder | None = None):
        self.writer = writer
        self.settings = settings
        self.directory: DeviceFinder = directory or DeviceLookup()
        self.connected = asyncio.Event()
        # Counters for health checks and tests: stored (or found duplicate), dead-lettered, PUBACKs sent.
        self.stored = self.dead_letters = self.acknowledged = 0
        self._stopping = False
        self._client: MqttClient | None = None
        self._tasks: set[asyncio.Task] = set()
        self._inbox: collections.deque[_Received] = collections.deque()
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(BATCHES_IN_FLIGHT)
        self._background: list[asyncio.Task] = []
        # Lookups and dead letters: one thread with its own database connection.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-mqtt-db")

    async def start(self) -> None:
        """Connect in the background (and reconnect whenever the broker goes away)."""
        loop = asyncio.get_running_loop()
        # The broker keeps the session under our username whatever we send; sending it makes
        # its log and ours name the same session.
        client_id = self.settings.client_id or self.settings.username
        # A persistent session: after a gateway restart the broker hands over what we had not acknowledged.
        self._client = MqttClient(client_id=client_id, username=self.settings.username,
                                  password=self.settings.password, keepalive_s=KEEPALIVE_S, clean_start=False,
                                  session_expiry_s=SESSION_EXPIRY_S, receive_maximum=RECEIVE_MAXIMUM,
                                  manual_ack=True, on_message=self._on_message)
        self._background = [loop.create_task(self._consume(), name="mqtt-consumer"),
                            loop.create_task(self._stay_connected(), name="mqtt-connection")]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None and self._client.connected:
            await self._client.disconnect()
        self._db.shutdown(wait=True)

    def _tls(self) -> ssl.SSLContext | None:
        if not self.settings.tls_ca:
            return None
        return ssl.create_default_context(cafile=self.settings.tls_ca)

    async def _stay_connected(self) -> None:
        client = self._client
        assert client is not None
        delay = RECONNECT_MIN_S
        while not self._stopping:
            try:
                await client.connect(self.settings.host, self.settings.port, ssl_context=self._tls())
                wanted = self.settings.up_filter
                granted = await client.subscribe(wanted, qos=QOS)
                if granted >= FAILURE:
                    log.warning("mqtt: broker refused the subscription (0x%02x)", granted)
                # A session kept from a run with the other setting must not deliver everything twice.
                await client.unsubscribe(UP_FILTER if wanted == SHARED_UP_FILTER else SHARED_UP_FILTER)
            except (OSError, MqttError, TimeoutError) as exc:
                log.warning("mqtt: cannot connect to %s:%d (%s); retrying in %ds", self.settings.host,
                            self.settings.port, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay = RECONNECT_MIN_S
            log.info("mqtt: connected to %s:%d", self.settings.host, self.settings.port)
            self.connected.set()
            assert client.closed is not None
            await asyncio.shield(client.closed)  # cancelling us must not cancel the client's future
            self.connected.clear()
            if not self._stopping:
                log.warning("mqtt: disconnected; reconnecting")
                await asyncio.sleep(RECONNECT_MIN_S)

    def _on_message(self, topic: str, payload: bytes, packet_id: int | None, qos: int, generation: int) -> None:
        # Called by the client as packets are parsed; the consumer wakes once per burst.
        self._inbox.append((topic, payload, packet_id, qos, generation))
        self._arrived.set()

    async def _consume(self) -> None:
        """Take what arrived in batches; up to BATCHES_IN_FLIGHT are being stored at once."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._inbox:
                await self._slots.acquire()
                batch: list[_Received] = []
                while self._inbox and len(batch) < BATCH_MAX:
                    batch.append(self._inbox.popleft())
                task = asyncio.get_running_loop().create_task(self._handle(batch))
                self._tasks.add(task)
                task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _handle(self, batch: list[_Received]) -> None:
        delay = STORE_RETRY_MIN_S
        while True:
            try:
                stored, dead = await self._store_or_dead_letter(batch)
                break
            except RETRYABLE as exc:  # database unreachable: keep the messages unacknowledged and retry
                log.warning("mqtt: %d messages not stored (%s); retrying in %.1fs", len(batch), type(exc).__name__,
                            delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORE_RETRY_MAX_S)
            except Exception:  # not even the dead letters could be written: say so loudly, do not loop forever
                log.exception("mqtt: %d messages could be neither stored nor dead-lettered", len(batch))
                stored, dead = 0, 0
                break
        self.stored += stored
        self.dead_letters += dead
        client = self._client
        if client is not None:
            # Only what came on the current connection; the rest the broker redelivers.
            generation = client.generation
            self.acknowledged += client.ack([m[2] for m in batch if m[3] and m[4] == generation], generation)

    async def _store_or_dead_letter(self, batch: list[_Received]) -> tuple[int, int]:
        """Store the good messages of `batch` and dead-letter the rest: (stored, dead-lettered)."""
        loop = asyncio.get_running_loop()
        codes = []
        for topic, *_ in batch:
            try:
                codes.append(parse_topic(topic))
            except Rejected as rejected:
                codes.append(rejected)
        wanted = {c[0] for c in codes if isinstance(c, tuple)}
        if isinstance(self.directory, DeviceLookup):  # may query the database: in a thread
            found = await loop.run_in_executor(self._db, self._lookup_many, wanted)
        else:  # the gateway's in-memory directory
            found = {code: self.directory.device_for_code(code) for code in wanted}
        now = timezone.now()
        good: list[tuple[Incoming, str, bytes, KnownDevice]] = []
        rejects: list[tuple[str, bytes, Rejected, KnownDevice | None]] = []
        for (topic, raw, *_), parsed in zip(batch, codes, strict=True):
            device = None
            try:
                if isinstance(parsed, Rejected):
                    raise parsed
                code, kind = parsed
                device = found.get(code)
                if device is None:
                    raise Rejected("unknown or disabled device", code[:64])
                good.append((build_incoming(device, kind, raw, now=now), topic, raw, device))
            except Rejected as rejected:
                rejects.append((topic, raw, rejected, device))
        if good:
            try:
                await self.writer.submit_batch([g[0] for g in good])
            except RETRYABLE:
                raise
            except Exception as exc:
                # The database refused the batch for its content (e.g. a value PostgreSQL cannot
                # hold): store each message alone, so one bad message neither blocks nor sinks the others.
                refused = await loop.run_in_executor(self._db, _store_each, [g[0] for g in good])
                for incoming, topic, raw, device in good:
                    if incoming in refused:
                        rejects.append((topic, raw, Rejected("not storable", type(exc).__name__, device), device))
        if rejects:
            await loop.run_in_executor(self._db, self._dead_letter_many, rejects)
        return len(batch) - len(rejects), len(rejects)

    def _lookup(self, code: str) -> KnownDevice | None:
        close_old_connections()
        return self.directory.device_for_code(code)

    def _lookup_many(self, codes: set[str]) -> dict[str, KnownDevice | None]:
        close_old_connections()
        return {code: self.directory.device_for_code(code) for code in codes}

    def _dead_letter_many(self, rejects: list[tuple[str, bytes, Rejected, KnownDevice | None]]) -> None:
        close_old_connections()
        dead_letters([{"source": DEAD_LETTER_SOURCE, "reason": rejected.reason, "detail": rejected.detail,
                       "raw": raw, "headers": {"topic": topic[:200]},
                       "device_id": device.id if device else None,
                       "compound_id": device.compound_id if device else None}
                      for topic, raw, rejected, device in rejects])

    # commands -------------------------------------------------------------------------------

    async def send_command(self, device_code: str, name: str, params: dict[str, Any] | None = None, *,
                           ttl_s: int = 60, issued_by: str = "", command_id: str | None = None) -> str:
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
        command_id = command_id or uuid.uuid4().hex  # queued commands bring theirs (devices/commands.py)
        expires_at = timezone.now() + dt.timedelta(seconds=ttl_s)
        body = {"command_id": command_id, "name": name, "params": params or {},
                "expires_at": expires_at.isoformat(), "issued_by": issued_by}
        # The MQTT 5 Message Expiry Interval: the broker drops it for a device that stays offline.
        published = client.publish(command_topic(device_code), json.dumps(body, ensure_ascii=False).encode(),
                                   qos=QOS, properties=message_expiry(ttl_s))
        try:
            reason = await asyncio.wait_for(asyncio.shield(published), PUBLISH_TIMEOUT_S)
        except TimeoutError:
            raise TimeoutError("the broker did not acknowledge the command") from None
        if reason >= FAILURE:
            raise ConnectionError(f"the broker refused the command (0x{reason:02x})")
        return command_id


async def start_mqtt_ingress(context: GatewayContext) -> Callable[[], Awaitable[None]]:
    """The gateway's hook (linli.gateway.app.INGRESSES): MQTT runs only where a broker is configured."""
    if not os.environ.get(HOST_ENV):
        log.info("mqtt: %s not set, MQTT ingress off (HTTP push only)", HOST_ENV)
        return _nothing_to_stop
    settings = MqttSettings.from_env(worker=getattr(context, "worker", 0), replicas=getattr(context, "workers", 1))
    ingress = MqttIngress(writer=context.writer, settings=settings, directory=context.directory)
    await ingress.start()
    context.mqtt = ingress  # so automations and the console can send commands
    return ingress.stop


async def _nothing_to_stop() -> None:
    return None


def _store_each(messages: list[Incoming]) -> list[Incoming]:
    """Store messages one transaction each; returns those the database refused for their content."""
    close_old_connections()
    refused = []
    for incoming in messages:
        try:
            store([incoming])
        except RETRYABLE:
            raise
        except Exception:
            refused.append(incoming)
    return refused


def command_topic(device_code: str) -> str:
    return f"{TOPIC_ROOT}/{device_code}/down/{DOWN_COMMAND}"


def up_topic(device_code: str, kind: str) -> str:
    return f"{TOPIC_ROOT}/{device_code}/up/{kind}"
