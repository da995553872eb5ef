"""What each kind of device says, in its own language: everyday traffic, heartbeats, incidents
and deliberately broken messages, as HTTP pushes or MQTT publishes ready to send.

One `DeviceVoice` per simulated device keeps what a real device keeps (its counters, its
meter reading, whether its space is occupied), so message ids never repeat within a run and
readings move plausibly.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import itertools
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from PIL import Image

from linli.devices.adapters.base import DEVICE_LOCAL_TZ
from linli.devices.adapters.nbiot_webhook import NONCE_HEADER, SIGNATURE_HEADER, sign
from linli.devices.models import DeviceKind, Protocol
from linli.events import types
from linli.simulate.fleet import NBIOT_PLATFORM, NBIOT_PRODUCT, SimDevice, speaks_mqtt

HTTP, MQTT = "http", "mqtt"
TOPIC_ROOT = "linli/v1"


def _snapshot() -> bytes:
    # A small baseline JPEG, as cameras send: the gateway flags pictures viewers cannot open.
    out = io.BytesIO()
    Image.new("L", (8, 8), 128).save(out, "JPEG", quality=50)
    return out.getvalue()


SNAPSHOT = _snapshot()  # stands in for a camera's snapshot
PROVINCE_PREFIXES = ("鲁B", "鲁B", "鲁B", "鲁U", "鲁V", "鲁A", "京N", "苏E")
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
PLATE_COLOURS = (1, 1, 1, 1, 2, 5, 5)  # mostly blue, some yellow (trucks) and green (new energy)
# How busy each kind is, relative to the others, when the rate is shared out.
ACTIVITY = {
    DeviceKind.LPR_CAMERA: 8, DeviceKind.DOOR_CONTROLLER: 8, DeviceKind.GROUND_LOCK: 3,
    DeviceKind.PARKING_SENSOR: 3, DeviceKind.IP_CAMERA: 1, DeviceKind.ELEVATOR_CONTROLLER: 4,
    DeviceKind.ELEVATOR_AI_CAMERA: 1, DeviceKind.DOOR_CONTACT: 2, DeviceKind.WATER_METER: 1,
    DeviceKind.SMOKE_DETECTOR: 1, DeviceKind.GAS_DETECTOR: 1, DeviceKind.PERIMETER_SENSOR: 1,
    DeviceKind.BARRIER_GATE: 1, DeviceKind.LOUDSPEAKER: 1, DeviceKind.LED_DISPLAY: 1,
}

# Incidents the demo plays now and then: (name, device kinds that can have it).
INCIDENTS = {
    "smoke": (DeviceKind.SMOKE_DETECTOR,),
    "ebike": (DeviceKind.ELEVATOR_AI_CAMERA,),
    "fire_lane": (DeviceKind.PARKING_SENSOR,),
    "fence_climb": (DeviceKind.PERIMETER_SENSOR,),
    "entrapment": (DeviceKind.ELEVATOR_CONTROLLER,),
}

# Incidents whose alarm follows at once (the fire lane waits for its rule's minutes).
QUICK_INCIDENTS = frozenset({"smoke", "ebike", "fence_climb", "entrapment"})
# Words in a device's name that say it is where the incident belongs.
INCIDENT_PLACES = {"fire_lane": "消防通道"}

_run_ids = itertools.count()


@dataclass
class Message:
    """One thing a device sends. `events`: how many events the gateway stores from it (0 for a
    broken one, which becomes a dead letter)."""

    device: SimDevice
    transport: str
    label: str  # the event type, or what is wrong with it
    path: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    topic: str = ""
    retain: bool = False
    events: int = 1
    malformed: bool = False
    message_id: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(DEVICE_LOCAL_TZ).isoformat(timespec="milliseconds")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class DeviceVoice:
    """Builds one device's messages. `use_mqtt`: the simulator reaches a broker and holds an MQTT
    password for this device; Linli's own devices then talk MQTT, others their HTTP format."""

    def __init__(self, device: SimDevice, *, rng: random.Random, use_mqtt: bool, nbiot_secret: str | None,
                 images: float = 0.1):
        self.device = device
        self.rng = rng
        self.nbiot_secret = nbiot_secret
        self.images = images
        self.mqtt = use_mqtt and speaks_mqtt(device.protocol) and device.mqtt_password is not None
        # Message ids must not repeat across runs against the same database: prefix with the run.
        self.run = f"{int(time.time() * 1000) % 10**10:x}{next(_run_ids):x}"
        self.seq = itertools.count(1)
        self.plate_ids = itertools.count(int(time.time() * 10) % 2**31)
        self.post_count = itertools.count(int(time.time() * 10) % 2**31)
        self.last_ms = 0
        self.occupied = False
        self.meter_m3 = round(rng.uniform(10, 900), 3)
        self.floor = rng.randint(1, 6)
        self.battery_v = round(rng.uniform(3.3, 3.7), 2)

    # --- transports ---------------------------------------------------------------------

    def _id(self) -> str:
        return f"sim-{self.run}-{next(self.seq)}"

    def _token_query(self) -> str:
        return f"?token={quote(self.device.token or '')}"

    def linli(self, event_type: str, payload: dict, *, at: dt.datetime | None = None, kind: str = "event",
              message_id: str | None = None) -> Message:
        """Linli's own envelope: on the MQTT contract, or pushed as Linli JSON over HTTP."""
        message_id = message_id or self._id()
        body = _dumps({"message_id": message_id, "type": event_type, "at": _iso(at or _now()), "payload": payload})
        if self.mqtt:
            return Message(self.device, MQTT, event_type, topic=f"{TOPIC_ROOT}/{self.device.code}/up/{kind}",
                           body=body, message_id=message_id)
        return Message(self.device, HTTP, event_type, path=f"/push/linli/{self.device.code}", body=body,
                       headers={"Authorization": f"Bearer {self.device.token}",
                                "Content-Type": "application/json"}, message_id=message_id)

    def status_online(self) -> Message:
        """The retained `{"online": true}` a device publishes on connecting (MQTT only)."""
        return Message(self.device, MQTT, types.STATUS, topic=f"{TOPIC_ROOT}/{self.device.code}/up/status",
                       body=b'{"online":true}', retain=True)

    def command_ack(self, command: bytes) -> Message | None:
        """The answer to a command from Linli: done, by its id."""
        try:
            command_id = json.loads(command)["command_id"]
        except (ValueError, KeyError, TypeError):
            return None
        body = _dumps({"command_id": command_id, "ok": True, "detail": "done"})
        return Message(self.device, MQTT, types.COMMAND_ACK, topic=f"{TOPIC_ROOT}/{self.device.code}/up/ack",
                       body=body, message_id=f"ack-{command_id}")

    def nbiot(self, payload: dict, events: int, label: str) -> Message:
        now_ms = max(int(time.time() * 1000), self.last_ms + 1)  # the platform's message id is the time
        self.last_ms = now_ms
        body = _dumps({"messageType": "dataReport", "IMEI": self.device.serial, "deviceId": self.device.code,
                       "productId": NBIOT_PRODUCT, "tenantId": "sim", "timestamp": now_ms, "payload": payload})
        nonce = uuid.uuid4().hex[:16]
        return Message(self.device, HTTP, label, path=f"/push/nbiot/{NBIOT_PLATFORM}", body=body,
                       headers={NONCE_HEADER: nonce, SIGNATURE_HEADER: sign(self.nbiot_secret or "", nonce, body),
                                "Content-Type": "application/json"}, events=events,
                       message_id=f"nb:{now_ms}")

    def nbiot_ready(self) -> bool:
        return self.device.protocol == Protocol.NBIOT_WEBHOOK and self.nbiot_secret is not None

    # --- everyday traffic ---------------------------------------------------------------

    def heartbeat(self) -> Message:
        d = self.device
        if self.nbiot_ready():
            return self.nbiot(self._nb_vitals(), 1, types.TELEMETRY)
        if d.protocol == Protocol.HIK_ISAPI:
            return self.isapi({"eventType": "heartbeat", "eventState": "active", "eventDescription": "heartbeat"},
                              types.HEARTBEAT)
        if self.mqtt and self.rng.random() < 0.5:
            return self.linli(types.TELEMETRY, {"battery_v": self._battery(), "rssi_dbm": self.rng.randint(-95, -60)},
                              kind="telemetry")
        # AlarmInfoPlate has no heartbeat body Linli reads: the camera says so in Linli JSON.
        return self.linli(types.HEARTBEAT, {}, kind="telemetry")

    def activity(self) -> Message:
        """One everyday message of this kind of device."""
        d, rng = self.device, self.rng
        kind = d.kind
        if d.protocol == Protocol.ALARM_INFO_PLATE:
            return self.plate_read()
        if d.protocol == Protocol.HIK_ISAPI:
            if kind == DeviceKind.LPR_CAMERA:
                return self.isapi_anpr()
            if kind == DeviceKind.DOOR_CONTROLLER:
                return self.isapi_access()
            return self.isapi_intrusion("linedetection", image=rng.random() < self.images)
        if self.nbiot_ready():
            return self._nb_activity()
        if kind in (DeviceKind.GROUND_LOCK, DeviceKind.PARKING_SENSOR):
            self.occupied = not self.occupied
            return self.linli(types.SPACE_OCCUPANCY, {"occupied": self.occupied})
        if kind == DeviceKind.ELEVATOR_CONTROLLER:
            self.floor = max(1, min(18, self.floor + rng.choice((-2, -1, 1, 2))))
            return self.linli(types.TELEMETRY, {"floor": self.floor, "running": rng.random() < 0.6,
                                                "door": rng.choice(("open", "closed"))}, kind="telemetry")
        if kind == DeviceKind.DOOR_CONTACT:
            return self.linli(types.TELEMETRY, {"contact": rng.choice(("open", "closed")),
                                                "battery_v": self._battery()}, kind="telemetry")
        if kind == DeviceKind.ELEVATOR_AI_CAMERA:
            return self.linli(types.TELEMETRY, {"people": rng.randint(0, 6)}, kind="telemetry")
        if kind == DeviceKind.WATER_METER:
            return self.linli(types.WATER_READING, {"m3": self._meter()}, kind="telemetry")
        return self.linli(types.TELEMETRY, {"battery_v": self._battery(), "rssi_dbm": rng.randint(-95, -60)},
                          kind="telemetry")

    def _battery(self) -> float:
        # Batteries last years: a reading wanders by millivolts, it does not run down in a run.
        return round(self.battery_v + self.rng.uniform(-0.005, 0.005), 3)

    def _meter(self) -> float:
        self.meter_m3 = round(self.meter_m3 + self.rng.uniform(0, 0.05), 3)
        return self.meter_m3

    def _nb_vitals(self) -> dict:
        return {"battery_voltage": self._battery(), "rsrp": self.rng.randint(-110, -70), "Send_cnt": next(self.seq)}

    def _nb_activity(self) -> Message:
        kind = self.device.kind
        if kind == DeviceKind.WATER_METER:
            return self.nbiot({"total_m3": self._meter(), **self._nb_vitals()}, 2, types.WATER_READING)
        if kind == DeviceKind.PARKING_SENSOR:
            self.occupied = not self.occupied
            return self.nbiot({"parking_state": int(self.occupied), **self._nb_vitals()}, 2, types.SPACE_OCCUPANCY)
        if kind == DeviceKind.SMOKE_DETECTOR:
            return self.nbiot({"smoke_state": 0, "concentration": 0, **self._nb_vitals()}, 2, types.SMOKE_ALARM)
        if kind == DeviceKind.GAS_DETECTOR:
            return self.nbiot({"gas_state": 0, "lel_percent": 0, **self._nb_vitals()}, 2, types.GAS_ALARM)
        return self.nbiot(self._nb_vitals(), 1, types.TELEMETRY)

    # --- vendor HTTP formats --------------------------------------------------------------

    def plate_read(self, *, plate: str | None = None, image: bool | None = None) -> Message:
        rng = self.rng
        plate_id = next(self.plate_ids)
        colour = rng.choice(PLATE_COLOURS)
        if plate is None:
            length = 6 if colour == 5 else 5
            plate = rng.choice(PROVINCE_PREFIXES) + "".join(rng.choice(PLATE_CHARS) for _ in range(length))
        now = time.time()
        result: dict[str, Any] = {
            "license": plate, "colorType": colour, "type": 1, "confidence": rng.randint(85, 99),
            "direction": rng.choice((1, 4)), "location": {"RECT": {"left": 620, "top": 410, "right": 790,
                                                                    "bottom": 460}},
            "timeStamp": {"Timeval": {"sec": int(now), "usec": int(now % 1 * 1e6)}},
            "triggerType": 8, "plateid": plate_id, "isoffline": 0}
        if image if image is not None else rng.random() < self.images:
            result["imageFile"] = base64.b64encode(SNAPSHOT).decode()
        body = _dumps({"AlarmInfoPlate": {"channel": 0, "deviceName": self.device.name[:20],
                                          "ipaddr": "192.168.1.100", "serialno": self.device.serial,
                                          "result": {"PlateResult": result}}})
        return Message(self.device, HTTP, types.PLATE_READ,
                       path=f"/push/alarm-info-plate/{self.device.code}{self._token_query()}", body=body,
                       headers={"Content-Type": "application/json"}, message_id=f"plate:{plate_id}")

    def _alert(self, fields: dict) -> dict:
        return {"ipAddress": "192.168.1.64", "macAddress": "44:19:b6:00:00:01", "channelID": 1,
                "dateTime": dt.datetime.now(DEVICE_LOCAL_TZ).isoformat(timespec="seconds"),
                "activePostCount": next(self.post_count), **fields}

    def isapi(self, fields: dict, label: str) -> Message:
        body = _dumps({"EventNotificationAlert": self._alert(fields)})
        return Message(self.device, HTTP, label, path=f"/push/hik/{self.device.code}{self._token_query()}",
                       body=body, headers={"Content-Type": "application/json"})

    def isapi_anpr(self) -> Message:
        plate = self.rng.choice(PROVINCE_PREFIXES) + "".join(self.rng.choice(PLATE_CHARS) for _ in range(5))
        return self.isapi({"eventType": "ANPR", "eventState": "active", "eventDescription": "ANPR",
                           "ANPR": {"licensePlate": plate, "plateColor": "blue", "direction": "forward",
                                    "confidenceLevel": self.rng.randint(85, 99)}}, types.PLATE_READ)

    def isapi_access(self) -> Message:
        """A door event, as XML half the time (the format older terminals push)."""
        granted = self.rng.random() < 0.93
        alert = self._alert({"eventType": "AccessControllerEvent", "eventState": "active",
                             "eventDescription": "Access Controller Event"})
        access = {"major": 5, "minor": 75 if granted else 76, "currentVerifyMode": "faceOrFpOrCardOrPw",
                  "employeeNoString": str(self.rng.randint(1000, 9999))}
        if self.rng.random() < 0.5:
            alert["AccessControllerEvent"] = {"majorEventType": access["major"], "subEventType": access["minor"],
                                              "currentVerifyMode": "face",
                                              "employeeNoString": access["employeeNoString"]}
            return Message(self.device, HTTP, types.DOOR_ACCESS,
                           path=f"/push/hik/{self.device.code}{self._token_query()}",
                           body=_dumps({"EventNotificationAlert": alert}), headers={"Content-Type": "application/json"})
        return Message(self.device, HTTP, types.DOOR_ACCESS, path=f"/push/hik/{self.device.code}{self._token_query()}",
                       body=_xml({**alert, "AccessControllerEvent": access}),
                       headers={"Content-Type": "application/xml"})

    def isapi_intrusion(self, event_type: str, *, image: bool, state: str = "active") -> Message:
        """Line crossing / field intrusion; with a snapshot it is multipart, as cameras send it."""
        alert = self._alert({"eventType": event_type, "eventState": state,
                             "eventDescription": "Line crossing alarm" if event_type == "linedetection"
                             else "Intrusion alarm"})
        xml = _xml(alert)
        path = f"/push/hik/{self.device.code}{self._token_query()}"
        if not image:
            return Message(self.device, HTTP, types.INTRUSION, path=path, body=xml,
                           headers={"Content-Type": "application/xml"})
        boundary = f"linli{uuid.uuid4().hex[:12]}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"alert\"\r\n"
                f"Content-Type: application/xml\r\n\r\n").encode() + xml + (
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"snap.jpg\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + SNAPSHOT + f"\r\n--{boundary}--\r\n".encode()
        return Message(self.device, HTTP, types.INTRUSION, path=path, body=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    # --- incidents ------------------------------------------------------------------------

    def incident(self, name: str) -> list[tuple[float, Message]]:
        """The messages of one incident, each with its delay in seconds from the start."""
        rng = self.rng
        if name == "smoke":
            if self.nbiot_ready():
                alarm = self.nbiot({"smoke_state": 1, "concentration": rng.randint(8, 30), **self._nb_vitals()}, 2,
                                   types.SMOKE_ALARM)
                clear = self.nbiot({"smoke_state": 0, "concentration": 0, **self._nb_vitals()}, 2,
                                   types.SMOKE_ALARM)
                return [(0, alarm), (rng.uniform(60, 120), clear)]
            return [(0, self.linli(types.SMOKE_ALARM, {"state": "alarm", "concentration": 12})),
                    (rng.uniform(60, 120), self.linli(types.SMOKE_ALARM, {"state": "clear"}))]
        if name == "ebike":
            return [(0, self.linli(types.ELEVATOR_EBIKE, {"confidence": round(rng.uniform(0.85, 0.98), 2)}))]
        if name == "fire_lane":
            self.occupied = True
            held = rng.uniform(150, 300)  # longer than the demo's two-minute fire-lane rule
            message = (self.nbiot({"parking_state": 1, **self._nb_vitals()}, 2, types.SPACE_OCCUPANCY)
                       if self.nbiot_ready() else self.linli(types.SPACE_OCCUPANCY, {"occupied": True}))
            freed = (self.nbiot({"parking_state": 0, **self._nb_vitals()}, 2, types.SPACE_OCCUPANCY)
                     if self.nbiot_ready() else self.linli(types.SPACE_OCCUPANCY, {"occupied": False}))
            return [(0, message), (held, freed)]
        if name == "fence_climb":
            return [(0, self.linli(types.INTRUSION, {"rule": "fence_climb", "state": "active"})),
                    (30, self.linli(types.INTRUSION, {"rule": "fence_climb", "state": "inactive"}))]
        if name == "entrapment":
            floor = self.floor
            return [(0, self.linli(types.ELEVATOR_ENTRAPMENT, {"state": "active", "floor": floor})),
                    (rng.uniform(120, 300), self.linli(types.ELEVATOR_ENTRAPMENT, {"state": "cleared",
                                                                                   "floor": floor}))]
        raise ValueError(f"unknown incident {name}")

    # --- broken on purpose ----------------------------------------------------------------

    def _truncated(self) -> bytes:
        """JSON cut off mid-message (a flaky link), with an id of its own so each one can be told apart."""
        return f'{{"message_id": "{self._id()}", "type": '.encode()

    def malformed(self) -> Message:
        """A message the gateway must dead-letter: bad JSON, an unknown device or a wrong token."""
        d, choice = self.device, self.rng.random()
        if self.mqtt:
            topic = f"{TOPIC_ROOT}/{d.code}/up/event"
            if choice < 0.5:
                return Message(d, MQTT, "malformed JSON", topic=topic, body=self._truncated(), events=0,
                               malformed=True)
            body = _dumps({"message_id": self._id(), "type": "no.such_type", "at": _iso(_now()), "payload": {}})
            return Message(d, MQTT, "unknown event type", topic=topic, body=body, events=0, malformed=True)
        good = self.linli(types.TELEMETRY, {"battery_v": 3.5})
        if choice < 0.4:
            return Message(d, HTTP, "malformed JSON", path=good.path, body=self._truncated(), headers=good.headers,
                           events=0, malformed=True)
        if choice < 0.7:
            return Message(d, HTTP, "wrong token", path=good.path, body=good.body,
                           headers={"Authorization": "Bearer not-a-token", "Content-Type": "application/json"},
                           events=0, malformed=True)
        return Message(d, HTTP, "unknown device", path=f"/push/linli/no-such-device-{self.rng.randint(1, 999)}",
                       body=good.body, headers=good.headers, events=0, malformed=True)


def _xml(fields: dict) -> bytes:
    def element(name: str, value: Any) -> str:
        if isinstance(value, dict):
            return f"<{name}>" + "".join(element(k, v) for k, v in value.items()) + f"</{name}>"
        return f"<{name}>{value}</{name}>"

    inner = "".join(element(k, v) for k, v in fields.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" '
            f'xmlns="http://www.hikvision.com/ver20/XMLSchema">{inner}</EventNotificationAlert>').encode()
