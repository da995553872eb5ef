"""Create and edit pages write through the services and show the services' refusals on the form."""

import datetime as dt

from django.urls import reverse

from linli.core.models import AuditAction, AuditEntry
from linli.core.testing import ID_NUMBERS, PHONES
from linli.people.identity import mainland_id_check_char
from linli.people.models import Person, Residency, Vehicle
from linli.places.models import Building, House


def new_id(first17="37028119900101001"):
    return first17 + mainland_id_check_char(first17)


def person_form(**changes):
    data = {"name": "王芳", "id_type": "mainland_id", "id_number": new_id(), "phone": "13600136000",
            "gender": "unknown", "population_type": "registered", "care_tags": ["elderly_alone"],
            "ethnicity": "汉族", "note": ""}
    data.update(changes)
    return data


def test_registering_a_person_reads_sex_and_birth_from_the_id(district, client_for):
    client = client_for(district.a.users["property_manager"])
    response = client.post(reverse("web:person_create"), person_form(compound=district.a.compound.pk))
    assert response.status_code == 302
    person = Person.objects.get(name="王芳")
    assert response["Location"] == reverse("web:person_detail", args=[person.pk])
    assert person.birth_date == dt.date(1990, 1, 1) and person.care_tags == ["elderly_alone"]
    html = client.get(response["Location"]).content.decode()
    assert "独居老人" in html and "136****6000" in html


def test_a_bad_id_number_is_shown_on_its_field(district, client_for):
    client = client_for(district.a.users["property_manager"])
    valid = new_id()
    bad_checksum = valid[:17] + ("0" if valid[17] != "0" else "1")
    response = client.post(reverse("web:person_create"),
                           person_form(compound=district.a.compound.pk, id_number=bad_checksum))
    assert response.status_code == 400
    assert response.context["form"].errors["id_number"] == ["身份证号校验位错误"]
    duplicate = client.post(reverse("web:person_create"),
                            person_form(compound=district.a.compound.pk, id_number=ID_NUMBERS["b_owner"]))
    assert duplicate.status_code == 400
    assert "该证件号码已登记" in duplicate.context["form"].errors["id_number"]
    # The typed number is not written back into the page.
    assert ID_NUMBERS["b_owner"] not in duplicate.content.decode()
    assert bad_checksum not in response.content.decode()


def test_editing_a_person_keeps_blank_numbers_and_is_audited(district, client_for):
    client = client_for(district.a.users["property_manager"])
    owner = district.a.owner
    url = reverse("web:person_edit", args=[owner.pk])
    form = client.get(url).content.decode()
    assert owner.id_masked in form and ID_NUMBERS["a_owner"] not in form
    response = client.post(url, person_form(name="A业主（改）", id_number="", phone="", care_tags=[]))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.name == "A业主（改）"
    assert owner.id_number_plain() == ID_NUMBERS["a_owner"] and owner.phone_plain() == PHONES["a_owner"]
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_type="people.person").latest("id")
    assert entry.after["name"] == "A业主（改）" and entry.actor == "property_manager_a"
    assert entry.context["source"] == "console"


def test_a_new_phone_replaces_the_old_one_and_clearing_removes_it(district, client_for):
    client = client_for(district.a.users["property_manager"])
    url = reverse("web:person_edit", args=[district.a.family.pk])
    assert client.post(url, person_form(name="A家属", id_number="", phone="13512345678")).status_code == 302
    family = Person.objects.get(pk=district.a.family.pk)
    assert family.phone_plain() == "13512345678"
    bad = client.post(url, person_form(name="A家属", id_number="", phone="12345"))
    assert bad.status_code == 400 and "phone" in bad.context["form"].errors
    assert client.post(url, person_form(name="A家属", id_number="", phone="", clear_phone="on")).status_code == 302
    assert Person.objects.get(pk=family.pk).phone_masked == ""


def test_a_guard_may_not_edit_and_the_other_side_is_not_found(district, client_for):
    assert client_for(district.a.users["guard"]).post(
        reverse("web:person_edit", args=[district.a.owner.pk]), person_form()).status_code == 403
    manager = client_for(district.a.users["property_manager"])
    assert manager.post(reverse("web:person_edit", args=[district.b.owner.pk]), person_form()).status_code == 404


def test_residents_are_added_by_id_number_and_moved_out_with_a_date(district, client_for):
    client = client_for(district.a.users["property_manager"])
    other = district.a.other_house
    add = reverse("web:residency_add", args=[other.pk])
    response = client.post(add, {"id_number": ID_NUMBERS["a_family"], "role": "tenant", "since": "2024-03-01"})
    assert response.status_code == 302
    residency = Residency.objects.get(house=other)
    assert residency.person_id == district.a.family.pk
    missing = client.post(add, {"id_number": new_id("11010519491231002"), "role": "tenant", "since": "2024-03-01"})
    assert missing.status_code == 400 and "未找到" in missing.content.decode()
    twice = client.post(add, {"id_number": ID_NUMBERS["a_family"], "role": "tenant", "since": "2024-03-01"})
    assert twice.status_code == 400 and "此人已登记在该房屋" in twice.content.decode()
    end = reverse("web:residency_end", args=[other.pk])
    early = client.post(end, {"residency": residency.pk, "until": "2020-01-01"})
    assert early.status_code == 400 and "结束日期不能早于开始日期" in early.content.decode()
    assert client.post(end, {"residency": residency.pk, "until": "2025-01-31"}).status_code == 302
    residency.refresh_from_db()
    assert residency.until == dt.date(2025, 1, 31)
    wrong_house = client.post(reverse("web:residency_end", args=[district.a.house.pk]),
                              {"residency": district.b.residency.pk, "until": "2025-01-31"})
    assert wrong_house.status_code == 404


def test_buildings_and_houses_are_created_and_edited_in_place(district, client_for):
    client = client_for(district.a.users["property_manager"])
    response = client.post(reverse("web:building_create", args=[district.a.compound.pk]),
                           {"number": "5", "floors_above": "6", "floors_below": "0", "unit_count": "2"})
    assert response.status_code == 302
    building = Building.objects.get(compound=district.a.compound, number="5")
    assert building.units.count() == 2
    unit = building.units.get(number="1")
    response = client.post(reverse("web:house_create", args=[unit.pk]),
                           {"number": "101", "floor": "9", "built_area": "80", "use": "residential",
                            "occupancy": "owner"})
    assert response.status_code == 400 and "楼层超出该楼栋的范围" in response.content.decode()
    response = client.post(reverse("web:house_create", args=[unit.pk]),
                           {"number": "101", "floor": "1", "built_area": "80", "use": "residential",
                            "occupancy": "owner"})
    house = House.objects.get(unit=unit, number="101")
    assert response["Location"] == reverse("web:house_detail", args=[house.pk])
    response = client.post(reverse("web:house_edit", args=[house.pk]),
                           {"floor": "1", "built_area": "80", "inner_area": "90", "use": "residential",
                            "occupancy": "rented"})
    assert response.status_code == 400 and "套内面积不能大于建筑面积" in response.content.decode()
    assert client.post(reverse("web:building_edit", args=[building.pk]),
                       {"floors_above": "7", "floors_below": "0", "unit_count": "3"}).status_code == 302
    assert building.units.count() == 3


def test_a_household_vehicle_gets_its_owner_from_the_residents(district, client_for):
    client = client_for(district.a.users["property_manager"])
    url = reverse("web:vehicle_create") + f"?house={district.a.house.pk}"
    page = client.get(url).content.decode()
    assert "A家属" in page
    response = client.post(url, {"plate": "鲁B 6789A", "colour": "blue", "owner": district.a.family.pk,
                                 "active": "on"})
    assert response.status_code == 302
    vehicle = Vehicle.objects.get(plate="鲁B6789A")
    assert vehicle.owner_id == district.a.family.pk and vehicle.compound_id == district.a.compound.pk
    clash = client.post(url, {"plate": "鲁B6789A", "colour": "blue", "active": "on"})
    assert clash.status_code == 400
    foreign = client.post(url, {"plate": "鲁B6789B", "colour": "blue", "owner": district.b.owner.pk})
    assert foreign.status_code == 400 and "owner" in foreign.context["form"].errors


def test_compound_pages_for_the_city_admin(district, client_for):
    client = client_for(district.city_admin)
    response = client.post(reverse("web:compound_create"),
                           {"community": district.a.community.pk, "name": "新河小区", "year_built": "2001"})
    assert response.status_code == 302
    duplicate = client.post(reverse("web:compound_create"), {"community": district.a.community.pk, "name": "新河小区"})
    assert duplicate.status_code == 400
    manager = client_for(district.a.users["property_manager"])
    assert manager.get(reverse("web:compound_create")).status_code == 403
    edit = reverse("web:compound_edit", args=[district.a.compound.pk])
    assert manager.post(edit, {"name": "阜安小区", "address": "阜安路1号", "year_built": "1995"}).status_code == 302


def test_organisations_and_real_units_are_registered(district, client_for):
    client = client_for(district.city_admin)
    response = client.post(reverse("web:organisation_create"),
                           {"kind": "maintenance_company", "name": "青岛电梯维保", "region": district.a.street.pk,
                            "credit_code": "bad"})
    assert response.status_code == 400 and "credit_code" in response.context["form"].errors
    response = client.post(reverse("web:organisation_create"),
                           {"kind": "maintenance_company", "name": "青岛电梯维保", "region": district.a.street.pk})
    assert response.status_code == 302
    manager = client_for(district.a.users["property_manager"])
    response = manager.post(reverse("web:realunit_create"),
                            {"compound": district.a.compound.pk, "name": "A理发店",
                             "credit_code": district.a.real_unit.credit_code, "employees": "2"})
    assert response.status_code == 400
    edit = manager.post(reverse("web:realunit_edit", args=[district.a.real_unit.pk]),
                        {"name": "A便利店", "credit_code": district.a.real_unit.credit_code, "employees": "5"})
    assert edit.status_code == 302
