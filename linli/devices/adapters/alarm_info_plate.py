"""AlarmInfoPlate: the JSON LPR gate cameras (Vzenith/臻识 and OEM clones) push per plate read.

The HTTP response is the gate command (`info: ok` lifts the barrier) plus `serialData` for the
lane's LED/voice board; offline records are answered with `ContinuePushOffline`.

Read as the vendor documents it (docs/gateway.md, tests/fixtures): `license` `_无_` is a read
without a plate; three-region plates come joined by `|` (粤ZJ068澳|MX7742|ZM127), the mainland
plate first; pictures are base64 `imageFile` / `imageFragmentFile` with their byte lengths in
`imageFileLen` / `imageFragmentFileLen`; the body is UTF-8 unless the camera declares a charset.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linli.devices.adapters.base import (
    AdapterError,
    Parsed,
    PushRequest,
    charset_of,
    from_epoch,
    incoming,
    read_json,
)
from linli.devices.adapters.pictures import base64_picture_evidence
from linli.devices.decisions import GateDecision, GateQuery, decide_gate
from linli.devices.models import Protocol
from linli.events import types
from linli.events.pipeline import Stored

PROTOCOL = Protocol.ALARM_INFO_PLATE
COLOURS = {0: "unknown", 1: "blue", 2: "yellow", 3: "white", 4: "black", 5: "green", 6: "yellow_green"}
# What cameras send for a vehicle they saw but whose plate they could not read (无牌车).
NO_PLATE = frozenset({"_无_", "无牌车", "无车牌", ""})
PLATE_SEPARATOR = "|"  # three-region plates: mainland | Hong Kong or Macau | …
# One plate: Chinese characters (province, 警, 学, 港, 澳, …), Latin letters and digits.
PLATE_TEXT = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]{2,16}$")
LICENSE_MAX_CHARS = 40  # three plates and their separators; keeps the message id within its column
PLATE_ID_MAX = 2**32 - 1  # the camera's counter is 32-bit, and recycled
# (picture field, field with its byte length), looked for in PlateResult, then in AlarmInfoPlate.
IMAGE_FIELDS = (("imageFile", "imageFileLen"), ("imageFragmentFile", "imageFragmentFileLen"))
SERIAL_CHANNEL = 0  # the RS-485 port the LED/voice board hangs on in the common lane wiring
LED_ENCODING = "gbk"  # lane LED/voice boards take GB2312 text; GBK is its superset


def _plate_id(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= PLATE_ID_MAX:
        raise AdapterError(f"{where}: required integer 0–{PLATE_ID_MAX}")
    return value


def _license(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise AdapterError(f"{where}: required string")
    value = value.strip()
    if len(value) > LICENSE_MAX_CHARS:
        raise AdapterError(f"{where}: longer than {LICENSE_MAX_CHARS} characters")
    if value not in NO_PLATE and not all(PLATE_TEXT.match(p.strip()) for p in value.split(PLATE_SEPARATOR)):
        # GBK sent without its charset can pass for UTF-8 (鲁 is C2 B3, UTF-8 for "³"): refuse, never store it.
        raise AdapterError(f"{where}: not plate text {value[:20]!r} (a GBK body needs charset=gbk)")
    return value


def _seconds(value: Any, where: str) -> int:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise AdapterError(f"{where}: expected a number")
    from_epoch(value, field_name=where)  # refuses what is no time at all
    return int(value)


def _microseconds(value: Any, where: str) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1_000_000 else 0


def _number(value: Any, where: str) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _colour(value: Any, where: str) -> str:
    return COLOURS.get(value, "unknown") if not isinstance(value, bool) else "unknown"


def _flag(value: Any, where: str) -> bool:
    return value in (1, True, "1")


@dataclass(frozen=True)
class PlateField:
    """One field of `PlateResult`: its path, the name Linli gives it, how it is read (raising what is wrong)."""

    path: str
    name: str
    read: Callable[[Any, str], Any]


PLATE_FIELDS = (
    PlateField("plateid", "plate_id", _plate_id),
    PlateField("license", "license", _license),
    PlateField("timeStamp.Timeval.sec", "sec", _seconds),
    PlateField("timeStamp.Timeval.usec", "usec", _microseconds),
    PlateField("colorType", "colour", _colour),
    PlateField("confidence", "confidence", _number),
    PlateField("direction", "direction", _number),
    PlateField("isoffline", "offline", _flag),
)


def _at_path(obj: dict, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _plate_result(body: Any) -> tuple[dict, dict]:
    alarm = body.get("AlarmInfoPlate") if isinstance(body, dict) else None
    plate = _at_path(alarm, "result.PlateResult") if isinstance(alarm, dict) else None
    if not isinstance(plate, dict):
        raise AdapterError("AlarmInfoPlate.result.PlateResult: missing")
    return alarm, plate


def parse(request: PushRequest) -> Parsed:
    body = read_json(request.body, charset=charset_of(request.headers.get("Content-Type", "")))
    alarm, plate = _plate_result(body)
    read = {f.name: f.read(_at_path(plate, f.path), f"PlateResult.{f.path}") for f in PLATE_FIELDS}
    at = from_epoch(read["sec"] + read["usec"] / 1_000_000, field_name="PlateResult.timeStamp.Timeval.sec")
    plates = [] if read["license"] in NO_PLATE else [p.strip() for p in read["license"].split(PLATE_SEPARATOR)
                                                     if p.strip()]
    payload = {"plate": plates[0] if plates else None, "colour": read["colour"], "confidence": read["confidence"],
               "direction": read["direction"], "plate_id": read["plate_id"], "offline": read["offline"]}
    if len(plates) > 1:
        payload["plates"] = plates
    evidence, files = [], []
    for field, length_field in IMAGE_FIELDS:
        encoded = plate.get(field) or alarm.get(field)
        if isinstance(encoded, str) and encoded:
            length = _number(plate.get(length_field, alarm.get(length_field)), length_field)
            entry, file = base64_picture_evidence(encoded, at=at, field=field, declared_length=length or None)
            evidence.append(entry)
            if file is not None:
                files.append(file)
    # Cameras recycle plateid (a counter reset by a reboot, or wrapped): the read's time and plate
    # make it one read; a resend repeats all three.
    message_id = f"plate:{read['plate_id']}:{read['sec']}.{read['usec']:06d}:{read['license']}"
    message = incoming(request.device, types.PLATE_READ, message_id, at, payload, evidence)
    query = GateQuery(device_id=request.device.id, device_code=request.device.code,
                      compound_id=request.device.compound_id, plate=payload["plate"] or "", colour=read["colour"],
                      direction=read["direction"], at=at, offline=read["offline"])
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
