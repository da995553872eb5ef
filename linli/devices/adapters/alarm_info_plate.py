"""AlarmInfoPlate: the JSON LPR gate cameras (Vzenith/臻识 and OEM clones) push per plate read.

The HTTP response is the gate command (`info: ok` lifts the barrier) plus `serialData` for the
lane's LED/voice board; offline records are answered with `ContinuePushOffline`.
"""

from __future__ import annotations

import base64
import binascii
import json

from linli.devices.adapters.base import AdapterError, Parsed, PushRequest, evidence_file, from_epoch, incoming
from linli.devices.decisions import GateDecision, GateQuery, decide_gate
from linli.devices.models import Protocol
from linli.events import types
from linli.events.pipeline import Stored

PROTOCOL = Protocol.ALARM_INFO_PLATE
COLOURS = {0: "unknown", 1: "blue", 2: "yellow", 3: "white", 4: "black", 5: "green", 6: "yellow_green"}
IMAGE_FIELDS = ("imageFile", "imageFragmentFile")
SERIAL_CHANNEL = 0  # the RS-485 port the LED/voice board hangs on in the common lane wiring
LED_ENCODING = "gbk"  # lane LED/voice boards take GB2312 text; GBK is its superset


def parse(request: PushRequest) -> Parsed:
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdapterError("body is not valid JSON") from exc
    alarm = body.get("AlarmInfoPlate") if isinstance(body, dict) else None
    result = alarm.get("result") if isinstance(alarm, dict) else None
    plate = result.get("PlateResult") if isinstance(result, dict) else None
    if not isinstance(plate, dict):
        raise AdapterError("AlarmInfoPlate.result.PlateResult: missing")
    plate_id = plate.get("plateid")
    if not isinstance(plate_id, int) or isinstance(plate_id, bool):
        raise AdapterError("PlateResult.plateid: required integer")
    license_ = plate.get("license")
    if not isinstance(license_, str):
        raise AdapterError("PlateResult.license: required string")
    try:
        sec = plate["timeStamp"]["Timeval"]["sec"]
    except (KeyError, TypeError) as exc:
        raise AdapterError("PlateResult.timeStamp.Timeval.sec: missing") from exc
    if not isinstance(sec, int | float):
        raise AdapterError("PlateResult.timeStamp.Timeval.sec: expected a number")
    at = from_epoch(sec, field_name="PlateResult.timeStamp.Timeval.sec")
    offline = bool(plate.get("isoffline"))
    evidence, files = [], []
    for name in IMAGE_FIELDS:
        encoded = plate.get(name) or (alarm.get(name) if isinstance(alarm, dict) else None)
        if isinstance(encoded, str) and encoded:
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise AdapterError(f"{name}: not valid base64") from exc
            ref, file = evidence_file(data, at=at, ext="jpg")
            evidence.append(ref)
            files.append(file)
    colour = COLOURS.get(plate.get("colorType"), "unknown")
    direction = plate.get("direction") if isinstance(plate.get("direction"), int) else None
    payload = {"plate": license_, "colour": colour, "confidence": plate.get("confidence"),
               "direction": direction, "plate_id": plate_id, "offline": offline}
    message = incoming(request.device, types.PLATE_READ, f"plate:{plate_id}", at, payload, evidence)
    query = GateQuery(device_id=request.device.id, device_code=request.device.code,
                      compound_id=request.device.compound_id, plate=license_, colour=colour, direction=direction,
                      at=at, offline=offline)
    return Parsed([message], files, {"query": query})


def serial_data(decision: GateDecision) -> list[dict]:
    """`serialData` entries: ready-made frames as given, else the text encoded GBK, both base64."""
    frames = list(decision.serial_frames)
    if not frames and decision.display_text:
        frames = [decision.display_text.encode(LED_ENCODING, "replace")]
    return [{"serialChannel": SERIAL_CHANNEL, "data": base64.b64encode(f).decode("ascii"), "dataLen": len(f)}
            for f in frames]


def respond(parsed: Parsed, stored: list[Stored]) -> tuple[int, dict]:
    query: GateQuery = parsed.context["query"]
    if query.offline:
        # A record from while the network was down: the car has long passed; ask for the next one.
        plate_id = parsed.messages[0].payload["plate_id"]
        return 200, {"Response_AlarmInfoPlate": {"ContinuePushOffline": {"plateid": plate_id, "continue": 1}}}
    decision = decide_gate(query)
    return 200, {"Response_AlarmInfoPlate": {"info": "ok" if decision.open else "no", "channelNum": 0,
                                             "content": "retransfer_stop", "serialData": serial_data(decision)}}
