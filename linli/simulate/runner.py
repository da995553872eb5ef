"""The simulator's engine: schedules every device's heartbeats, everyday traffic at the asked
rate, incidents and injected faults, sends them through the gateway's real HTTP and MQTT
ingress, and counts what was acknowledged.

Devices behave like devices: an HTTP push that fails (503, connection refused, timeout) is
resent with the same message id after a backoff; an MQTT device keeps its session and resends
what the broker did not acknowledge when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from linli.gateway.mqtt_client import MqttClient, MqttError, Will
from linli.simulate.fleet import SimDevice
from linli.simulate.traffic import (
    ACTIVITY,
    HTTP,
    INCIDENT_PLACES,
    INCIDENTS,
    MQTT,
    QUICK_INCIDENTS,
    TOPIC_ROOT,
    DeviceVoice,
    Message,
)

log = logging.getLogger("linli.simulate")

TICK_S = 0.01
BOOT_SPREAD_S = 5.0  # every device says hello within this long after start, so health shows it online
HTTP_RETRY_MIN_S, HTTP_RETRY_MAX_S = 0.5, 10.0
HTTP_TIMEOUT_S = 30.0
MQTT_RECONNECT_MIN_S, MQTT_RECONNECT_MAX_S = 0.5, 10.0
MQTT_SESSION_EXPIRY_S = 3600
MQTT_KEEPALIVE_S = 30
HTTP_REFUSED = 400  # 4xx: the gateway refused the message (dead-lettered); never resent
FAILURE = 0x80  # PUBACK reason codes below are successes (0x10: accepted, though nobody subscribes)


@dataclass(frozen=True)
class Burst:
    factor: float
    seconds: float
    start_s: float = 10.0

    @classmethod
    def parse(cls, text: str) -> Burst:
        """`FACTOR:SECONDS[@START]`, e.g. `3:60@30`: three times the rate for 60 s from 30 s in."""
        spec, _, start = text.partition("@")
        factor, _, seconds = spec.partition(":")
        return cls(float(factor), float(seconds), float(start) if start else 10.0)

    def factor_at(self, elapsed: float) -> float:
        return self.factor if self.start_s <= elapsed < self.start_s + self.seconds else 1.0


@dataclass
class Options:
    gateway_url: str = "http://127.0.0.1:8010"
    mqtt_host: str | None = None
    mqtt_port: int = 1883
    nbiot_secret: str | None = None
    rate: float = 5.0  # everyday messages per second, whole fleet (heartbeats and incidents come on top)
    duration: float | None = None  # seconds; None runs until stopped
    offline: float = 0.0  # fraction of devices that go silent after booting
    duplicates: float = 0.0  # fraction of messages sent a second time with the same message id
    malformed: float = 0.0  # fraction of messages broken on purpose (dead letters)
    burst: Burst | None = None
    incident_every_s: float = 0.0  # mean seconds between incidents; 0 = none
    heartbeats: bool = True
    boot: bool = True  # every device announces itself once at start
    images: float = 0.1  # share of camera messages carrying a snapshot
    http_concurrency: int = 64
    summary_every_s: float = 5.0
    drain_s: float = 30.0  # at the end, wait this long for outstanding acknowledgements
    seed: int | None = None


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    sent: int = 0  # messages handed to a transport (first attempts; duplicates and malformed included)
    acked: int = 0  # good messages acknowledged (HTTP 2xx, MQTT PUBACK 0), each counted once
    events_acked: int = 0  # events the gateway stores from those
    duplicates: int = 0  # resends with an id already used, acknowledged
    malformed: int = 0  # broken messages sent on purpose
    refused: int = 0  # HTTP 4xx or PUBACK ≥ 0x80 (expected for the malformed ones)
    errors: int = 0  # failed attempts that will be retried (503, connection refused, timeout)
    retries: int = 0
    unconfirmed: int = 0  # still not acknowledged when the run ended
    reconnects: int = 0
    by_label: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)  # "transport code: label" → how many
    by_transport: Counter = field(default_factory=Counter)

    def line(self, mqtt_up: int, mqtt_total: int, rate_now: float) -> str:
        elapsed = time.monotonic() - self.started
        parts = [f"{elapsed:7.1f}s", f"sent {self.sent}", f"acked {self.acked}", f"errors {self.errors}",
                 f"retries {self.retries}", f"{rate_now:.0f}/s"]
        if self.duplicates:
            parts.append(f"duplicates {self.duplicates}")
        if self.malformed:
            parts.append(f"malformed {self.malformed} (refused {self.refused})")
        if mqtt_total:
            parts.append(f"mqtt {mqtt_up}/{mqtt_total} connected")
        return "  ".join(parts)

    def as_dict(self) -> dict:
        return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in self.__dict__.items() if k != "started"}


class Simulator:
    """Drive `fleet` per `options`; `await run()` returns the Stats when the duration is over or
    `stop()` was called."""

    def __init__(self, fleet: list[SimDevice], options: Options, *, out: TextIO | None = None,
                 on_result: Callable[[Message, bool, float], None] | None = None):
        self.options = options
        self.out = out
        self.on_result = on_result  # (message, acknowledged, seconds from first send) — for benchmarks
        self.rng = random.Random(options.seed)
        use_mqtt = options.mqtt_host is not None
        self.voices = [DeviceVoice(d, rng=random.Random(self.rng.random()), use_mqtt=use_mqtt,
                                   nbiot_secret=options.nbiot_secret, images=options.images) for d in fleet]
        self.stats = Stats()
        self._stopped = asyncio.Event()
        self._mqtt: dict[str, MqttClient] = {}
        self._watchers: set[asyncio.Task] = set()
        self._outstanding: set[asyncio.Future] = set()
        self._session = None
        self._http_slots: asyncio.Semaphore | None = None
        self._later: list[tuple[float, int, Message]] = []  # (due, tiebreak, message)
        self._tiebreak = itertools.count()
        self._silent: set[str] = set()
        self._incidents = 0
        self.silenced_at: dt.datetime | None = None
        n_offline = round(len(self.voices) * options.offline)
        self._going_offline = {v.device.code for v in self.rng.sample(self.voices, n_offline)}
        self._active = [v for v in self.voices if v.device.code not in self._going_offline] or self.voices
        weights = [ACTIVITY.get(v.device.kind, 1) for v in self.voices]
        self._weights = list(itertools.accumulate(weights))

    # --- lifecycle ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopped.set()

    async def run(self) -> Stats:
        import aiohttp

        o = self.options
        self._http_slots = asyncio.Semaphore(o.http_concurrency)
        connector = aiohttp.TCPConnector(limit=o.http_concurrency, force_close=False)
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
        async with aiohttp.ClientSession(base_url=o.gateway_url, connector=connector, timeout=timeout) as session:
            self._session = session
            await self._connect_mqtt()
            self.stats.started = time.monotonic()
            summary = asyncio.get_running_loop().create_task(self._summaries())
            try:
                await self._schedule()
            finally:
                summary.cancel()
                await self._drain()
                self._print_summary(final=True)
                await self._disconnect_mqtt()
        return self.stats

    async def _drain(self) -> None:
        if self._outstanding:
            await asyncio.wait(list(self._outstanding), timeout=self.options.drain_s)
        self.stats.unconfirmed = len(self._outstanding)
        for future in list(self._outstanding):
            future.cancel()

    # --- MQTT devices ---------------------------------------------------------------------

    async def _connect_mqtt(self) -> None:
        o = self.options
        if o.mqtt_host is None:
            return
        voices = [v for v in self.voices if v.mqtt]
        slots = asyncio.Semaphore(32)

        async def connect(voice: DeviceVoice) -> None:
            d = voice.device
            status = f"{TOPIC_ROOT}/{d.code}/up/status"
            client = MqttClient(client_id=d.code, username=d.code, password=d.mqtt_password,
                                keepalive_s=MQTT_KEEPALIVE_S, clean_start=False,
                                session_expiry_s=MQTT_SESSION_EXPIRY_S,
                                will=Will(status, b'{"online":false}', qos=1, retain=True),
                                on_message=lambda topic, payload, *_, v=voice: self._on_command(v, payload))
            async with slots:
                if not await self._mqtt_connect(client, first=True):
                    voice.mqtt = False  # not in the broker's password file: push over HTTP instead
                    return
            self._mqtt[d.code] = client
            with contextlib.suppress(MqttError, TimeoutError):
                await client.subscribe(f"{TOPIC_ROOT}/{d.code}/down/command")
            self._send(voice.status_online(), count=False)

        await asyncio.gather(*(connect(v) for v in voices))
        refused = len(voices) - len(self._mqtt)
        if refused and self.out is not None:
            self.out.write(f"  the broker refused {refused} devices (run `linli mosquitto-config` and reload it); "
                           "they push over HTTP instead\n")

    async def _mqtt_connect(self, client: MqttClient, *, first: bool = False) -> bool:
        delay = MQTT_RECONNECT_MIN_S
        o = self.options
        while not self._stopped.is_set():
            try:
                await client.connect(o.mqtt_host, o.mqtt_port)  # type: ignore[arg-type]
                if not first:
                    self.stats.reconnects += 1
                task = asyncio.get_running_loop().create_task(self._watch_mqtt(client))
                self._watchers.add(task)
                task.add_done_callback(self._watchers.discard)
                return True
            except (OSError, MqttError, TimeoutError) as exc:
                if isinstance(exc, MqttError) and exc.reason_code is not None and first:
                    log.warning("broker refused %s: %s", client.client_id, exc)
                    return False  # wrong password or not in the broker's files: nothing a retry fixes
                await asyncio.sleep(delay)
                delay = min(delay * 2, MQTT_RECONNECT_MAX_S)
        return False

    async def _watch_mqtt(self, client: MqttClient) -> None:
        """Reconnect when the broker goes away, unless the device was taken offline on purpose."""
        if client.closed is None:
            return
        await asyncio.shield(client.closed)
        if not self._stopped.is_set() and client.client_id not in self._silent:
            await self._mqtt_connect(client)

    async def _disconnect_mqtt(self) -> None:
        for task in list(self._watchers):
            task.cancel()
        await asyncio.gather(*(c.disconnect() for c in self._mqtt.values() if c.connected),
                             return_exceptions=True)

    def _on_command(self, voice: DeviceVoice, payload: bytes) -> None:
        ack = voice.command_ack(payload)
        if ack is not None:
            self._send(ack, count=False)

    # --- scheduling -----------------------------------------------------------------------

    async def _schedule(self) -> None:
        o, rng = self.options, self.rng
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + o.duration if o.duration is not None else None
        heartbeats: list[tuple[float, int]] = []
        for i, v in enumerate(self.voices):
            if o.boot:
                heapq.heappush(heartbeats, (start + rng.uniform(0, min(BOOT_SPREAD_S, o.duration or BOOT_SPREAD_S)), i))
            elif o.heartbeats:
                heapq.heappush(heartbeats, (start + rng.uniform(0, v.device.heartbeat_s), i))
        silence_at = start + min(10.0, (o.duration or 40.0) / 4)
        # The first incident comes soon (a newcomer should see one), then at random intervals.
        next_incident = start + (rng.uniform(0.5, 1.5) * min(10.0, o.incident_every_s) if o.incident_every_s
                                 else float("inf"))
        credit, last = 0.0, start
        while not self._stopped.is_set():
            now = loop.time()
            if end is not None and now >= end:
                break
            if self._going_offline and now >= silence_at:
                self._go_silent()
            while heartbeats and heartbeats[0][0] <= now:
                _, i = heapq.heappop(heartbeats)
                voice = self.voices[i]
                if voice.device.code not in self._silent:
                    self._send(voice.heartbeat())
                    if o.heartbeats:
                        heapq.heappush(heartbeats, (now + voice.device.heartbeat_s, i))
            while self._later and self._later[0][0] <= now:
                _, _, message = heapq.heappop(self._later)
                if message.device.code not in self._silent:
                    self._send(message)
            if now >= next_incident:
                self._incident()
                next_incident = now + rng.expovariate(1 / o.incident_every_s)
            factor = o.burst.factor_at(now - start) if o.burst else 1.0
            credit += o.rate * factor * (now - last)
            last = now
            for _ in range(int(credit)):
                credit -= 1
                self._everyday()
            await asyncio.sleep(TICK_S)

    def _everyday(self) -> None:
        o, rng = self.options, self.rng
        voice = self.voices[rng.choices(range(len(self.voices)), cum_weights=self._weights)[0]] \
            if len(self.voices) > 1 else self.voices[0]
        if voice.device.code in self._silent:
            voice = rng.choice(self._active)
        if o.malformed and rng.random() < o.malformed:
            self._send(voice.malformed())
            return
        message = voice.activity()
        self._send(message)
        if o.duplicates and rng.random() < o.duplicates:
            # The device did not hear our answer in time and sends the very same message again.
            self._later_push(rng.uniform(0.05, 1.0), message, duplicate=True)

    def _later_push(self, delay_s: float, message: Message, *, duplicate: bool = False) -> None:
        if duplicate:
            message = Message(**{**message.__dict__, "label": f"duplicate {message.label}"})
        due = asyncio.get_running_loop().time() + delay_s
        heapq.heappush(self._later, (due, next(self._tiebreak), message))

    def _incident(self) -> None:
        """One incident at a fitting device; the first is a quick one, so a newcomer sees an alarm."""
        rng = self.rng
        names = [n for n in INCIDENTS if n in QUICK_INCIDENTS] if not self._incidents else list(INCIDENTS)
        candidates = {name: [v for v in self._active if v.device.kind in INCIDENTS[name]] for name in names}
        candidates = {name: voices for name, voices in candidates.items() if voices}
        if not candidates:
            return
        name = rng.choice(sorted(candidates))
        voices = candidates[name]
        # A device named for the place the incident belongs to (the fire lane's sensors) if there is one.
        named = [v for v in voices if INCIDENT_PLACES.get(name, "\0") in v.device.name]
        voice = rng.choice(named or voices)
        self._incidents += 1
        if self.out is not None:
            self.out.write(f"  incident: {name} at {voice.device.name} ({voice.device.code})\n")
            self.out.flush()
        else:
            log.info("incident: %s at %s", name, voice.device.code)
        for delay, message in voice.incident(name):
            self._later_push(delay, message)

    @property
    def silent(self) -> set[str]:
        """Codes of the devices that went offline on purpose (`--offline`)."""
        return set(self._silent)

    def _go_silent(self) -> None:
        self.silenced_at = dt.datetime.now(dt.UTC)
        for code in self._going_offline:
            self._silent.add(code)
            client = self._mqtt.get(code)
            if client is not None:
                client.abort()  # no DISCONNECT: the broker publishes the Last Will (offline)
        self._going_offline = set()

    # --- sending --------------------------------------------------------------------------

    def _send(self, message: Message, *, count: bool = True) -> None:
        s = self.stats
        if count:
            s.sent += 1
            if message.malformed:
                s.malformed += 1
        s.by_transport[message.transport] += 1
        if message.transport == MQTT:
            self._publish(message, count=count)
        else:
            task = asyncio.get_running_loop().create_task(self._post(message, count=count))
            self._outstanding.add(task)
            task.add_done_callback(self._outstanding.discard)

    def _publish(self, message: Message, *, count: bool) -> None:
        client = self._mqtt.get(message.device.code)
        if client is None:
            return
        started = time.monotonic()
        future = client.publish(message.topic, message.body, qos=1, retain=message.retain)
        self._outstanding.add(future)

        def done(f: asyncio.Future) -> None:
            self._outstanding.discard(f)
            if f.cancelled():
                return
            if f.exception() is not None:
                self.stats.errors += 1
                return
            self._settle(message, f.result() < FAILURE, time.monotonic() - started, count=count, code=f.result())

        future.add_done_callback(done)

    async def _post(self, message: Message, *, count: bool) -> None:
        import aiohttp

        assert self._session is not None and self._http_slots is not None
        started = time.monotonic()
        delay = HTTP_RETRY_MIN_S
        while True:
            try:
                async with self._http_slots, self._session.post(message.path, data=message.body,
                                                                headers=message.headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, OSError):
                status = None
            if status is not None and status < 500:
                self._settle(message, status < HTTP_REFUSED, time.monotonic() - started, count=count, code=status)
                return
            # The gateway could not store it (503) or was unreachable: a device resends.
            self.stats.errors += 1
            await asyncio.sleep(delay)
            self.stats.retries += 1
            delay = min(delay * 2, HTTP_RETRY_MAX_S)

    def _settle(self, message: Message, accepted: bool, seconds: float, *, count: bool, code: int = 0) -> None:
        s = self.stats
        if count:
            if not accepted:
                s.refused += 1
                s.refusals[f"{message.transport} {code}: {message.label}"] += 1
            elif message.label.startswith("duplicate "):
                s.duplicates += 1
            elif not message.malformed:
                s.acked += 1
                s.events_acked += message.events
                s.by_label[message.label] += 1
        if self.on_result is not None:
            self.on_result(message, accepted, seconds)

    # --- reporting ------------------------------------------------------------------------

    async def _summaries(self) -> None:
        every = self.options.summary_every_s
        if not every or self.out is None:
            return
        last_acked, last_at = 0, time.monotonic()
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            rate = (self.stats.acked - last_acked) / max(now - last_at, 1e-6)
            last_acked, last_at = self.stats.acked, now
            self._print_summary(rate_now=rate)

    def _print_summary(self, *, rate_now: float | None = None, final: bool = False) -> None:
        if self.out is None:
            return
        s = self.stats
        if rate_now is None:
            rate_now = s.acked / max(time.monotonic() - s.started, 1e-6)
        up = sum(1 for c in self._mqtt.values() if c.connected)
        prefix = "done: " if final else ""
        self.out.write(prefix + s.line(up, len(self._mqtt), rate_now) + "\n")
        if final and s.unconfirmed:
            self.out.write(f"  {s.unconfirmed} messages were still unacknowledged at the end\n")
        self.out.flush()


def fleet_summary(fleet: list[SimDevice], use_mqtt: bool) -> str:
    kinds = Counter(d.kind for d in fleet)
    via = Counter(MQTT if use_mqtt and d.mqtt_password and d.protocol in ("linli_mqtt", "linli_json") else HTTP
                  for d in fleet)
    return (f"{len(fleet)} devices ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
            f"{via[MQTT]} over MQTT, {via[HTTP]} over HTTP")
