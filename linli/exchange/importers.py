"""What each kind of import sheet holds and how its rows become records.

`check` reads every row, looks everything up in bulk and records every reason a row is
bad; `write` inserts the prepared records (only called when no row is bad, inside the
import's single transaction). The domain rules come from places and people.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.services import bulk_create_audited, compounds_where
from linli.devices.codes import code_problem
from linli.devices.models import Device, DeviceType
from linli.exchange.formats import Column, SheetRow, cell_text, is_blank, today
from linli.exchange.places_lookup import (
    BUILDING,
    COMPOUND,
    HOUSE,
    UNIT,
    CompoundLookup,
    PlaceIndex,
    house_numbers,
    place_number,
)
from linli.people.identity import IdType, validate_id_number, validate_mobile
from linli.people.models import CareTag, Person, PopulationType, Residency, ResidencyRole, Vehicle
from linli.people.plates import PlateColour, validate_plate
from linli.people.services import build_person, clean_colour
from linli.places import addresses
from linli.places.models import Building, Compound, House, HouseUse, Occupancy, Unit

_COMPOUND_COLUMN = Column(COMPOUND, True, gettext_lazy("小区的15位编码，见小区详情页"), example="370281001001001")


class Importer:
    """One kind of import sheet."""

    kind: ClassVar[str]
    title: ClassVar[Any]
    permission: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    notes: ClassVar[tuple[Any, ...]] = ()

    def __init__(self, actor: Any):
        self.actor = actor
        self.planned: dict[str, int] = {}

    def check(self, rows: list[SheetRow]) -> None:
        raise NotImplementedError

    def write(self) -> dict[str, int]:
        raise NotImplementedError

    @staticmethod
    def duplicate(row: SheetRow, column: str, key: Any, seen: dict[Any, int], existing: set | dict,
                  exists_message: str) -> bool:
        """True (and the reason on the row) when `key` repeats an earlier row or a saved record."""
        if key in seen:
            row.fail(column, _("与第%(row)s行重复") % {"row": seen[key]})
            return True
        seen[key] = row.number
        if key in existing:
            row.fail(column, exists_message)
            return True
        return False

    @staticmethod
    def clean_fields(row: SheetRow, instance: models.Model, columns: dict[str, str], exclude: list[str]) -> None:
        """The model's own field rules (lengths, choices); foreign keys were looked up already."""
        try:
            instance.clean_fields(exclude=exclude)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    row.fail(columns.get(name, ""), message)


# Buildings -----------------------------------------------------------------------------------


class BuildingImport(Importer):
    kind = "buildings"
    title = gettext_lazy("楼栋")
    permission = "places.add_building"
    columns = (
        _COMPOUND_COLUMN,
        Column(BUILDING, True, gettext_lazy("楼栋编号，如 3 或 3A（“号楼”可省略）"), example="3"),
        Column("地上层数", True, gettext_lazy("1–200 的整数"), example="6", text=False),
        Column("地下层数", False, gettext_lazy("0–20 的整数，不填为 0"), example="1", text=False),
        Column("单元数", False, gettext_lazy("1–50 的整数，不填为 1；单元按 1、2、3…编号并一同建立"), example="2",
               text=False),
        Column("高度", False, gettext_lazy("单位：米，最多两位小数"), example="18.5", text=False),
        Column("是否有电梯", False, gettext_lazy("是 / 否，不填为否"), example="否"),
    )
    _fields: ClassVar[dict[str, str]] = {"number": BUILDING, "floors_above": "地上层数",
                                         "floors_below": "地下层数", "unit_count": "单元数", "height_m": "高度"}

    def check(self, rows: list[SheetRow]) -> None:
        parsed = []
        for row in rows:
            parsed.append((row, {
                "code": row.text(COMPOUND, required=True),
                "number": place_number(row, BUILDING, required=True),
                "floors_above": row.integer("地上层数", required=True, minimum=1, maximum=200),
                "floors_below": row.integer("地下层数", default=0, minimum=0, maximum=20),
                "unit_count": row.integer("单元数", default=1, minimum=1, maximum=50),
                "height_m": row.decimal("高度", maximum=Decimal("9999.99")),
                "has_elevator": row.boolean("是否有电梯"),
            }))
        compounds = CompoundLookup(self.actor, self.permission, (v["code"] for _row, v in parsed))
        existing = set(Building.objects.filter(compound_id__in=compounds.ids).values_list("compound_id", "number"))
        seen: dict[tuple[int, str], int] = {}
        self.buildings: list[Building] = []
        for row, v in parsed:
            compound = compounds.resolve(row, v["code"])
            if compound is None or not v["number"]:
                continue
            self.duplicate(row, BUILDING, (compound.pk, v["number"]), seen, existing, _("该楼号已存在"))
            if not row.ok:
                continue
            building = Building(
                compound=compound, number=v["number"], floors_above=v["floors_above"],
                floors_below=v["floors_below"], unit_count=v["unit_count"], height_m=v["height_m"],
                has_elevator=v["has_elevator"], address_code=addresses.building_code(compound, v["number"]),
                standard_address=addresses.building_address(compound, v["number"]),
            )
            self.clean_fields(row, building, self._fields, exclude=["compound"])
            if row.ok:
                self.buildings.append(building)
        self.planned = {"buildings": len(self.buildings),
                        "units": sum(b.unit_count for b in self.buildings)}

    def write(self) -> dict[str, int]:
        buildings = bulk_create_audited(Building, self.buildings)
        units = [
            Unit(compound_id=b.compound_id, building=b, number=str(n),
                 address_code=addresses.unit_code(b, str(n)), standard_address=addresses.unit_address(b, str(n)))
            for b in buildings for n in range(1, b.unit_count + 1)
        ]
        bulk_create_audited(Unit, units)
        return {"buildings": len(buildings), "units": len(units)}


# Houses --------------------------------------------------------------------------------------


class HouseImport(Importer):
    kind = "houses"
    title = gettext_lazy("房屋")
    permission = "places.add_house"
    columns = (
        _COMPOUND_COLUMN,
        Column(BUILDING, True, gettext_lazy("已登记的楼号"), example="3"),
        Column(UNIT, True, gettext_lazy("已登记的单元号"), example="2"),
        Column(HOUSE, True, gettext_lazy("房号，如 501（“室”可省略）"), example="501"),
        Column("楼层", True, gettext_lazy("所在楼层；地下层填负数，不能为 0，不能超出楼栋层数"), example="5",
               text=False),
        Column("建筑面积", True, gettext_lazy("单位：平方米，最多两位小数"), example="86.5", text=False),
        Column("套内面积", False, gettext_lazy("单位：平方米，不能大于建筑面积"), example="72.3", text=False),
        Column("用途", False, gettext_lazy("不填为住宅"), choices=HouseUse, example="住宅"),
        Column("居住状态", False, gettext_lazy("不填为自住"), choices=Occupancy, example="自住"),
    )
    _fields: ClassVar[dict[str, str]] = {"number": HOUSE, "floor": "楼层", "built_area": "建筑面积",
                                         "inner_area": "套内面积", "use": "用途", "occupancy": "居住状态"}

    def check(self, rows: list[SheetRow]) -> None:
        parsed = []
        for row in rows:
            parsed.append((row, {
                "code": row.text(COMPOUND, required=True),
                "numbers": house_numbers(row, required=True),
                "floor": row.integer("楼层", required=True, minimum=-20, maximum=200),
                "built_area": row.decimal("建筑面积", required=True, maximum=Decimal("999999.99")),
                "inner_area": row.decimal("套内面积", maximum=Decimal("999999.99")),
                "use": row.choice("用途", HouseUse, default=HouseUse.RESIDENTIAL),
                "occupancy": row.choice("居住状态", Occupancy, default=Occupancy.OWNER_OCCUPIED),
            }))
        compounds = CompoundLookup(self.actor, self.permission, (v["code"] for _row, v in parsed))
        places = PlaceIndex(compounds.ids, houses=True)
        seen: dict[tuple[int, str], int] = {}
        self.houses: list[House] = []
        for row, v in parsed:
            compound = compounds.resolve(row, v["code"])
            if compound is None or v["numbers"] is None:
                continue
            building = places.building(row, compound, v["numbers"][0])
            unit = places.unit(row, building, v["numbers"][1]) if building else None
            if unit is None:
                continue
            number = v["numbers"][2]
            self.duplicate(row, HOUSE, (unit.pk, number), seen, places.houses, _("该房屋已存在"))
            floor = v["floor"]
            if floor is not None and (floor == 0 or floor > building.floors_above or floor < -building.floors_below):
                row.fail("楼层", _("楼层超出该楼栋的范围（地上%(above)s层，地下%(below)s层）")
                         % {"above": building.floors_above, "below": building.floors_below})
            if v["inner_area"] is not None and v["built_area"] is not None and v["inner_area"] > v["built_area"]:
                row.fail("套内面积", _("套内面积不能大于建筑面积"))
            if not row.ok:
                continue
            house = House(
                compound=compound, building=building, unit=unit, number=number, floor=floor,
                built_area=v["built_area"], inner_area=v["inner_area"], use=v["use"], occupancy=v["occupancy"],
                address_code=addresses.house_code(unit, number), standard_address=addresses.house_address(unit, number),
            )
            self.clean_fields(row, house, self._fields, exclude=["compound", "building", "unit"])
            if row.ok:
                self.houses.append(house)
        self.planned = {"houses": len(self.houses)}

    def write(self) -> dict[str, int]:
        return {"houses": len(bulk_create_audited(House, self.houses))}


# Persons with their residencies ---------------------------------------------------------------

ID_TYPE, ID_NUMBER, PHONE, ROLE, SINCE = "证件类型", "证件号码", "手机号", "居住关系", "入住日期"


class PersonImport(Importer):
    kind = "persons"
    title = gettext_lazy("人员")
    permission = "people.add_person"
    columns = (
        _COMPOUND_COLUMN,
        Column("姓名", True, gettext_lazy("最多60个字"), example="张三"),
        Column(ID_TYPE, False, gettext_lazy("不填为居民身份证"), choices=IdType, example="居民身份证"),
        Column(ID_NUMBER, True, gettext_lazy("身份证号18位（校验位须正确）；请以文本格式填写"),
               example="11010519491231002X"),
        Column(PHONE, False, gettext_lazy("11位手机号"), example="13800138000"),
        Column("人口类型", False, gettext_lazy("不填为户籍人口"), choices=PopulationType, example="户籍人口"),
        Column("关怀标签", False, gettext_lazy("可填多个，用顿号或逗号分隔"), choices=CareTag, many=True,
               example="独居老人、残疾人"),
        Column(BUILDING, False, gettext_lazy("登记居住时填写：楼号、单元号、房号须同时填写"), example="3"),
        Column(UNIT, False, gettext_lazy("登记居住时填写"), example="2"),
        Column(HOUSE, False, gettext_lazy("登记居住时填写，房屋须已登记"), example="501"),
        Column(ROLE, False, gettext_lazy("填写房屋时必填"), choices=ResidencyRole, example="业主"),
        Column(SINCE, False, gettext_lazy("如 2020-05-01；填写房屋时不填为导入当天"), example="2020-05-01"),
    )
    notes = (gettext_lazy("证件号码和手机号在系统中加密保存，导出时只显示脱敏后的值。"),
             gettext_lazy("已登记的证件号码不能重复导入。"))
    _fields: ClassVar[dict[str, str]] = {"name": "姓名", "id_number": ID_NUMBER, "phone": PHONE,
                                         "care_tags": "关怀标签", "population_type": "人口类型",
                                         "id_type": ID_TYPE, "gender": ID_NUMBER, "birth_date": ID_NUMBER}

    def check(self, rows: list[SheetRow]) -> None:
        parsed = [(row, self._parse(row)) for row in rows]
        compounds = CompoundLookup(self.actor, self.permission, (v["code"] for _row, v in parsed))
        may_reside = set(Compound.objects.filter(compounds_where(self.actor, "people.add_residency"),
                                                 pk__in=compounds.ids).values_list("pk", flat=True))
        places = PlaceIndex(compounds.ids, houses=True)
        digests = {v["digest"] for _row, v in parsed if v["digest"]}
        existing = set(Person.objects.filter(id_digest__in=digests).values_list("id_type", "id_digest"))
        seen: dict[tuple[str, str], int] = {}
        self.persons: list[tuple[Person, dict[str, Any] | None]] = []
        for row, v in parsed:
            compound = compounds.resolve(row, v["code"])
            if v["digest"]:
                self.duplicate(row, ID_NUMBER, (v["id_type"], v["digest"]), seen, existing, _("该证件号码已登记"))
            if compound is None:
                continue
            residency = None
            if v["numbers"] is not None:
                if compound.pk not in may_reside:
                    row.fail(HOUSE, _("无权在该小区登记居住关系"))
                house_id = places.house_id(row, compound, v["numbers"])
                residency = {"house_id": house_id, "role": v["role"], "since": v["since"] or today()}
            if not row.ok:
                continue
            person = self._build(row, compound, v)
            if person is not None:
                self.persons.append((person, residency))
        self.planned = {"persons": len(self.persons),
                        "residencies": sum(1 for _p, r in self.persons if r is not None)}

    def _parse(self, row: SheetRow) -> dict[str, Any]:
        v: dict[str, Any] = {
            "code": row.text(COMPOUND, required=True),
            "name": row.text("姓名", required=True, max_length=60),
            "id_type": row.choice(ID_TYPE, IdType, default=IdType.MAINLAND_ID),
            "population_type": row.choice("人口类型", PopulationType, default=PopulationType.REGISTERED),
            "care_tags": row.choices("关怀标签", CareTag),
            "numbers": house_numbers(row),
            "role": row.choice(ROLE, ResidencyRole),
            "since": row.date(SINCE),
            "id_number": "", "phone": "", "digest": "",
        }
        raw_id = row.identity_text(ID_NUMBER, required=True)
        if raw_id and v["id_type"]:
            try:
                v["id_number"] = validate_id_number(v["id_type"], raw_id)
                v["digest"] = Person.id_digest_of(v["id_number"])
            except ValidationError as exc:
                row.fail(ID_NUMBER, " ".join(exc.messages))
        raw_phone = row.text(PHONE)
        if raw_phone:
            try:
                v["phone"] = validate_mobile(raw_phone)
            except ValidationError as exc:
                row.fail(PHONE, " ".join(exc.messages))
        if v["numbers"] is None and (v["role"] or v["since"]):
            row.fail(HOUSE, _("填写居住关系或入住日期时，须填写楼号、单元号、房号"))
        if v["numbers"] is not None and not v["role"] and not any(e.column == ROLE for e in row.errors):
            row.fail(ROLE, _("填写房屋时须填写居住关系"))
        if v["since"] is not None and v["since"] > today():
            row.fail(SINCE, _("入住日期不能晚于今天"))
        return v

    def _build(self, row: SheetRow, compound: Compound, v: dict[str, Any]) -> Person | None:
        if not (v["id_number"] and v["name"] and v["id_type"] and v["population_type"]):
            return None
        try:
            return build_person(compound=compound, name=v["name"], id_type=v["id_type"], id_number=v["id_number"],
                                phone=v["phone"], care_tags=v["care_tags"], population_type=v["population_type"])
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    row.fail(self._fields.get(name, "姓名"), message)
        return None

    def write(self) -> dict[str, int]:
        persons = bulk_create_audited(Person, [p for p, _r in self.persons])
        residencies = [
            Residency(compound_id=person.compound_id, person=person, house_id=r["house_id"], role=r["role"],
                      since=r["since"])
            for person, (_p, r) in zip(persons, self.persons, strict=True) if r is not None
        ]
        bulk_create_audited(Residency, residencies)
        return {"persons": len(persons), "residencies": len(residencies)}


# Vehicles ------------------------------------------------------------------------------------

PLATE, COLOUR, OWNER_ID = "车牌号", "车牌颜色", "车主证件号码"


class VehicleImport(Importer):
    kind = "vehicles"
    title = gettext_lazy("车辆")
    permission = "people.add_vehicle"
    columns = (
        _COMPOUND_COLUMN,
        Column(PLATE, True, gettext_lazy("符合 GA 36 的车牌号，如 鲁B12345、鲁BD12345（新能源）"), example="鲁B12345"),
        Column(COLOUR, False, gettext_lazy("不填时：8位新能源车牌为绿牌，其余为蓝牌；新能源车牌只能是绿牌或黄绿牌"),
               choices=PlateColour,
               example="蓝牌"),
        Column(OWNER_ID, False, gettext_lazy("车主须已登记在该小区；请以文本格式填写"), example="11010519491231002X"),
        Column(BUILDING, False, gettext_lazy("所属房屋：楼号、单元号、房号须同时填写"), example="3"),
        Column(UNIT, False, "", example="2"),
        Column(HOUSE, False, gettext_lazy("房屋须已登记"), example="501"),
    )

    def check(self, rows: list[SheetRow]) -> None:
        parsed = []
        for row in rows:
            v: dict[str, Any] = {"code": row.text(COMPOUND, required=True), "plate": "",
                                 "colour": row.choice(COLOUR, PlateColour), "numbers": house_numbers(row),
                                 "owner_digest": ""}
            raw_plate = row.text(PLATE, required=True)
            if raw_plate:
                try:
                    v["plate"] = validate_plate(raw_plate)
                except ValidationError as exc:
                    row.fail(PLATE, " ".join(exc.messages))
            owner = row.identity_text(OWNER_ID).upper().replace(" ", "")
            if owner:
                v["owner_digest"] = Person.id_digest_of(owner)
            parsed.append((row, v))
        compounds = CompoundLookup(self.actor, self.permission, (v["code"] for _row, v in parsed))
        places = PlaceIndex(compounds.ids, houses=True)
        existing = set(Vehicle.objects.filter(compound_id__in=compounds.ids).values_list("compound_id", "plate"))
        owners = self._owners(compounds.ids, {v["owner_digest"] for _row, v in parsed if v["owner_digest"]})
        seen: dict[tuple[int, str], int] = {}
        self.vehicles: list[Vehicle] = []
        for row, v in parsed:
            compound = compounds.resolve(row, v["code"])
            if compound is None:
                continue
            if v["plate"]:
                self.duplicate(row, PLATE, (compound.pk, v["plate"]), seen, existing, _("该车牌已在本小区登记"))
            owner_id = None
            if v["owner_digest"]:
                owner_id = owners.get((compound.pk, v["owner_digest"]))
                if owner_id is None:
                    row.fail(OWNER_ID, _("该小区没有登记此证件号码的人员"))
            house_id = places.house_id(row, compound, v["numbers"]) if v["numbers"] else None
            colour = self._colour(row, v)
            if not row.ok:
                continue
            self.vehicles.append(Vehicle(compound=compound, plate=v["plate"], colour=colour, owner_id=owner_id,
                                         house_id=house_id))
        self.planned = {"vehicles": len(self.vehicles)}

    @staticmethod
    def _colour(row: SheetRow, v: dict[str, Any]) -> str | None:
        if not v["plate"] or any(e.column == COLOUR for e in row.errors):
            return None
        try:
            return clean_colour(v["plate"], v["colour"])
        except ValidationError as exc:
            row.fail(COLOUR, " ".join(exc.messages))
            return None

    def _owners(self, compound_ids: list[int], digests: set[str]) -> dict[tuple[int, str], int]:
        if not digests:
            return {}
        rows = (Person.objects.restrict(self.actor, "view").filter(compound_id__in=compound_ids, id_digest__in=digests)
                .order_by("id").values_list("compound_id", "id_digest", "id"))
        owners: dict[tuple[int, str], int] = {}
        for compound_id, digest, pk in rows:
            owners.setdefault((compound_id, digest), pk)
        return owners

    def write(self) -> dict[str, int]:
        return {"vehicles": len(bulk_create_audited(Vehicle, self.vehicles))}


# Devices -------------------------------------------------------------------------------------

DEVICE_TYPE, SERIAL, DEVICE_NAME, DEVICE_CODE, FLOOR, X_M, Y_M = (
    "设备型号编码", "序列号", "设备名称", "设备编码", "楼层", "X坐标", "Y坐标")
_DEVICE_CODE_RE = re.compile(r"^[a-z0-9-]+$")


class DeviceImport(Importer):
    """Devices registered one by one through `devices.services.register_device` (its checks and
    audit), after the whole sheet was checked; any refusal rolls the whole import back."""

    kind = "devices"
    title = gettext_lazy("设备")
    permission = "devices.add_device"
    columns = (
        _COMPOUND_COLUMN,
        Column(BUILDING, False, gettext_lazy("安装在楼内时填写，楼栋须已登记"), example="3"),
        Column(UNIT, False, gettext_lazy("填写单元时须同时填写楼号"), example="2"),
        Column(FLOOR, False, gettext_lazy("地下层填负数，不能为 0，不能超出楼栋层数；填写楼层时须填写楼号"),
               example="5", text=False),
        Column(DEVICE_TYPE, True, gettext_lazy("设备型号的编码，如 smoke-nbiot、ground-lock-mqtt、barrier-linli"),
               example="smoke-nbiot"),
        Column(SERIAL, True, gettext_lazy("设备序列号（同一型号内不能重复），最多64个字符"), example="860000000000001"),
        Column(DEVICE_NAME, True, gettext_lazy("最多60个字"), example="3号楼2单元5层烟感"),
        Column(DEVICE_CODE, False, gettext_lazy("小写字母、数字和连字符；不填则由小区编码、型号编码和序列号生成"),
               example=""),
        Column(X_M, False, gettext_lazy("在小区平面图中的位置，单位：米"), example="35.5", text=False),
        Column(Y_M, False, gettext_lazy("在小区平面图中的位置，单位：米"), example="12", text=False),
    )
    notes = (gettext_lazy("导入的设备为“已登记”状态；接入凭据在设备详情页签发。"),)

    def check(self, rows: list[SheetRow]) -> None:
        parsed = [(row, self._parse(row)) for row in rows]
        compounds = CompoundLookup(self.actor, self.permission, (v["code"] for _row, v in parsed))
        places = PlaceIndex(compounds.ids)
        type_codes = {v["type"] for _row, v in parsed if v["type"]}
        device_types = {t.code: t for t in DeviceType.objects.restrict(self.actor).filter(code__in=type_codes)}
        serials = {v["serial"] for _row, v in parsed if v["serial"]}
        existing_serials = set(Device.objects.filter(serial__in=serials).values_list("device_type_id", "serial"))
        seen_serials: dict[tuple[int, str], int] = {}
        seen_codes: dict[str, int] = {}
        planned: list[tuple[SheetRow, dict[str, Any]]] = []
        for row, v in parsed:
            compound = compounds.resolve(row, v["code"])
            device_type = device_types.get(v["type"]) if v["type"] else None
            if v["type"] and device_type is None:
                row.fail(DEVICE_TYPE, _("没有编码为“%(code)s”的设备型号") % {"code": v["type"]})
            if device_type is not None and v["serial"]:
                self.duplicate(row, SERIAL, (device_type.pk, v["serial"]), seen_serials, existing_serials,
                               _("该型号下已登记此序列号"))
            if compound is None or device_type is None:
                continue
            building = places.building(row, compound, v["building"]) if v["building"] else None
            unit = places.unit(row, building, v["unit"]) if building is not None and v["unit"] else None
            floor = v["floor"]
            if building is not None and floor is not None and (
                floor == 0 or floor > building.floors_above or floor < -building.floors_below
            ):
                row.fail(FLOOR, _("楼层超出该楼栋的范围（地上%(above)s层，地下%(below)s层）")
                         % {"above": building.floors_above, "below": building.floors_below})
            device_code = v["device_code"] or slugify(f"{compound.code}-{device_type.code}-{v['serial']}")[:64]
            if row.ok and (problem := code_problem(device_code)):  # a reserved broker name, above all
                row.fail(DEVICE_CODE, problem)
            if row.ok:  # a repeated serial already repeats its generated code: one reason is enough
                self.duplicate(row, DEVICE_CODE, device_code, seen_codes, set(), "")
            if row.ok:
                planned.append((row, {"compound": compound, "device_type": device_type, "serial": v["serial"],
                                      "name": v["name"], "code": device_code, "building": building, "unit": unit,
                                      "floor": floor, "x_m": v["x_m"], "y_m": v["y_m"]}))
        taken = set(Device.objects.filter(code__in=[p["code"] for _row, p in planned]).values_list("code", flat=True))
        self.devices = []
        for row, fields in planned:
            if fields["code"] in taken:
                row.fail(DEVICE_CODE, _("设备编码“%(code)s”已被使用") % {"code": fields["code"]})
            else:
                self.devices.append((row.number, fields))
        self.planned = {"devices": len(self.devices)}

    def _parse(self, row: SheetRow) -> dict[str, Any]:
        v: dict[str, Any] = {
            "code": row.text(COMPOUND, required=True),
            "building": place_number(row, BUILDING),
            "unit": place_number(row, UNIT),
            "floor": row.integer(FLOOR, minimum=-10, maximum=200),
            "type": row.text(DEVICE_TYPE, required=True, max_length=40),
            "serial": row.text(SERIAL, required=True, max_length=64),
            "name": row.text(DEVICE_NAME, required=True, max_length=60),
            "device_code": row.text(DEVICE_CODE, max_length=64).lower(),
            "x_m": self._metres(row, X_M),
            "y_m": self._metres(row, Y_M),
        }
        if v["device_code"] and not _DEVICE_CODE_RE.match(v["device_code"]):
            row.fail(DEVICE_CODE, _("只能包含小写字母、数字和连字符"))
        if not v["building"] and (v["unit"] or v["floor"] is not None):
            row.fail(BUILDING, _("填写单元号或楼层时须填写楼号"))
        return v

    @staticmethod
    def _metres(row: SheetRow, column: str) -> float | None:
        raw = row.cells.get(column)
        if is_blank(raw):
            return None
        try:
            value = float(cell_text(raw).removesuffix("米").removesuffix("m").strip())
        except ValueError:
            value = float("nan")
        if not math.isfinite(value) or abs(value) > 100_000:
            row.fail(column, _("应为数字（单位：米）"))
            return None
        return value

    def write(self) -> dict[str, int]:
        from linli.devices.services import register_device

        for number, fields in self.devices:
            try:
                register_device(actor=self.actor, **fields)
            except ValidationError as exc:
                # Checked above, so only a rule the check does not know can land here; the import
                # is one transaction and the Conflict rolls all of it back.
                raise Conflict(_("第%(row)s行：%(reason)s") % {"row": number, "reason": " ".join(exc.messages)}) from exc
            except (Conflict, Forbidden, NotFound) as exc:
                raise Conflict(_("第%(row)s行：%(reason)s") % {"row": number, "reason": str(exc)}) from exc
        return {"devices": len(self.devices)}


# Work orders (governance tickets) ------------------------------------------------------------
# The sheet is read here; the rows are checked and filed by linli.workorders.tickets.

_TICKET_COLUMNS = {"compound": COMPOUND, "category": "类别编码", "title": "标题", "external_no": "外部工单号",
                   "reported_at": "报事时间", "house": HOUSE, "place": "地点", "source": "来源"}
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                     "%Y/%m/%d")


class WorkOrderImport(Importer):
    """12345 hotline tickets and grid events filed as work orders, known by their external number:
    a row whose number was imported before is skipped, so a sheet can be imported again."""

    kind = "work_orders"
    title = gettext_lazy("工单（12345热线、网格事件）")
    permission = "workorders.dispatch_workorder"
    columns = (
        _COMPOUND_COLUMN,
        Column("类别编码", True, gettext_lazy("本小区工单类别的编码，见工单类别设置"), example="governance"),
        Column("标题", True, gettext_lazy("最多120个字"), example="小区东门垃圾堆放"),
        Column("描述", False, gettext_lazy("最多2000个字"), example="市民反映东门外垃圾三天未清运"),
        Column(BUILDING, False, gettext_lazy("涉及某户时填写楼号、单元号、房号"), example="3"),
        Column(UNIT, False, gettext_lazy("已登记的单元号"), example="2"),
        Column(HOUSE, False, gettext_lazy("已登记的房号"), example="501"),
        Column("地点", False, gettext_lazy("不涉及某户时必填，最多120个字"), example="东门外"),
        Column("报事时间", True, gettext_lazy("如 2024-03-01 09:30；处理时限从此时起算"), example="2024-03-01 09:30"),
        Column("外部工单号", True, gettext_lazy("12345工单号或网格事件编号，同一小区内不能重复"), example="12345-20240301-0001"),
        Column("来源", False, gettext_lazy("不填为12345热线"), example="12345热线"),
    )
    notes = (gettext_lazy("已导入过的外部工单号会被跳过，同一表格可以重复导入。"),)

    def check(self, rows: list[SheetRow]) -> None:
        from linli.workorders.tickets import Ticket, TicketSource, check_tickets

        parsed = []
        for row in rows:
            parsed.append((row, {
                "code": row.text(COMPOUND, required=True),
                "category": row.text("类别编码", required=True, max_length=40),
                "title": row.text("标题", required=True, max_length=120),
                "description": row.text("描述", max_length=2000),
                "numbers": house_numbers(row),
                "place": row.text("地点", max_length=120),
                "reported_at": self._moment(row, "报事时间"),
                "external_no": row.text("外部工单号", required=True, max_length=80),
                "source": row.choice("来源", TicketSource, default=TicketSource.HOTLINE_12345),
            }))
        compounds = CompoundLookup(self.actor, self.permission, (v["code"] for _row, v in parsed))
        places = PlaceIndex(compounds.ids, houses=True)
        tickets: dict[int, tuple[SheetRow, Any]] = {}
        for row, v in parsed:
            compound = compounds.resolve(row, v["code"])
            if compound is None:
                continue
            house_id = places.house_id(row, compound, v["numbers"]) if v["numbers"] else None
            if not row.ok:
                continue
            tickets[row.number] = (row, Ticket(
                row=row.number, compound_id=compound.pk, category_code=v["category"], title=v["title"],
                external_no=v["external_no"], reported_at=v["reported_at"], description=v["description"],
                house_id=house_id, place=v["place"], source=v["source"]))
        self.checked = check_tickets(actor=self.actor, tickets=[t for _row, t in tickets.values()])
        for number, name, message in self.checked.errors:
            tickets[number][0].fail(_TICKET_COLUMNS.get(name, ""), message)
        self.planned = {"work_orders": len(self.checked.to_file), "already_imported": len(self.checked.known)}

    @staticmethod
    def _moment(row: SheetRow, column: str) -> Any:
        import datetime as dt

        from django.utils import timezone

        raw = row.cells.get(column)
        if is_blank(raw):
            row.fail(column, _("必填项未填写"))
            return None
        if isinstance(raw, dt.datetime):
            value = raw
        elif isinstance(raw, dt.date):
            value = dt.datetime.combine(raw, dt.time())
        else:
            value = None
            for fmt in _DATETIME_FORMATS:
                try:
                    value = dt.datetime.strptime(cell_text(raw), fmt)  # noqa: DTZ007 - local time, made aware below
                    break
                except ValueError:
                    continue
            if value is None:
                row.fail(column, _("时间格式应为 2024-03-01 09:30"))
                return None
        return timezone.make_aware(value) if timezone.is_naive(value) else value

    def write(self) -> dict[str, int]:
        from linli.workorders.tickets import import_tickets

        filed = import_tickets(actor=self.actor, tickets=[t for t, _category in self.checked.to_file])
        return {"work_orders": len(filed), "already_imported": len(self.checked.known)}


IMPORTERS: dict[str, type[Importer]] = {
    i.kind: i for i in (BuildingImport, HouseImport, PersonImport, VehicleImport, DeviceImport, WorkOrderImport)
}
