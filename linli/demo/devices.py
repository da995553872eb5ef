"""The demo's sensing front end (感知前端): every kind of device in the catalogue, placed in the
showcase compound where it would really hang, with credentials the simulator keeps, and the
seed automation rules installed, so `linli run --demo` shows live devices, alarms and links.

Retrofitted lifts (加装电梯) carry the elevator controller and AI camera; the two fire-lane
parking sensors are the ones the fire-lane rule watches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from linli.devices import services as devices
from linli.devices.models import Device, DeviceType
from linli.places.models import Building, Compound


@dataclass(frozen=True)
class Placement:
    type_code: str
    name: str
    building: int | None = None  # building number in the compound (None: grounds, gates, walls)
    unit: int | None = None
    floor: int | None = None
    at: tuple[float, float] | None = None  # metres in the compound frame, for grounds devices


GATES = (-20.0, 10.0), (60.0, -20.0)  # east and north gates, outside the blocks' rows
FIRE_LANE = "消防通道"


def showcase_placements(lift_buildings: list[int]) -> list[Placement]:
    east, north = GATES
    places = [
        Placement("lpr-alarminfoplate", "东门入口车牌相机", at=east),
        Placement("lpr-alarminfoplate", "东门出口车牌相机", at=(east[0], east[1] + 6)),
        Placement("lpr-hik-isapi", "北门车牌相机", at=north),
        Placement("barrier-linli", "东门道闸", at=(east[0] + 2, east[1] + 3)),
        Placement("barrier-linli", "北门道闸", at=(north[0] + 3, north[1] + 2)),
        Placement("led-display-linli", "东门LED屏", at=(east[0] + 1, east[1] - 2)),
        Placement("ip-camera", "东门监控", at=(east[0] + 1, east[1] + 8)),
        Placement("ip-camera", "北门监控", at=(north[0] + 5, north[1])),
        Placement("ip-camera", "西侧围墙监控", at=(150.0, 40.0)),
        Placement("ip-camera", "中心广场监控", at=(70.0, 60.0)),
        Placement("perimeter-linli", "西侧围墙周界探测器", at=(152.0, 30.0)),
        Placement("perimeter-linli", "南侧围墙周界探测器", at=(70.0, 140.0)),
        Placement("perimeter-linli", "北侧围墙周界探测器", at=(100.0, -22.0)),
        Placement("parking-sensor-nbiot", f"{FIRE_LANE}地磁1", at=(30.0, 50.0)),
        Placement("parking-sensor-nbiot", f"{FIRE_LANE}地磁2", at=(30.0, 56.0)),
        *(Placement("parking-sensor-nbiot", f"地面车位P{k:02d}地磁", at=(-5.0, 20.0 + 3 * k)) for k in range(1, 5)),
        *(Placement("ground-lock-mqtt", f"车位地锁A{k:02d}", at=(-5.0, 40.0 + 3 * k)) for k in range(1, 5)),
        Placement("loudspeaker-linli", f"{FIRE_LANE}广播", at=(32.0, 53.0)),
        Placement("loudspeaker-linli", "中心广场广播", at=(70.0, 62.0)),
        Placement("door-contact-linli", "配电室门磁", building=1, floor=1),
        Placement("door-contact-linli", "水泵房门磁", building=2, floor=1),
        Placement("door-contact-linli", "消防控制室门磁", building=3, floor=1),
        *(Placement("door-hik-isapi", f"{b}号楼{u}单元门禁", building=b, unit=u, floor=1)
          for b, u in ((1, 1), (1, 2), (2, 1), (3, 1))),
        *(Placement("smoke-nbiot", f"{b}号楼{u}单元{f}楼烟感", building=b, unit=u, floor=f)
          for b, u, f in ((1, 1, 2), (1, 1, 5), (1, 2, 3), (2, 1, 1), (2, 1, 4), (3, 2, 6), (4, 1, 2), (5, 1, 3))),
        *(Placement("gas-nbiot", f"{b}号楼{u}单元{f}楼燃气探测器", building=b, unit=u, floor=f)
          for b, u, f in ((1, 1, 2), (2, 1, 4), (4, 1, 2))),
        *(Placement("water-meter-nbiot", f"{b}号楼{u}单元{f}楼水表", building=b, unit=u, floor=f)
          for b, u, f in ((1, 1, 1), (1, 2, 3), (2, 1, 2), (3, 1, 5))),
    ]
    for b in lift_buildings:
        places += [Placement("elevator-controller", f"{b}号楼加装电梯控制器", building=b, unit=1, floor=1),
                   Placement("elevator-ai-camera", f"{b}号楼加装电梯AI摄像机", building=b, unit=1, floor=1)]
    return places


def register_demo_devices(*, actor: Any, compound: Compound, out: TextIO | None = None) -> list[Device]:
    """Register and activate the showcase's devices, give the simulator their secrets, and install
    the seed rules. Called inside the demo's transaction."""
    from linli.simulate.fleet import provision

    buildings = {b.number: b for b in Building.objects.filter(compound=compound).prefetch_related("units")}
    lifts = sorted(int(n) for n, b in buildings.items() if b.has_elevator and n.isdigit())[:2] or [1, 2]
    types = {t.code: t for t in DeviceType.objects.all()}
    made = []
    for serial, p in enumerate(showcase_placements(lifts), start=1):
        kind = types[p.type_code]
        building = buildings.get(str(p.building)) if p.building else None
        unit = next((u for u in building.units.all() if u.number == str(p.unit)), None) if building and p.unit else None
        floor = min(p.floor, building.floors_above) if building and p.floor else None
        x, y = p.at or _centre(building)
        made.append(devices.register_device(
            actor=actor, compound=compound, device_type=kind, name=p.name, building=building, unit=unit, floor=floor,
            # NB-IoT devices are found by their IMEI; the others carry a vendor-style serial.
            serial=f"8696{compound.pk:03d}{serial:08d}" if kind.protocol == "nbiot_webhook" else f"LN{serial:06d}",
            x_m=x, y_m=y))
    provision(made, actor=actor)
    rules = _install_rules(actor, compound, [d.code for d in made if d.name.startswith(FIRE_LANE)
                                             and d.device_type.kind == "parking_sensor"])
    if out is not None:
        out.write(f"  {compound.name}: {len(made)} devices of {len({d.device_type.kind for d in made})} kinds, "
                  f"{rules} automation rules\n")
    return made


def _centre(building: Building | None) -> tuple[float | None, float | None]:
    points = building.footprint if building is not None else None
    if not points:
        return None, None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return round(sum(xs) / len(xs), 1), round(sum(ys) / len(ys), 1)


def _install_rules(actor: Any, compound: Compound, fire_lane: list[str]) -> int:
    from linli.automations.services import install_template
    from linli.automations.templates import TEMPLATES

    for template in TEMPLATES:
        # Two minutes rather than five, so a newcomer sees the fire-lane warning play out.
        overrides = {"devices": fire_lane, "minutes": 2} if template.key == "fire_lane" else None
        install_template(actor=actor, compound=compound, key=template.key, overrides=overrides)
    return len(TEMPLATES)
