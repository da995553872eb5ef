"""Importing sheets: every bad row named with its reason, all rows or none, one audit entry per row."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core.audit import verify_chain
from linli.core.models import AuditAction, AuditEntry
from linli.core.testing import ID_NUMBERS
from linli.exchange.formats import ImportFileError
from linli.exchange.services import import_workbook
from linli.exchange.tests.sheets import (
    BUILDING_HEADERS,
    HOUSE_HEADERS,
    PERSON_HEADERS,
    VEHICLE_HEADERS,
    table_counts,
    workbook,
)
from linli.people.identity import mainland_id_check_char
from linli.people.models import Person, Residency, Vehicle
from linli.places.models import Building, House, Unit


def new_id(n: int) -> str:
    """A valid mainland ID number, different for every n below 336,000."""
    day = dt.date(1990, 1, 1) + dt.timedelta(days=n // 1000)
    first17 = f"370281{day:%Y%m%d}{n % 1000:03d}"
    return first17 + mainland_id_check_char(first17)


def bad_checksum(value: str) -> str:
    last = "0" if value[-1] != "0" else "1"
    return value[:-1] + last


def errors_by_row(report) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for e in report.errors:
        found.setdefault(e.row, []).append((e.column, e.message))
    return found


def test_a_person_sheet_with_bad_rows_writes_nothing_and_names_every_bad_row(district):
    a = district.a
    code = a.compound.code
    rows = [
        [code, "王五", "居民身份证", new_id(1), "13912340001", "户籍人口", "独居老人", "3", "2", "502", "租户",
         "2023-04-01"],                                                                    # 2: good
        [code, "赵六", "", bad_checksum(new_id(2)), "", "", "", "", "", "", "", ""],        # 3: checksum
        [code, "钱七", "", new_id(3), "1234567", "", "", "", "", "", "", ""],               # 4: phone
        ["370281009009009", "孙八", "", new_id(4), "", "", "", "", "", "", "", ""],         # 5: unknown compound
        [code, "周九", "", new_id(5), "", "", "", "3", "2", "999", "业主", ""],              # 6: unknown house
        [code, "吴十", "", new_id(1), "", "", "", "", "", "", "", ""],                      # 7: repeats row 2
        [code, "郑一", "", ID_NUMBERS["a_owner"], "", "", "", "", "", "", "", ""],          # 8: already registered
        [code, "", "", new_id(8), "", "", "", "", "", "", "", ""],                          # 9: no name
        [code, "冯二", "", new_id(9), "", "外星人", "爱心", "9", "1", "101", "房东", "明天"],  # 10: many problems
        [code, "陈三", "", new_id(10), "", "", "", "3", "", "", "", ""],                    # 11: half an address
    ]
    before = table_counts()

    report = import_workbook(actor=district.admin, kind="persons", data=workbook(PERSON_HEADERS, rows),
                             dry_run=False)

    assert not report.ok
    assert report.created == {}
    assert table_counts() == before
    bad = errors_by_row(report)
    assert sorted(bad) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert bad[3] == [("证件号码", "身份证号校验位错误")]
    assert bad[4] == [("手机号", "手机号码应为11位，以1开头")]
    assert bad[5] == [("小区编码", "小区编码不存在或无权导入该小区")]
    assert bad[6] == [("房号", "2单元没有999室")]
    assert bad[7] == [("证件号码", "与第2行重复")]
    assert bad[8] == [("证件号码", "该证件号码已登记")]
    assert bad[9] == [("姓名", "必填项未填写")]
    columns_10 = [column for column, _message in bad[10]]
    assert columns_10 == ["人口类型", "关怀标签", "楼号", "居住关系", "入住日期"]
    assert "“外星人”不是可选值" in bad[10][0][1]
    assert "小区中没有9号楼" in dict(bad[10])["楼号"]
    assert {c for c, _m in bad[11]} == {"单元号", "房号"}


def test_a_good_person_sheet_imports_everything_with_one_audit_entry_per_row(district):
    a = district.a
    code = a.compound.code
    rows = [
        [code, "王五", "居民身份证", new_id(1), "139 1234 0001", "流动人口", "独居老人、残疾人", "3", "2", "502", "租户",
         dt.datetime(2023, 4, 1)],  # noqa: DTZ001 - what Excel hands back for a date cell
        [code, "李雷", "", new_id(2).lower(), "", "", "", "3号楼", "2单元", "501室", "家庭成员", ""],
        [code, "韩梅梅", "护照", "E12345678", "13912340003", "境外人员", "", "", "", "", "", ""],
    ]
    audit_before = AuditEntry.objects.count()

    report = import_workbook(actor=a.users["property_manager"], kind="persons",
                             data=workbook(PERSON_HEADERS, rows), dry_run=False)

    assert report.ok, report.errors
    assert report.created == {"persons": 3, "residencies": 2}
    wang = Person.objects.get(name="王五")
    assert wang.id_number_plain() == new_id(1)
    assert wang.phone_plain() == "13912340001"
    assert wang.phone_masked == "139****0001"
    assert wang.care_tags == ["elderly_alone", "disabled"]
    assert wang.population_type == "floating"
    assert wang.birth_date == dt.date(1990, 1, 1)
    residency = Residency.objects.get(person=wang)
    assert (residency.house, residency.role, residency.since) == (a.other_house, "tenant", dt.date(2023, 4, 1))
    li = Person.objects.get(name="李雷")
    assert Residency.objects.get(person=li).house == a.house
    assert Person.objects.get(name="韩梅梅").id_type == "passport"

    entries = list(AuditEntry.objects.order_by("id"))[audit_before:]
    assert len(entries) == 5
    assert {e.action for e in entries} == {AuditAction.CREATE}
    assert [e.object_type for e in entries] == ["people.person"] * 3 + ["people.residency"] * 2
    assert {e.user_id for e in entries} == {a.users["property_manager"].pk}
    assert {e.context["source"] for e in entries} == {"import"}
    assert all(new_id(1) not in str(e.after) for e in entries)
    assert verify_chain().ok


def test_a_dry_run_reports_what_it_would_create_and_writes_nothing(district):
    code = district.a.compound.code
    rows = [[code, "王五", "", new_id(1), "", "", "", "3", "2", "502", "业主", ""]]
    before = table_counts()

    report = import_workbook(actor=district.admin, kind="persons", data=workbook(PERSON_HEADERS, rows),
                             dry_run=True)

    assert report.ok and report.dry_run
    assert report.planned == {"persons": 1, "residencies": 1}
    assert report.created == {}
    assert table_counts() == before


def test_a_property_manager_of_company_a_cannot_import_into_compound_b(district):
    manager = district.a.users["property_manager"]
    rows = [
        [district.a.compound.code, "4", 6, 0, 2, "", "否"],
        [district.b.compound.code, "4", 6, 0, 2, "", "否"],
    ]
    before = table_counts()

    report = import_workbook(actor=manager, kind="buildings", data=workbook(BUILDING_HEADERS, rows), dry_run=False)

    assert [(e.row, e.column) for e in report.errors] == [(3, "小区编码")]
    assert "无权导入该小区" in report.errors[0].message
    assert table_counts() == before


def test_a_guard_who_can_see_a_compound_is_told_plainly_he_may_not_import_there(district):
    guard = district.a.users["guard"]
    rows = [[district.a.compound.code, "鲁B54321", "", "", "", "", ""]]

    report = import_workbook(actor=guard, kind="vehicles", data=workbook(VEHICLE_HEADERS, rows), dry_run=True)

    assert [(e.column, e.message) for e in report.errors] == [("小区编码", "无权导入该小区")]


def test_buildings_import_with_their_units_and_refuse_duplicates(district):
    code = district.a.compound.code
    good = [[code, "5", 11, 1, 3, 33.5, "是"], [code, "6号楼", "6", "", "", "", ""]]
    bad = [*good, [code, "3", 6, 0, 1, "", ""], [code, "6", 6, 0, 1, "", ""], [code, "7", 0, 0, 1, "高", "也许"]]

    refused = import_workbook(actor=district.admin, kind="buildings", data=workbook(BUILDING_HEADERS, bad),
                              dry_run=False)
    assert [(e.row, e.column, e.message) for e in refused.errors] == [
        (4, "楼号", "该楼号已存在"),
        (5, "楼号", "与第3行重复"),
        (6, "地上层数", "数值超出范围（1–200）"),
        (6, "高度", "应为数字"),
        (6, "是否有电梯", "应填写“是”或“否”"),
    ]
    assert not Building.objects.filter(number__in=["5", "6"]).exists()

    report = import_workbook(actor=district.admin, kind="buildings", data=workbook(BUILDING_HEADERS, good),
                             dry_run=False)
    assert report.created == {"buildings": 2, "units": 4}
    five = Building.objects.get(compound=district.a.compound, number="5")
    assert (five.floors_above, five.floors_below, five.height_m, five.has_elevator) == (11, 1, 33.5, True)
    assert list(five.units.values_list("number", flat=True)) == ["1", "2", "3"]
    assert Unit.objects.get(building=five, number="3").standard_address.endswith("5号楼3单元")
    assert AuditEntry.objects.filter(object_type="places.unit", object_id__in=[
        str(pk) for pk in Unit.objects.filter(building__number__in=["5", "6"]).values_list("pk", flat=True)
    ]).count() == 4


def test_houses_import_checks_floors_areas_and_duplicates(district):
    code = district.a.compound.code
    rows = [
        [code, "3", "2", "601", 6, 88.5, 70, "住宅", "出租"],      # 2 good
        [code, "3", "2", "701", 7, 88, "", "", ""],                # 3 floor above the roof
        [code, "3", "2", "501", 5, 86.5, "", "", ""],              # 4 already there
        [code, "3", "2", "601", 6, 88.5, "", "", ""],              # 5 repeats row 2
        [code, "3", "9", "101", 1, 50, "", "", ""],                # 6 no unit 9
        [code, "3", "1", "102", 1, 50, 60, "宿舍", ""],             # 7 inner > built, unknown use
        [code, "3", "1", "103", "一楼", "五十", "", "", ""],         # 8 not numbers
    ]
    before = table_counts()
    report = import_workbook(actor=district.a.users["property_manager"], kind="houses",
                             data=workbook(HOUSE_HEADERS, rows), dry_run=False)
    assert table_counts() == before
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "楼层"), (4, "房号"), (5, "房号"), (6, "单元号"), (7, "套内面积"), (7, "用途"), (8, "楼层"), (8, "建筑面积"),
    ]
    assert report.errors[0].message == "楼层超出该楼栋的范围（地上6层，地下0层）"
    assert report.errors[1].message == "该房屋已存在"
    assert report.errors[2].message == "与第2行重复"

    report = import_workbook(actor=district.a.users["property_manager"], kind="houses",
                             data=workbook(HOUSE_HEADERS, rows[:1]), dry_run=False)
    assert report.created == {"houses": 1}
    house = House.objects.get(unit=district.a.unit, number="601")
    assert (house.floor, str(house.built_area), house.occupancy) == (6, "88.50", "rented")
    assert house.address_code == f"{code}-3-2-601"
    assert house.standard_address == "山东省青岛市胶州市阜安街道阜安小区3号楼2单元601室"


def test_vehicles_import_checks_plates_per_ga36_owners_and_duplicates(district):
    a = district.a
    code = a.compound.code
    rows = [
        [code, "鲁BD54321", "", ID_NUMBERS["a_owner"], "3", "2", "501"],  # 2 good, new energy → green
        [code, "鲁B54322", "黄牌", "", "", "", ""],                        # 3 good
        [code, "鲁B12345", "", "", "", "", ""],                           # 4 already registered here
        [code, "鲁I1234", "", "", "", "", ""],                            # 5 not a GA 36 plate
        [code, "鲁B54323", "", ID_NUMBERS["b_owner"], "", "", ""],        # 6 owner lives in b
        [code, "鲁B54322", "紫牌", "", "", "", ""],                        # 7 repeat + bad colour
        [code, "鲁BD54329", "蓝牌", "", "", "", ""],                       # 8 new energy plates are never blue
    ]
    report = import_workbook(actor=a.users["property_manager"], kind="vehicles",
                             data=workbook(VEHICLE_HEADERS, rows), dry_run=False)
    assert [(e.row, e.column) for e in report.errors] == [
        (4, "车牌号"), (5, "车牌号"), (6, "车主证件号码"), (7, "车牌号"), (7, "车牌颜色"), (8, "车牌颜色"),
    ]
    assert report.errors[-1].message == "车牌颜色与车牌号不符"
    assert report.errors[1].message.startswith("车牌号格式不符合GA 36")
    assert not Vehicle.objects.filter(plate="鲁BD54321").exists()

    report = import_workbook(actor=a.users["property_manager"], kind="vehicles",
                             data=workbook(VEHICLE_HEADERS, rows[:2]), dry_run=False)
    assert report.created == {"vehicles": 2}
    green = Vehicle.objects.get(plate="鲁BD54321")
    assert (green.colour, green.owner, green.house) == ("green", a.owner, a.house)
    assert Vehicle.objects.get(plate="鲁B54322").colour == "yellow"


@pytest.mark.parametrize("data, problem", [
    (b"not a spreadsheet", "文件不是有效的 Excel（.xlsx）文件"),
    (workbook(["小区编码", "姓名"], [["1", "2"]]), "表头缺少列：证件类型、证件号码"),
    (workbook(PERSON_HEADERS, []), "文件中没有数据行"),
])
def test_a_file_that_cannot_be_read_is_refused_naming_the_problem(district, data, problem):
    with pytest.raises(ImportFileError) as exc:
        import_workbook(actor=district.admin, kind="persons", data=data, dry_run=True)
    assert problem in str(exc.value)


def test_an_id_number_typed_as_a_number_is_refused_because_excel_rounds_it(district):
    rows = [[district.a.compound.code, "王五", "", 370281199001010012, "", "", "", "", "", "", "", ""]]
    report = import_workbook(actor=district.admin, kind="persons", data=workbook(PERSON_HEADERS, rows))
    assert [(e.column, e.message) for e in report.errors] == [
        ("证件号码", "证件号码须以文本格式填写（数字格式会丢失末几位）")]


def test_a_clash_while_writing_rolls_back_the_rows_already_inserted(district, monkeypatch):
    from linli.core.errors import Conflict
    from linli.exchange import importers

    real = importers.bulk_create_audited
    calls = []

    def clash_on_second_table(model, instances, **kwargs):
        calls.append(model)
        if len(calls) == 2:  # persons are in; a residency clashes with someone else's write
            raise Conflict("a record with these values already exists")
        return real(model, instances, **kwargs)

    monkeypatch.setattr(importers, "bulk_create_audited", clash_on_second_table)
    rows = [[district.a.compound.code, "王五", "", new_id(1), "", "", "", "3", "2", "502", "业主", ""]]
    before = table_counts()

    report = import_workbook(actor=district.admin, kind="persons", data=workbook(PERSON_HEADERS, rows),
                             dry_run=False)

    assert calls == [Person, Residency]
    assert not report.ok and report.created == {}
    assert report.errors[0].row == 0 and "未写入任何数据" in report.errors[0].message
    assert table_counts() == before
