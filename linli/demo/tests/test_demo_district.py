"""The demo district: built once for this module (a few seconds), then checked like a data audit."""

from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.test import override_settings

from linli.accounts.models import AccountKind, RoleGrant, User
from linli.accounts.roles import Role
from linli.core.audit import verify_chain
from linli.core.models import AuditEntry
from linli.demo import codes, district
from linli.demo.staff import DEMO_PASSWORD
from linli.people.identity import birth_date_from_id, validate_mainland_id, validate_uscc
from linli.people.models import (
    CareTag,
    Gender,
    Organisation,
    Person,
    PopulationType,
    RealUnit,
    Residency,
    Vehicle,
)
from linli.people.plates import PlateColour, plate_is_new_energy, validate_plate
from linli.places.models import Building, Compound, Grid, House, Region


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once and rolled back when the module is done."""
    fast_hashing = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hashing, transaction.atomic():
        out = io.StringIO()
        summary = district.load_demo(scale=None, out=out)
        yield {"summary": summary, "output": out.getvalue()}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_the_district_follows_the_seed_deployment_from_shandong_to_two_streets(demo):
    chain = {r.level: r for r in Region.objects.filter(level__in=["province", "city", "district"])}
    assert (chain["province"].code, chain["city"].code, chain["district"].code) == ("370000", "370200", "370281")
    streets = Region.objects.filter(level="street")
    communities = Region.objects.filter(level="community")
    assert streets.count() == 2 and communities.count() == 3
    assert all(len(s.code) == 9 and s.code.startswith("370281") for s in streets)
    assert all(len(c.code) == 12 and c.code.startswith(c.parent.code) for c in communities)
    assert Grid.objects.count() >= 3
    assert Compound.objects.count() >= 4
    assert not Compound.objects.filter(grid__isnull=True).exists()
    assert not Compound.objects.filter(property_company__isnull=True).exists()


def test_the_showcase_compound_has_twenty_walk_up_blocks_with_two_flats_a_landing(demo):
    showcase = Compound.objects.get(name=district.SHOWCASE)
    blocks = Building.objects.filter(compound=showcase).exclude(name="沿街商铺")
    assert blocks.count() == 20
    for block in blocks:
        assert 6 <= block.floors_above <= 7 and 2 <= block.unit_count <= 3
        assert House.objects.filter(building=block).count() == block.floors_above * block.unit_count * 2
    house = House.objects.filter(compound=showcase).order_by("id").first()
    assert house.standard_address == "山东省青岛市胶州市阜安街道阜康花园1号楼1单元101室"
    assert house.inner_area < house.built_area


def test_counts_are_those_of_a_real_old_district(demo):
    summary = demo["summary"]
    assert 900 <= House.objects.count() <= 1_150
    assert 2_400 <= Person.objects.count() <= 2_800
    assert 500 <= Vehicle.objects.count() <= 700
    assert summary["persons"] == Person.objects.count()
    occupancy = Counter(House.objects.values_list("occupancy", flat=True))
    assert occupancy["owner"] > occupancy["rented"] > occupancy["vacant"] > 0
    roles = Counter(Residency.objects.values_list("role", flat=True))
    assert {"owner", "family", "tenant"} <= set(roles)
    population = Counter(Person.objects.values_list("population_type", flat=True))
    assert population[PopulationType.REGISTERED] > population[PopulationType.FLOATING] > 0
    tags = Counter(t for row in Person.objects.values_list("care_tags", flat=True) for t in row)
    assert tags[CareTag.ELDERLY_ALONE] >= 20
    # Over a quarter of the people in old compounds are over 60.
    old = sum(1 for b in Person.objects.values_list("birth_date", flat=True) if b.year <= 1965)
    assert old / Person.objects.count() > 0.25


def test_every_id_number_passes_the_gb_11643_checksum_and_agrees_with_birth_date_and_sex(demo):
    qingdao = 0
    persons = list(Person.objects.all())
    for person in persons:
        number = person.id_number_plain()
        assert validate_mainland_id(number) == number
        assert birth_date_from_id(number) == person.birth_date
        assert person.gender == (Gender.MALE if int(number[16]) % 2 else Gender.FEMALE)
        assert person.id_masked == number[:4] + "*" * 10 + number[-4:]
        qingdao += number.startswith("3702")
        if person.population_type == PopulationType.REGISTERED:
            assert number.startswith("3702")
    assert qingdao / len(persons) > 0.8
    assert len({p.id_digest for p in persons}) == len(persons)


def test_phones_are_unique_mobile_numbers_and_young_children_have_none(demo):
    phones = [p.phone_plain() for p in Person.objects.exclude(phone_cipher="")]
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)
    assert len(set(phones)) == len(phones) > 1_500
    assert not Person.objects.filter(birth_date__year__gte=2015).exclude(phone_cipher="").exists()


def test_every_plate_is_a_ga_36_plate_and_new_energy_plates_are_green(demo):
    plates = list(Vehicle.objects.values_list("plate", "colour"))
    for plate, colour in plates:
        assert validate_plate(plate) == plate
        assert plate.startswith("鲁")
        assert (colour == PlateColour.GREEN) == plate_is_new_energy(plate)
    assert sum(p.startswith("鲁B") for p, _ in plates) / len(plates) > 0.7
    assert 0 < sum(len(p) == 8 for p, _ in plates) < len(plates) / 2


def test_organisations_cover_everyone_linli_works_with_and_carry_valid_credit_codes(demo):
    kinds = Counter(Organisation.objects.values_list("kind", flat=True))
    assert kinds["property_company"] == 2
    for kind in ("owners_committee", "maintenance_company", "community_office", "street_office",
                 "police_station", "integrator"):
        assert kinds[kind] >= 1, kind
    credit = list(Organisation.objects.values_list("credit_code", flat=True))
    credit += list(RealUnit.objects.values_list("credit_code", flat=True))
    assert all(validate_uscc(code) == code for code in credit)
    assert RealUnit.objects.filter(house__isnull=False).count() >= 3
    assert Compound.objects.filter(owners_committee__isnull=False).exists()


def test_there_is_a_demo_login_for_every_role_with_the_printed_password(demo):
    roles = set(RoleGrant.objects.values_list("role", flat=True))
    assert roles == {str(r) for r in Role} - {Role.RESIDENT}
    assert User.objects.filter(username="admin", is_superuser=True).exists()
    staff = User.objects.filter(kind=AccountKind.STAFF, is_superuser=False)
    assert all(check_password(DEMO_PASSWORD, u.password) for u in staff[:3])
    residents = User.objects.filter(kind=AccountKind.RESIDENT)
    assert residents.count() == 3 and all(u.person_id for u in residents)
    out = io.StringIO()
    district.print_logins(out)
    text = out.getvalue()
    assert DEMO_PASSWORD in text and "/login/" in text
    for username in ("city_admin", "street_fuan", "community_xinghua", "grid_xinghua1", "pm_fukang", "guard",
                     "technician", "cashier", "service", "integrator", "admin"):
        assert username in text
    assert "resident" in text


def test_every_row_is_in_an_intact_audit_chain_that_names_the_demo(demo):
    report = verify_chain()
    assert report.ok, report
    for model in (House, Person, Residency, Vehicle):
        entries = AuditEntry.objects.filter(object_type=model._meta.label_lower, action="create")
        assert entries.count() == model.objects.count()
        assert entries.exclude(context__source="demo").count() == 0


def test_the_same_seed_gives_the_same_names_and_id_digests(demo):
    spec = district.COMPOUNDS[0]
    _, households = district.plan_demo_compound(spec, seed=district.DEMO_SEED, registry=codes.Registry())
    planned = [(m.name, Person.id_digest_of(m.id_number)) for h in households for m in h.members]
    stored = list(Person.objects.filter(compound__name=spec.name).order_by("id").values_list("name", "id_digest"))
    assert stored == planned
    _, again = district.plan_demo_compound(spec, seed=district.DEMO_SEED, registry=codes.Registry())
    assert [m.id_number for h in again for m in h.members] == [m.id_number for h in households for m in h.members]
    _, other = district.plan_demo_compound(spec, seed=district.DEMO_SEED + 1, registry=codes.Registry())
    assert [m.name for h in other for m in h.members] != [m.name for h in households for m in h.members]


def test_loading_the_demo_twice_changes_nothing(demo):
    before = Person.objects.count()
    out = io.StringIO()
    assert district.demo_loaded()
    assert district.load_demo(scale=None, out=out) == {}
    assert "already loaded" in out.getvalue()
    assert Person.objects.count() == before


def test_every_kind_of_device_hangs_in_the_showcase_with_secrets_for_the_simulator_and_the_seed_rules(demo):
    from linli.automations.models import Rule
    from linli.devices.models import Device, DeviceKind, Lifecycle
    from linli.simulate.fleet import load_fleet

    showcase = Compound.objects.get(name=district.SHOWCASE)
    devices = Device.objects.filter(compound=showcase).select_related("device_type", "building", "unit")
    assert {d.device_type.kind for d in devices} == set(DeviceKind.values)
    assert {d.lifecycle for d in devices} == {Lifecycle.ACTIVE}
    for d in devices:
        assert (d.unit is None or d.unit.building_id == d.building_id) and (d.floor or 1) >= 1
        assert d.x_m is not None or d.building is not None  # everything can be put on the map
    fleet, _ = load_fleet()
    assert {d.code for d in devices} <= {d.code for d in fleet}
    fire_lane = Rule.objects.get(compound=showcase, definition__trigger__event_type="parking.space_occupancy")
    watched = next(c["value"] for c in fire_lane.definition["conditions"] if c["field"] == "device.code")
    assert set(watched) == set(devices.filter(name__startswith="消防通道", device_type__kind="parking_sensor")
                               .values_list("code", flat=True))
    assert "devices of 15 kinds" in demo["output"]


def test_the_demo_residents_find_a_lived_in_portal(demo):
    """Each demo resident has this month's property bill, a repair under way and a parcel at the
    booth; the compound has a published notice, an open survey and an open owners' vote."""
    from linli.billing.models import Bill
    from linli.notices.models import Notice
    from linli.parcels.models import Parcel
    from linli.surveys.models import Survey
    from linli.votes.models import Vote
    from linli.workorders.models import WorkOrder

    showcase = Compound.objects.get(name=district.SHOWCASE)
    residents = list(User.objects.filter(kind=AccountKind.RESIDENT, person__compound=showcase))
    assert len(residents) == 3
    for user in residents:
        houses = Residency.objects.filter(person=user.person, until__isnull=True).values_list("house_id", flat=True)
        assert Bill.objects.filter(house_id__in=houses).exists()
        assert WorkOrder.objects.filter(reporter_person=user.person).exists()
        assert Parcel.objects.filter(house_id__in=houses, status="waiting").exists()
    assert Bill.objects.filter(compound=showcase).count() == House.objects.filter(compound=showcase).count()
    assert Notice.objects.filter(compound=showcase, status="published").count() == 1
    assert Survey.objects.filter(compound=showcase, status="open").count() == 1
    assert Vote.objects.filter(compound=showcase, status="open").count() == 1
    assert "property services:" in demo["output"]
