"""Event types: named constants with the payload each carries.

Adapters turn vendor messages into these; handlers, automations and alarms read only these.
"""

from __future__ import annotations

from linli.events.models import Lane

HEARTBEAT = "device.heartbeat"  # {} — liveness only
STATUS = "device.status"  # {"online": bool, "battery_low"?: bool, "tamper"?: bool, "fault"?: bool}
TELEMETRY = "device.telemetry"  # {name: value, …} e.g. {"battery_v": 3.6, "rssi_dbm": -91}
PLATE_READ = "parking.plate_read"  # {"plate", "colour", "confidence", "direction", "plate_id", "offline": bool}
SPACE_OCCUPANCY = "parking.space_occupancy"  # {"occupied": bool}
DOOR_ACCESS = "access.door_event"  # {"method": face|card|qr|fingerprint|phone, "granted": bool, "credential_ref"}
SMOKE_ALARM = "safety.smoke_alarm"  # {"state": "alarm"|"clear", "concentration"?: number}
GAS_ALARM = "safety.gas_alarm"  # {"state": "alarm"|"clear", "lel_percent"?: number}
INTRUSION = "safety.intrusion"  # {"rule": line_crossing|field|fence_climb, "state": "active"|"inactive"}
WATER_READING = "utility.water_reading"  # {"m3": number, "leak"?: bool}
ELEVATOR_ENTRAPMENT = "elevator.entrapment"  # {"state": "active"|"cleared", "floor"?: int}
ELEVATOR_EBIKE = "elevator.ebike_detected"  # {"confidence": number}
ELEVATOR_FIGHT = "elevator.fight_detected"  # {"confidence": number}
COMMAND_ACK = "device.command_ack"  # {"command_id", "ok": bool, "detail"?: str}
# Written by Linli's health watch when a device goes silent or is heard again; never sent by a device.
CONNECTIVITY = "device.connectivity"  # {"online": bool}

ALL = frozenset({HEARTBEAT, STATUS, TELEMETRY, PLATE_READ, SPACE_OCCUPANCY, DOOR_ACCESS, SMOKE_ALARM, GAS_ALARM,
                 INTRUSION, WATER_READING, ELEVATOR_ENTRAPMENT, ELEVATOR_EBIKE, ELEVATOR_FIGHT, COMMAND_ACK,
                 CONNECTIVITY})
# What a device may send in its own name (Linli's own observations are not forgeable).
FROM_DEVICES = ALL - {CONNECTIVITY}

# Life-safety events go through their own lane so bulk telemetry cannot delay them.
LIFE_SAFETY = frozenset({SMOKE_ALARM, GAS_ALARM, ELEVATOR_ENTRAPMENT})


def lane_of(event_type: str) -> str:
    if event_type in LIFE_SAFETY:
        return Lane.LIFE_SAFETY
    if event_type in (TELEMETRY, HEARTBEAT, WATER_READING):
        return Lane.TELEMETRY
    return Lane.NORMAL
