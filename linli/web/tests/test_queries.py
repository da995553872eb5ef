"""List pages cost the same number of queries for one row or a full page of fifty."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linli.core.context import ChangeContext, change_context
from linli.people import services as people
from linli.people.identity import mainland_id_check_char
from linli.places import services as places

LISTS = ["web:compound_list", "web:building_list", "web:house_list", "web:person_list",
         "web:organisation_list", "web:realunit_list", "web:vehicle_list", "web:audit_list"]


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def grow(district, n):
    admin, side = district.admin, district.a
    with change_context(ChangeContext(source="test", actor="test")):
        for i in range(n):
            building = places.create_building(actor=admin, compound=side.compound, number=f"{10 + i}",
                                              floors_above=6, unit_count=1)
            house = places.create_house(actor=admin, unit=building.units.get(), number="101", floor=1,
                                        built_area="60")
            first17 = f"37028119800101{i:03d}"
            person = people.create_person(actor=admin, compound=side.compound, name=f"住户{i}", id_type="mainland_id",
                                          id_number=first17 + mainland_id_check_char(first17),
                                          phone=f"1350000{i:04d}", care_tags=["elderly"])
            people.add_residency(actor=admin, person=person, house=house, role="owner",
                                 since=side.residency.since)
            people.register_vehicle(actor=admin, compound=side.compound, plate=f"鲁B{i:05d}", owner=person,
                                    house=house)


@pytest.mark.parametrize("name", LISTS)
def test_list_pages_run_a_constant_number_of_queries(district, client_for, name):
    client = client_for(district.a.users["property_manager"])
    url = reverse(name)
    before = queries(client, url)
    grow(district, 6)
    assert queries(client, url) == before
