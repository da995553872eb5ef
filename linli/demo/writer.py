"""Turns a compound plan into rows: the place tree through the services (few rows), houses,
persons, residencies, vehicles and consents through validated builders and one audited
bulk insert per table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.db import models, transaction
from django.utils.translation import gettext as _

from linli.core.services import bulk_create_audited, field_error
from linli.demo.generator import TODAY, CompoundPlan, HouseholdPlan, HousePlan, PersonPlan
from linli.people import services as people
from linli.people.identity import IdType
from linli.people.models import Consent, Organisation, Person, Residency, Vehicle
from linli.places import addresses
from linli.places import services as places
from linli.places.models import Building, Compound, Grid, House, Region, Unit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class WrittenCompound:
    compound: Compound
    counts: dict[str, int]
    # Saved persons per household, in plan order (used to pick demo resident accounts).
    persons: list[list[Person]] = field(default_factory=list)


M = TypeVar("M", bound=models.Model)


def validated(instance: M) -> M:
    """Field checks without a query per row: foreign keys point at rows this run just saved,
    and the database still enforces them and every unique constraint."""
    foreign = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    instance.full_clean(exclude=foreign, validate_unique=False, validate_constraints=False)
    return instance


def build_house(*, building: Building, unit: Unit, plan: HousePlan, occupancy: str) -> House:
    if plan.floor == 0 or plan.floor > building.floors_above or plan.floor < -building.floors_below:
        raise field_error("floor", _("楼层超出该楼栋的范围"))
    if plan.inner_area > plan.built_area:
        raise field_error("inner_area", _("套内面积不能大于建筑面积"))
    return validated(House(
        compound_id=unit.compound_id, building=building, unit=unit, number=plan.number, floor=plan.floor,
        built_area=plan.built_area, inner_area=plan.inner_area, use=plan.use, occupancy=occupancy,
        address_code=addresses.house_code(unit, plan.number),
        standard_address=addresses.house_address(unit, plan.number),
    ))


def build_residency(*, person: Person, house: House, plan: PersonPlan, verifier: Any) -> Residency:
    if plan.until is not None and plan.until < plan.since:
        raise field_error("until", _("结束日期不能早于开始日期"))
    checked = plan.since + dt.timedelta(days=3)
    verified = verifier is not None and checked < TODAY
    return validated(Residency(
        compound_id=house.compound_id, person=person, house=house, role=plan.role, since=plan.since,
        until=plan.until, verified_by=verifier if verified else None,
        verified_at=dt.datetime.combine(checked, dt.time(10, 0), tzinfo=SHANGHAI) if verified else None,
    ))


def build_vehicle(*, compound: Compound, house: House, owner: Person, plate: str, colour: str,
                  brand: str) -> Vehicle:
    return validated(Vehicle(compound=compound, plate=people.clean_plate(plate), colour=colour, owner=owner,
                             house=house, brand=brand))


def build_consent(*, person: Person, purpose: str, scope: str, granted_on: dt.date) -> Consent:
    return validated(Consent(compound_id=person.compound_id, person=person, purpose=purpose, scope=scope,
                             granted_at=dt.datetime.combine(granted_on, dt.time(9, 30), tzinfo=SHANGHAI)))


@transaction.atomic
def write_compound(*, actor: Any, community: Region, grid: Grid | None, company: Organisation | None,
                   plan: CompoundPlan, households: list[HouseholdPlan], verifier: Any = None) -> WrittenCompound:
    """One compound in one transaction: place tree, houses, people, cars, consents, shops."""
    compound = places.create_compound(
        actor=actor, community=community, name=plan.name, grid=grid, property_company=company,
        year_built=plan.year_built, address=plan.address, boundary=plan.boundary,
    )
    buildings = {}
    for b in plan.buildings:
        buildings[b.number] = places.create_building(
            actor=actor, compound=compound, number=b.number, floors_above=b.floors, unit_count=b.units,
            name=b.name, height_m=b.height_m, footprint=b.footprint, has_elevator=b.has_elevator,
        )
    units = {(u.building_id, u.number): u for u in Unit.objects.filter(compound=compound)}

    occupancy = {(h.building, h.unit, h.number): h.occupancy for h in households}
    new_houses = []
    for b, h in plan.houses():
        building = buildings[b.number]
        new_houses.append(build_house(building=building, unit=units[(building.pk, h.unit)], plan=h,
                                      occupancy=occupancy[(b.number, h.unit, h.number)]))
    bulk_create_audited(House, new_houses)
    houses = {(b.number, h.unit, h.number): house
              for (b, h), house in zip(plan.houses(), new_houses, strict=True)}

    persons = [
        people.build_person(compound=compound, name=m.name, id_type=IdType.MAINLAND_ID, id_number=m.id_number,
                            phone=m.phone, care_tags=m.care_tags, population_type=m.population_type,
                            ethnicity=m.ethnicity)
        for hh in households for m in hh.members
    ]
    bulk_create_audited(Person, persons)

    residencies, vehicles, consents, grouped = [], [], [], []
    saved = iter(persons)
    for hh in households:
        house = houses[(hh.building, hh.unit, hh.number)]
        members = [next(saved) for _ in hh.members]
        grouped.append(members)
        for plan_person, person in zip(hh.members, members, strict=True):
            residencies.append(build_residency(person=person, house=house, plan=plan_person, verifier=verifier))
            consents.extend(
                build_consent(person=person, purpose=purpose, scope=scope,
                              granted_on=plan_person.since + dt.timedelta(days=7))
                for purpose, scope in plan_person.consents
            )
        vehicles.extend(
            build_vehicle(compound=compound, house=house, owner=members[v.owner], plate=v.plate, colour=v.colour,
                          brand=v.brand)
            for v in hh.vehicles
        )
    bulk_create_audited(Residency, residencies)
    bulk_create_audited(Vehicle, vehicles)
    bulk_create_audited(Consent, consents)

    for shop in plan.shops:
        people.create_real_unit(
            actor=actor, compound=compound, name=shop.name, credit_code=shop.credit_code,
            house=houses[shop.house] if shop.house else None, business_scope=shop.business_scope,
            legal_person=shop.legal_person, employees=shop.employees,
        )
    counts = {"buildings": len(buildings), "houses": len(new_houses), "persons": len(persons),
              "residencies": len(residencies), "vehicles": len(vehicles), "consents": len(consents),
              "real_units": len(plan.shops)}
    return WrittenCompound(compound=compound, counts=counts, persons=grouped)
