"""The place tree: codes, standard addresses, uniqueness within a parent, rename."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from linli.core.errors import Conflict, Forbidden
from linli.places import services
from linli.places.models import Building, House, Unit


def test_every_building_unit_and_house_gets_a_coded_standard_address(district):
    a = district.a
    assert a.compound.code == a.community.code + "001"
    assert a.building.address_code == f"{a.compound.code}-3"
    assert a.unit.address_code == f"{a.compound.code}-3-2"
    assert a.house.address_code == f"{a.compound.code}-3-2-501"
    assert a.house.standard_address == "山东省青岛市胶州市阜安街道阜安小区3号楼2单元501室"
    assert Unit.objects.filter(building=a.building).count() == 2


def test_names_are_unique_within_their_parent_in_the_database(district):
    a = district.a
    with pytest.raises((Conflict, ValidationError)):
        services.create_building(actor=district.admin, compound=a.compound, number="3", floors_above=6)
    with pytest.raises(IntegrityError), transaction.atomic():
        House.objects.create(compound=a.compound, building=a.building, unit=a.unit, number="501", floor=5,
                             built_area=50, address_code="x", standard_address="x")
    # The same number in another compound is fine.
    services.create_building(actor=district.admin, compound=district.b.compound, number="7", floors_above=6)


def test_a_house_floor_must_exist_in_its_building(district):
    with pytest.raises(ValidationError) as err:
        services.create_house(actor=district.admin, unit=district.a.unit, number="901", floor=9, built_area="60")
    assert "floor" in err.value.message_dict


def test_renaming_a_compound_readdresses_everything_below_it(district):
    a = district.a
    services.update_compound(actor=district.a.users["property_manager"], compound=a.compound, name="新华苑")
    a.house.refresh_from_db()
    assert a.house.standard_address == "山东省青岛市胶州市阜安街道新华苑3号楼2单元501室"
    assert a.house.address_code.endswith("-3-2-501")


def test_a_property_manager_cannot_build_in_another_companys_compound(district):
    from linli.core.errors import NotFound

    with pytest.raises(NotFound):
        services.create_building(actor=district.a.users["property_manager"], compound=district.b.compound,
                                 number="9", floors_above=6)
    assert not Building.objects.filter(number="9").exists()


def test_region_codes_follow_their_parent(district):
    with pytest.raises(ValidationError):
        services.create_region(actor=district.admin, level="street", code="370282001", name="别处街道",
                               parent=district.district)
    with pytest.raises(ValidationError):
        services.create_region(actor=district.admin, level="street", code="3702810", name="短码", parent=district.district)
    with pytest.raises(Forbidden):
        services.create_region(actor=district.a.users["street_officer"], level="community", code="370281002009",
                               name="越权社区", parent=district.b.street)
