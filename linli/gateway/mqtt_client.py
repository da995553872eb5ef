"""A compact asyncio MQTT 5 client: CONNECT (with a Last Will and a persistent session),
QoS 0/1 PUBLISH both ways, SUBSCRIBE, keep-alive, and acknowledgements the caller sends
itself (`manual_ack`), which is how the gateway acknowledges only after the commit.

Why not paho: at thousands of messages a second on a two-core machine, paho's network
thread (per-message property objects, locks, a wake-up of its loop for every acknowledgement
sent from another thread) took a third of a gateway process. Here a message costs a few
microseconds on the event loop itself and a batch of acknowledgements is one socket write.
It speaks what Linli needs; the broker side is Mosquitto. The simulator's devices use it too.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Packet types (MQTT 5.0, section 2.1.2).
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
# Properties we send or read (section 2.2.2.2).
MESSAGE_EXPIRY, SESSION_EXPIRY, ASSIGNED_CLIENT_ID, RECEIVE_MAXIMUM = 0x02, 0x11, 0x12, 0x21
DEFAULT_RECEIVE_MAXIMUM = 65535
PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"
FAILURE = 0x80  # reason codes from here up are refusals


class MqttError(Exception):
    """The broker refused us, or the connection broke."""

    def __init__(self, message: str, reason_code: int | None = None):
        super().__init__(message)
        self.reason_code = reason_code


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _str(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(data)) + data


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + _varint(len(body)) + body


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, multiplier = 0, 1
    while True:
        byte = data[pos]
        pos += 1
        value += (byte & 0x7F) * multiplier
        multiplier *= 128
        if not byte & 0x80:
            return value, pos


def message_expiry(seconds: int) -> bytes:
    """The PUBLISH property telling the broker to drop the message after `seconds`."""
    return bytes((MESSAGE_EXPIRY,)) + struct.pack("!I", seconds)


def puback(packet_id: int) -> bytes:
    return b"\x40\x02" + struct.pack("!H", packet_id)


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


# topic, payload, packet id (None for QoS 0), QoS, connection generation
OnMessage = Callable[[str, bytes, int | None, int, int], None]


class _Protocol(asyncio.Protocol):
    def __init__(self, client: MqttClient):
        self.client = client
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.client.heard = asyncio.get_running_loop().time()
        buf = self.buffer
        buf += data
        pos, end_of_data = 0, len(buf)
        received = self.client._received
        while end_of_data - pos >= 2:
            # Remaining length: a variable byte integer after the first byte.
            length, multiplier, cursor = 0, 1, pos + 1
            while True:
                if cursor >= end_of_data:
                    del buf[:pos]
                    return
                byte = buf[cursor]
                length += (byte & 0x7F) * multiplier
                multiplier *= 128
                cursor += 1
                if not byte & 0x80:
                    break
            end = cursor + length
            if end > end_of_data:
                break
            first = buf[pos]
            received(first >> 4, first & 0x0F, bytes(buf[cursor:end]))
            pos = end
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost(exc)


class MqttClient:
    """One MQTT 5 connection (reconnect by calling `connect` again).

    `publish()` returns a future resolved by the broker's PUBACK reason code (0 = accepted);
    with `clean_start=False` unacknowledged messages survive a reconnect and are sent again
    with the DUP flag. Incoming messages go to `on_message`; QoS 1 ones are acknowledged at
    once, or with `manual_ack` only when the caller calls `ack()` (ignored if the connection
    they came on is gone: the broker redelivers them on the next one)."""

    def __init__(self, *, client_id: str, username: str | None = None, password: str | None = None,
                 keepalive_s: int = 60, clean_start: bool = True, session_expiry_s: int = 0,
                 receive_maximum: int | None = None, will: Will | None = None, manual_ack: bool = False,
                 on_message: OnMessage | None = None):
        self.client_id = client_id
        self.username, self.password = username, password
        self.keepalive_s = keepalive_s
        self.clean_start = clean_start
        self.session_expiry_s = session_expiry_s
        self.our_receive_maximum = receive_maximum
        self.will = will
        self.manual_ack = manual_ack
        self.on_message = on_message
        self.receive_maximum = DEFAULT_RECEIVE_MAXIMUM  # the broker's, from CONNACK
        self.connected = False
        self.generation = 0  # counts connections, so acks never cross into a newer one
        self.heard = 0.0
        self._protocol: _Protocol | None = None
        self._connack: asyncio.Future | None = None
        self._suback: dict[int, asyncio.Future] = {}
        # packet id → (PUBLISH bytes without DUP, future); kept until PUBACK, resent on reconnect.
        self._inflight: dict[int, tuple[bytes, asyncio.Future]] = {}
        self._pending: collections.deque = collections.deque()
        self._next_id = 0
        self._pinger: asyncio.Task | None = None
        self.closed: asyncio.Future | None = None

    # connection -------------------------------------------------------------------------

    async def connect(self, host: str, port: int, *, timeout_s: float = 10.0,
                      ssl_context: ssl.SSLContext | None = None) -> bool:
        """Connect (or reconnect); returns whether the broker kept our session."""
        loop = asyncio.get_running_loop()
        self._connack = loop.create_future()
        self.closed = loop.create_future()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(self), host, port, ssl=ssl_context), timeout_s)
        self._protocol = protocol
        protocol.transport.write(self._connect_packet())
        try:
            session_present = await asyncio.wait_for(self._connack, timeout_s)
        except BaseException:
            protocol.transport.close()
            raise
        self.connected = True
        self.generation += 1
        self.heard = loop.time()
        # Resend what the broker never acknowledged, in order, marked as a duplicate delivery
        # (with a clean start nothing is left: it was failed when the connection dropped).
        for packet, _ in list(self._inflight.values()):
            protocol.transport.write(bytes((packet[0] | 0x08,)) + packet[1:])
        self._send_pending()
        if self.keepalive_s:
            self._pinger = loop.create_task(self._ping())
        return session_present

    def _connect_packet(self) -> bytes:
        flags = 0x02 if self.clean_start else 0x00
        props = b""
        if self.session_expiry_s:
            props += bytes((SESSION_EXPIRY,)) + struct.pack("!I", self.session_expiry_s)
        if self.our_receive_maximum:
            props += bytes((RECEIVE_MAXIMUM,)) + struct.pack("!H", self.our_receive_maximum)
        payload = _str(self.client_id)
        if self.will is not None:
            flags |= 0x04 | (self.will.qos << 3) | (0x20 if self.will.retain else 0)
            payload += b"\x00" + _str(self.will.topic) + _str(self.will.payload)
        if self.username is not None:
            flags |= 0x80
            payload += _str(self.username)
        if self.password is not None:
            flags |= 0x40
            payload += _str(self.password)
        body = (_str("MQTT") + bytes((5, flags)) + struct.pack("!H", self.keepalive_s)
                + _varint(len(props)) + props + payload)
        return _packet(CONNECT << 4, body)

    async def _ping(self) -> None:
        """PINGREQ when quiet; a broker not heard from for 1.5 keep-alives is gone (half-open TCP)."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(asyncio.CancelledError):
            while self.connected:
                await asyncio.sleep(self.keepalive_s / 2)
                transport = self._protocol.transport if self._protocol else None
                if transport is None:
                    return
                if loop.time() - self.heard > self.keepalive_s * 1.5:
                    transport.abort()
                    return
                transport.write(PINGREQ_PACKET)

    async def disconnect(self) -> None:
        """A clean DISCONNECT: the broker discards the Last Will."""
        if self._protocol and self._protocol.transport and self.connected:
            self._protocol.transport.write(DISCONNECT_PACKET)
            self._protocol.transport.close()
        await self._wait_closed()

    def abort(self) -> None:
        """Drop the connection without DISCONNECT (power cut): the broker publishes the Last Will."""
        if self._protocol and self._protocol.transport:
            self._protocol.transport.abort()

    async def _wait_closed(self) -> None:
        if self.closed is not None and not self.closed.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.closed), 5)

    def _lost(self, exc: Exception | None) -> None:
        self.connected = False
        if self._pinger:
            self._pinger.cancel()
        error = MqttError(f"connection lost: {exc}" if exc else "connection closed")
        if self._connack and not self._connack.done():
            self._connack.set_exception(error)
        for future in self._suback.values():
            if not future.done():
                future.set_exception(error)
        self._suback.clear()
        if self.clean_start:
            for _, future in self._inflight.values():
                if not future.done():
                    future.set_exception(error)
            self._inflight.clear()
        if self.closed and not self.closed.done():
            self.closed.set_result(None)

    # publishing -------------------------------------------------------------------------

    def _packet_id(self) -> int:
        for _ in range(65535):
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self._inflight and self._next_id not in self._suback:
                return self._next_id
        raise MqttError("no free packet identifier")

    def publish(self, topic: str | bytes, payload: bytes, *, qos: int = 1, retain: bool = False,
                properties: bytes = b"") -> asyncio.Future:
        """Queue a message; for QoS 1 the future gets the PUBACK reason code (0 = accepted).

        Like a device's outbox: beyond the broker's Receive Maximum, or while disconnected,
        messages wait here in order and go out as acknowledgements free the window."""
        topic_bytes = _str(topic)
        first = (PUBLISH << 4) | (qos << 1) | (1 if retain else 0)
        props = _varint(len(properties)) + properties
        future = asyncio.get_running_loop().create_future()
        if qos == 0:
            if self.connected:
                self._write(_packet(first, topic_bytes + props + payload))
            future.set_result(0)
            return future
        self._pending.append((first, topic_bytes, props + payload, future))
        self._send_pending()
        return future

    def _send_pending(self) -> None:
        while self._pending and self.connected and len(self._inflight) < self.receive_maximum:
            first, topic_bytes, rest, future = self._pending.popleft()
            packet_id = self._packet_id()
            packet = _packet(first, topic_bytes + struct.pack("!H", packet_id) + rest)
            self._inflight[packet_id] = (packet, future)
            self._protocol.transport.write(packet)  # type: ignore[union-attr]

    @property
    def waiting(self) -> int:
        """Messages not yet acknowledged by the broker: in flight plus queued."""
        return len(self._inflight) + len(self._pending)

    def _write(self, data: bytes) -> None:
        if self._protocol is None or self._protocol.transport is None or not self.connected:
            raise MqttError("not connected")
        self._protocol.transport.write(data)

    def ack(self, packet_ids: Iterable[int], generation: int) -> int:
        """PUBACK these received messages in one write; returns how many were sent."""
        if generation != self.generation or not self.connected:
            return 0  # they came on a connection that is gone; the broker sends them again
        data = b"".join(puback(i) for i in packet_ids)
        if data:
            self._write(data)
        return len(data) // 4

    async def unsubscribe(self, topic_filter: str) -> int:
        """Returns the UNSUBACK reason code (0x11: there was no such subscription)."""
        packet_id = self._packet_id()
        future = asyncio.get_running_loop().create_future()
        self._suback[packet_id] = future
        self._write(_packet((UNSUBSCRIBE << 4) | 0x02, struct.pack("!H", packet_id) + b"\x00" + _str(topic_filter)))
        return await asyncio.wait_for(future, 10)

    async def subscribe(self, topic_filter: str, qos: int = 1) -> int:
        """Returns the granted QoS or the SUBACK reason code (≥ 0x80 is a refusal)."""
        packet_id = self._packet_id()
        future = asyncio.get_running_loop().create_future()
        self._suback[packet_id] = future
        self._write(_packet((SUBSCRIBE << 4) | 0x02,
                            struct.pack("!H", packet_id) + b"\x00" + _str(topic_filter) + bytes((qos,))))
        return await asyncio.wait_for(future, 10)

    # receiving --------------------------------------------------------------------------

    def _received(self, kind: int, flags: int, body: bytes) -> None:
        if kind == PUBLISH:
            self._incoming_publish(flags, body)
        elif kind == PUBACK:
            packet_id = (body[0] << 8) | body[1]
            entry = self._inflight.pop(packet_id, None)
            if entry is not None:
                if not entry[1].done():
                    entry[1].set_result(body[2] if len(body) > 2 else 0)
                if self._pending:
                    self._send_pending()
        elif kind == CONNACK:
            self._on_connack(body)
        elif kind in (SUBACK, UNSUBACK):
            packet_id = struct.unpack_from("!H", body)[0]
            props_len, pos = _read_varint(body, 2)
            future = self._suback.pop(packet_id, None)
            if future is not None and not future.done():
                future.set_result(body[pos + props_len])
        elif kind == DISCONNECT and self._protocol and self._protocol.transport:
            self._protocol.transport.close()

    def _on_connack(self, body: bytes) -> None:
        session_present, reason = body[0] & 0x01, body[1]
        if reason >= FAILURE:
            if self._connack and not self._connack.done():
                self._connack.set_exception(MqttError(f"CONNACK refused 0x{reason:02x}", reason))
            return
        props_len, pos = _read_varint(body, 2)
        end = pos + props_len
        self.receive_maximum = DEFAULT_RECEIVE_MAXIMUM
        while pos < end:
            prop = body[pos]
            pos += 1
            if prop == RECEIVE_MAXIMUM:
                self.receive_maximum = struct.unpack_from("!H", body, pos)[0]
                pos += 2
            elif prop in (SESSION_EXPIRY, 0x27):  # four-byte integers (0x27 maximum packet size)
                pos += 4
            elif prop in (0x24, 0x25, 0x28, 0x29, 0x2A):  # one byte: max QoS, retain/wildcard/sub-id/shared available
                pos += 1
            elif prop in (0x13, 0x22):  # server keep alive, topic alias maximum
                pos += 2
            elif prop in (ASSIGNED_CLIENT_ID, 0x1A, 0x1C, 0x1F, 0x15, 0x16):  # strings, authentication data
                pos += 2 + struct.unpack_from("!H", body, pos)[0]
            elif prop == 0x26:  # user property: two strings
                pos += 2 + struct.unpack_from("!H", body, pos)[0]
                pos += 2 + struct.unpack_from("!H", body, pos)[0]
            else:
                break  # a property we do not know: the rest does not matter to us
        if self._connack and not self._connack.done():
            self._connack.set_result(bool(session_present))

    def _incoming_publish(self, flags: int, body: bytes) -> None:
        qos = (flags >> 1) & 0x03
        topic_len = (body[0] << 8) | body[1]
        pos = 2 + topic_len
        topic = body[2:pos].decode()
        packet_id = None
        if qos:
            packet_id = (body[pos] << 8) | body[pos + 1]
            pos += 2
        props_len, pos = _read_varint(body, pos)
        payload = body[pos + props_len:]
        if qos == 1 and not self.manual_ack and self.connected:
            self._write(puback(packet_id))  # type: ignore[arg-type]
        if self.on_message is not None:
            self.on_message(topic, payload, packet_id, qos, self.generation)
