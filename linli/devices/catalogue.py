"""The device types Linli ships with: one per kind of front-end device in the seed deployments.

Heartbeats follow the field facts: NB-IoT detectors report every few hours, parking sensors
about every 10 minutes, IP devices every minute (GB/T 28181 keepalive).
"""

from __future__ import annotations

from linli.devices.models import DeviceKind as K
from linli.devices.models import Protocol as P

CATALOGUE = [
    # code, kind, name, vendor, protocol, capabilities, heartbeat seconds, life safety
    ("lpr-alarminfoplate", K.LPR_CAMERA, "车牌识别相机（AlarmInfoPlate）", "臻识及兼容机型", P.ALARM_INFO_PLATE,
     ["plate_read", "gate_open", "serial_data"], 60, False),
    ("lpr-hik-isapi", K.LPR_CAMERA, "车牌识别相机（海康ISAPI）", "海康威视", P.HIK_ISAPI, ["plate_read"], 60, False),
    ("barrier-linli", K.BARRIER_GATE, "道闸", "", P.LINLI_MQTT, ["gate_open", "gate_close"], 60, False),
    ("parking-sensor-nbiot", K.PARKING_SENSOR, "地磁车位检测器（NB-IoT）", "", P.NBIOT_WEBHOOK,
     ["occupancy", "battery"], 600, False),
    ("ground-lock-mqtt", K.GROUND_LOCK, "智能地锁", "", P.LINLI_MQTT, ["lock", "unlock", "occupancy", "battery"],
     300, False),
    ("door-hik-isapi", K.DOOR_CONTROLLER, "门禁控制器/人脸终端（海康ISAPI）", "海康威视", P.HIK_ISAPI,
     ["door_open", "access_event"], 60, False),
    ("smoke-nbiot", K.SMOKE_DETECTOR, "独立式烟感（NB-IoT）", "", P.NBIOT_WEBHOOK, ["smoke", "battery", "tamper"],
     4 * 3600, True),
    ("gas-nbiot", K.GAS_DETECTOR, "可燃气体探测器（NB-IoT）", "", P.NBIOT_WEBHOOK, ["gas", "fault"], 4 * 3600, True),
    ("water-meter-nbiot", K.WATER_METER, "智能水表（NB-IoT）", "", P.NBIOT_WEBHOOK, ["reading", "leak"],
     24 * 3600, False),
    ("door-contact-linli", K.DOOR_CONTACT, "门磁", "", P.LINLI_MQTT, ["open_close", "battery"], 3600, False),
    ("elevator-controller", K.ELEVATOR_CONTROLLER, "电梯控制器", "", P.LINLI_MQTT,
     ["hold_door", "play_message", "entrapment", "fault"], 60, True),
    ("elevator-ai-camera", K.ELEVATOR_AI_CAMERA, "电梯AI摄像机", "", P.LINLI_JSON,
     ["ebike_detected", "fight_detected", "snapshot"], 60, False),
    ("ip-camera", K.IP_CAMERA, "网络摄像机", "", P.HIK_ISAPI, ["snapshot", "line_crossing", "intrusion"], 60,
     False),
    ("perimeter-linli", K.PERIMETER_SENSOR, "周界探测器", "", P.LINLI_JSON, ["intrusion", "tamper"], 300, False),
    ("loudspeaker-linli", K.LOUDSPEAKER, "广播音箱", "", P.LINLI_MQTT, ["play_message"], 60, False),
    ("led-display-linli", K.LED_DISPLAY, "LED显示屏", "", P.LINLI_MQTT, ["show_text"], 60, False),
]


def install(device_type_model) -> None:
    for code, kind, name, vendor, protocol, caps, heartbeat, life_safety in CATALOGUE:
        device_type_model.objects.update_or_create(
            code=code,
            defaults={"kind": kind, "name": name, "vendor": vendor, "protocol": protocol, "capabilities": caps,
                      "heartbeat_s": heartbeat, "life_safety": life_safety},
        )
