"""Rule templates for the seed scenarios (联动模板). Installing one writes an ordinary rule for a
compound; its definition can then be edited like any other.

Each template takes a few named parameters with defaults (the fire-lane sensors, the
minutes to wait) and builds a definition that the schema validates on save. The texts in a
definition are data (what a loudspeaker says, what residents read) and stay in Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from linli.events import types


@dataclass(frozen=True)
class Param:
    default: Any
    label: Any


@dataclass(frozen=True)
class Template:
    key: str
    name: Any  # lazily translated
    description: Any
    mode: str
    build: Callable[[dict[str, Any]], dict[str, Any]]
    params: dict[str, Param] = field(default_factory=dict)

    def definition(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        values = {k: p.default for k, p in self.params.items()}
        unknown = set(overrides or {}) - set(values)
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        values.update(overrides or {})
        return self.build(values)


def _fire_lane(p: dict[str, Any]) -> dict[str, Any]:
    conditions = [{"field": "payload.occupied", "op": "eq", "value": True}]
    if p["devices"]:
        conditions.append({"field": "device.code", "op": "in", "value": list(p["devices"])})
    return {
        "trigger": {"event_type": types.SPACE_OCCUPANCY, "device_kind": "parking_sensor"},
        "conditions": conditions,
        "hold_s": int(p["minutes"] * 60),
        "actions": [
            {"do": "command", "name": "play_message", "target": {"kind": "loudspeaker", "near": "nearest"},
             "params": {"text": str(p["message"]), "repeat": 3}},
            {"do": "raise_alarm", "type": "fire_lane", "severity": "major", "title": "消防通道被占用"},
            {"do": "notify", "roles": ["guard"], "title": "消防通道被占用",
             "body": "请到现场劝离车辆", "severity": "major"},
        ],
    }


def _fire(event_type: str, kind: str, alarm_type: str, title: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        return {
            "trigger": {"event_type": event_type, "device_kind": kind},
            "conditions": [{"field": "payload.state", "op": "eq", "value": "alarm"}],
            "actions": [
                {"do": "raise_alarm", "type": alarm_type, "severity": "critical", "title": title},
                {"do": "notify", "residents": "building", "title": title, "body": str(p["advice"]),
                 "severity": "critical"},
                {"do": "notify", "roles": ["property_manager", "guard", "technician", "community_officer"],
                 "title": title, "body": "请立即到场核实处置", "severity": "critical"},
            ],
        }

    return build


def _ebike(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "trigger": {"event_type": types.ELEVATOR_EBIKE, "device_kind": "elevator_ai_camera"},
        "conditions": [{"field": "payload.confidence", "op": "gte", "value": float(p["confidence"])}],
        "actions": [
            {"do": "command", "name": "hold_door", "target": {"kind": "elevator_controller", "near": "same_unit"},
             "params": {"seconds": int(p["hold_seconds"])}},
            {"do": "command", "name": "play_message", "target": {"kind": "elevator_controller", "near": "same_unit"},
             "params": {"text": str(p["message"])}},
            {"do": "raise_alarm", "type": "ebike_in_elevator", "severity": "major",
             "title": "电动车进入电梯"},
        ],
    }


def _entrapment(p: dict[str, Any]) -> dict[str, Any]:
    title = "电梯困人"
    return {
        "trigger": {"event_type": types.ELEVATOR_ENTRAPMENT, "device_kind": "elevator_controller"},
        "conditions": [{"field": "payload.state", "op": "eq", "value": "active"}],
        "actions": [
            {"do": "raise_alarm", "type": "entrapment", "severity": "critical", "title": title,
             "deadline_minutes": int(p["arrive_minutes"])},
            {"do": "notify", "roles": ["property_manager", "technician", "guard"], "title": title,
             "body": f"请维保人员{int(p['arrive_minutes'])}分钟内到场救援",
             "severity": "critical"},
        ],
    }


def _fence(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "trigger": {"event_type": types.INTRUSION},
        "conditions": [{"field": "payload.rule", "op": "eq", "value": "fence_climb"},
                       {"field": "payload.state", "op": "eq", "value": "active"}],
        "actions": [
            {"do": "raise_alarm", "type": "fence_climb", "severity": "major", "title": "翻越围墙",
             "snapshot_from_nearest_camera": True},
            {"do": "notify", "roles": ["guard"], "title": "翻越围墙", "body": "请查看抓拍并到场",
             "severity": "major"},
        ],
    }


def _offline(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "trigger": {"event_type": types.CONNECTIVITY},
        "conditions": [{"field": "payload.online", "op": "eq", "value": False}],
        "hold_s": int(p["minutes"] * 60),
        "actions": [{"do": "work_order", "category": "device_repair", "title": "设备离线超过1小时，请检修",
                     "deadline_minutes": int(p["repair_minutes"])}],
    }


def _fight(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "trigger": {"event_type": types.ELEVATOR_FIGHT, "device_kind": "elevator_ai_camera"},
        "conditions": [{"field": "payload.confidence", "op": "gte", "value": float(p["confidence"])}],
        "count": {"times": int(p["times"]), "within_s": int(p["within_s"])},
        "actions": [
            {"do": "raise_alarm", "type": "elevator_fight", "severity": "major", "title": "电梯内打斗"},
            {"do": "notify", "roles": ["guard"], "title": "电梯内打斗", "body": "请立即查看",
             "severity": "major"},
        ],
    }


TEMPLATES: list[Template] = [
    Template("fire_lane", _("消防通道占用"), _("消防通道占用超过设定分钟数：广播喊话、告警、通知保安"),
             "single", _fire_lane,
             {"minutes": Param(5, _("占用分钟数")), "devices": Param([], _("消防通道车位检测器编码")),
              "message": Param("消防通道禁止停车，请立即驶离", _("广播内容"))}),
    Template("smoke", _("烟感报警"), _("烟感报警：紧急告警，通知本楼全体居民、物业和社区"), "parallel",
             _fire(types.SMOKE_ALARM, "smoke_detector", "smoke", "烟感报警"),
             {"advice": Param("您所在楼栋烟感报警，请注意安全，必要时从安全通道撤离", _("居民通知内容"))}),
    Template("gas", _("燃气泄漏"), _("可燃气体报警：紧急告警，通知本楼全体居民、物业和社区"), "parallel",
             _fire(types.GAS_ALARM, "gas_detector", "gas", "可燃气体报警"),
             {"advice": Param("您所在楼栋检测到可燃气体，请勿开关电器、勿用明火，开窗通风", _("居民通知内容"))}),
    Template("ebike", _("电动车入梯"), _("电动车进入电梯：保持开门、语音劝离、告警"), "restart", _ebike,
             {"confidence": Param(0.8, _("识别置信度下限")), "hold_seconds": Param(60, _("保持开门秒数")),
              "message": Param("电动车禁止进入电梯，请推出轿厢", _("语音内容"))}),
    Template("entrapment", _("电梯困人"), _("电梯困人：紧急告警，通知物业和维保，限时到场"), "parallel",
             _entrapment, {"arrive_minutes": Param(30, _("到场时限（分钟）"))}),
    Template("fence_climb", _("翻越围墙"), _("周界翻越：告警并附最近摄像机抓拍，通知保安"), "parallel", _fence),
    Template("device_offline", _("设备离线"), _("设备离线超过设定分钟数：生成维修工单"), "single", _offline,
             {"minutes": Param(60, _("离线分钟数")), "repair_minutes": Param(24 * 60, _("维修时限（分钟）"))}),
    Template("elevator_fight", _("电梯打斗"), _("一段时间内多次识别到打斗：告警并通知保安"), "single", _fight,
             {"confidence": Param(0.7, _("识别置信度下限")), "times": Param(2, _("次数")),
              "within_s": Param(60, _("时间窗（秒）"))}),
]

BY_KEY = {t.key: t for t in TEMPLATES}
