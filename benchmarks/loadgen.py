"""A cheap background load for the gateway benchmarks: `linli simulate`'s own messages, rendered
before the clock starts, then replayed at a fixed rate over raw keep-alive sockets.

`linli simulate` builds every message when it sends it and speaks through aiohttp and a full
MQTT client: realistic, but at 1,000 events/s it took a fifth of a core, and at 10,000/s two
thirds of one, on the same two cores as the gateway it was measuring. Here the same devices
say the same things (DeviceVoice: plate reads, ISAPI door events, signed NB-IoT reports, Linli
MQTT telemetry), but all of it is encoded up front, so sending a message is one socket write:
HTTP/1.1 on a pool of keep-alive connections (one request in flight on each), MQTT 3.1.1 QoS 1
on one connection per device, as the devices have. Every HTTP answer and PUBACK is counted.

    python benchmarks/loadgen.py --gateway http://127.0.0.1:8010 --mqtt-host 127.0.0.1 \
        --mqtt-port 1883 --rate 1000 --duration 75

Prints `ready` when connected (the messages rendered), then one summary line of JSON at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import random
import struct
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TICK_S = 0.005
HTTP_CONNECTIONS = 16
MQTT_KEEPALIVE_S = 120
CONNACK, PUBACK = 0x20, 0x40


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def mqtt_connect_packet(client_id: str, username: str, password: str) -> bytes:
    flags = 0x80 | 0x40 | 0x02  # username, password, clean session
    body = _utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", MQTT_KEEPALIVE_S)
    body += _utf8(client_id) + _utf8(username) + _utf8(password)
    return bytes([0x10]) + _varint(len(body)) + body


def mqtt_publish_parts(topic: str, payload: bytes, retain: bool) -> tuple[bytes, bytes]:
    """A QoS 1 PUBLISH split around its packet id, which is filled in at send time."""
    topic_raw = _utf8(topic)
    length = len(topic_raw) + 2 + len(payload)
    head = bytes([0x32 | (1 if retain else 0)]) + _varint(length) + topic_raw
    return head, payload


class Counts:
    def __init__(self) -> None:
        self.sent = 0
        self.acked = 0
        self.refused = 0
        self.failed = 0
        self.by_status: collections.Counter = collections.Counter()

    def as_dict(self) -> dict:
        return {"sent": self.sent, "acked": self.acked, "refused": self.refused, "failed": self.failed,
                "by_status": dict(self.by_status)}


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; one request at a time, the answer's status counted."""

    def __init__(self, counts: Counts, idle: collections.deque):
        self.counts = counts
        self.idle = idle
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.idle.append(self)

    def send(self, request: bytes) -> None:
        self.busy = True
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[:end + 4 + length]
            status = int(head[0].split()[1])
            self.counts.by_status[status] += 1
            if status < 300:
                self.counts.acked += 1
            elif status < 500:
                self.counts.refused += 1
            else:
                self.counts.failed += 1
            self.busy = False
            self.idle.append(self)

    def connection_lost(self, exc) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class MqttDevice(asyncio.Protocol):
    """One device's MQTT connection: QoS 1 publishes, PUBACKs counted."""

    def __init__(self, counts: Counts):
        self.counts = counts
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.connected = asyncio.get_running_loop().create_future()
        self.ids = itertools.cycle(range(1, 65536))

    def connection_made(self, transport) -> None:
        self.transport = transport

    def publish(self, head: bytes, payload: bytes) -> None:
        self.transport.write(head + struct.pack("!H", next(self.ids)) + payload)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 2:
            kind = self.buffer[0] & 0xF0
            length, shift, i = 0, 0, 1
            while True:
                if i >= len(self.buffer):
                    return
                byte = self.buffer[i]
                length += (byte & 0x7F) << shift
                shift += 7
                i += 1
                if not byte & 0x80:
                    break
            if len(self.buffer) < i + length:
                return
            packet = bytes(self.buffer[i:i + length])
            del self.buffer[:i + length]
            if kind == CONNACK and not self.connected.done():
                self.connected.set_result(packet[1] if len(packet) > 1 else 255)
            elif kind == PUBACK:
                self.counts.acked += 1

    def connection_lost(self, exc) -> None:
        if not self.connected.done():
            self.connected.set_result(255)


def render(fleet, *, rate: float, seconds: float, seed: int, use_mqtt: bool, nbiot_secret: str | None,
           host: str) -> list[tuple[str, str, bytes, bytes]]:
    """Every message of the run, in order: (transport, device code, head, payload) where an HTTP
    message is its whole request in `head` and an MQTT one is a PUBLISH split around its id."""
    from linli.simulate.traffic import ACTIVITY, MQTT, DeviceVoice

    rng = random.Random(seed)
    voices = [DeviceVoice(d, rng=random.Random(rng.random()), use_mqtt=use_mqtt and bool(d.mqtt_password),
                          nbiot_secret=nbiot_secret, images=0) for d in fleet]
    weights = list(itertools.accumulate(ACTIVITY.get(v.device.kind, 1) for v in voices))
    out = []
    for _ in range(int(rate * seconds)):
        voice = voices[rng.choices(range(len(voices)), cum_weights=weights)[0]]
        message = voice.activity()
        if message.transport == MQTT:
            head, payload = mqtt_publish_parts(message.topic, message.body, message.retain)
            out.append(("mqtt", message.device.code, head, payload))
        else:
            headers = {"Host": host, "Content-Length": str(len(message.body)), **message.headers}
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            out.append(("http", message.device.code, f"POST {message.path} HTTP/1.1\r\n{lines}\r\n".encode()
                        + message.body, b""))
    return out


async def replay(ns: argparse.Namespace, fleet, messages) -> dict:
    loop = asyncio.get_running_loop()
    counts = Counts()
    url = urlsplit(ns.gateway)
    idle: collections.deque[HttpConnection] = collections.deque()
    http = []
    for _ in range(HTTP_CONNECTIONS):
        _, conn = await loop.create_connection(lambda: HttpConnection(counts, idle), url.hostname, url.port)
        http.append(conn)
    mqtt: dict[str, MqttDevice] = {}
    speaking = {code for transport, code, _, _ in messages if transport == "mqtt"}
    for d in fleet:
        if d.code in speaking:
            _, device = await loop.create_connection(lambda: MqttDevice(counts), ns.mqtt_host, ns.mqtt_port)
            device.transport.write(mqtt_connect_packet(f"load-{d.code}", d.code, d.mqtt_password))
            if await asyncio.wait_for(device.connected, 10) == 0:
                mqtt[d.code] = device
    print("ready", flush=True)
    waiting: collections.deque[bytes] = collections.deque()
    started = loop.time()
    i = 0
    while i < len(messages):
        due = min(len(messages), int((loop.time() - started) * ns.rate))
        while i < due:
            transport, code, head, payload = messages[i]
            i += 1
            counts.sent += 1
            if transport == "mqtt" and code in mqtt:
                mqtt[code].publish(head, payload)
            elif transport == "http":
                waiting.append(head)
            else:
                counts.failed += 1  # an MQTT device the broker refused
        while waiting and idle:
            idle.popleft().send(waiting.popleft())
        await asyncio.sleep(TICK_S)
    sent_at = loop.time()
    while (waiting or counts.acked + counts.refused + counts.failed < counts.sent) and loop.time() - sent_at < ns.drain:
        while waiting and idle:
            idle.popleft().send(waiting.popleft())
        await asyncio.sleep(TICK_S)
    for conn in http:
        conn.transport.close()
    for device in mqtt.values():
        device.transport.write(b"\xe0\x00")  # DISCONNECT
        device.transport.close()
    result = counts.as_dict()
    result.update(seconds=round(sent_at - started, 1), rate=round(counts.sent / max(sent_at - started, 1e-6), 1),
                  unanswered=counts.sent - counts.acked - counts.refused - counts.failed,
                  cpu_s=round(time.process_time(), 2))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8010")
    parser.add_argument("--mqtt-host", default=None)
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--devices", default=None, help="as `linli simulate --devices`")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain", type=float, default=30)
    ns = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    django.setup()
    import uvloop

    from linli.simulate.fleet import load_fleet

    fleet, _ = load_fleet(ns.devices)
    rendering = time.process_time()
    messages = render(fleet, rate=ns.rate, seconds=ns.duration, seed=ns.seed, use_mqtt=ns.mqtt_host is not None,
                      nbiot_secret=os.environ.get("LINLI_NBIOT_SECRET_CTWING"),
                      host=urlsplit(ns.gateway).netloc)
    render_cpu = time.process_time() - rendering
    from django.db import connections

    connections.close_all()
    result = uvloop.run(replay(ns, fleet, messages))
    result["render_cpu_s"] = round(render_cpu, 2)
    result["send_cpu_s"] = round(result["cpu_s"] - render_cpu, 2)
    result["messages"] = len(messages)
    print(json.dumps(result), flush=True)
    return 0 if result["unanswered"] == 0 and result["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
