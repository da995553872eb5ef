"""Plans for demo compounds and their households, as plain data and without the database.

A plan is a pure function of its random generator and the `Registry` of numbers already
issued, so the same seed always gives the same buildings, names, ID numbers and plates.
`linli.demo.writer` turns a plan into rows.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from linli.demo import codes, names
from linli.people.models import CareTag, ConsentPurpose, PopulationType, ResidencyRole
from linli.people.plates import PlateColour
from linli.places.models import HouseUse, Occupancy

# The demo's "today": ages, move-in dates and leases are computed from it so reruns match.
TODAY = dt.date(2025, 6, 30)

CARE_MONITORING_SCOPE = "独居老人关怀监测：门磁、燃气报警、紧急呼叫按钮"


@dataclass(frozen=True)
class HousePlan:
    unit: str
    number: str
    floor: int
    built_area: Decimal
    inner_area: Decimal
    use: str = HouseUse.RESIDENTIAL


@dataclass(frozen=True)
class BuildingPlan:
    number: str
    floors: int
    units: int
    houses: tuple[HousePlan, ...]
    height_m: Decimal
    footprint: list[list[float]]
    has_elevator: bool = False
    name: str = ""


@dataclass(frozen=True)
class ShopPlan:
    name: str
    business_scope: str
    legal_person: str
    employees: int
    credit_code: str
    house: tuple[str, str, str] | None = None  # (building, unit, house number) of a shopfront


@dataclass(frozen=True)
class CompoundPlan:
    name: str
    year_built: int
    address: str
    boundary: list[list[float]]
    buildings: tuple[BuildingPlan, ...]
    shops: tuple[ShopPlan, ...] = ()

    def houses(self) -> list[tuple[BuildingPlan, HousePlan]]:
        return [(b, h) for b in self.buildings for h in b.houses]


@dataclass
class PersonPlan:
    name: str
    id_number: str
    male: bool
    birth: dt.date
    phone: str
    population_type: str
    role: str
    since: dt.date
    until: dt.date | None = None
    care_tags: list[str] = field(default_factory=list)
    ethnicity: str = "汉族"
    consents: list[tuple[str, str]] = field(default_factory=list)  # (purpose, scope)

    @property
    def age(self) -> int:
        return age_on(self.birth, TODAY)


@dataclass(frozen=True)
class VehiclePlan:
    plate: str
    colour: str
    brand: str
    owner: int  # index into the household's members


@dataclass
class HouseholdPlan:
    building: str
    unit: str
    number: str
    occupancy: str
    members: list[PersonPlan] = field(default_factory=list)
    vehicles: list[VehiclePlan] = field(default_factory=list)


# Compound layout -----------------------------------------------------------------------------

# Typical flat sizes (built area, m²) of 1990s walk-up blocks: position 01 and 02 on a landing.
_FLAT_TYPES = ((56.3, 72.8), (62.1, 62.1), (68.5, 86.2), (75.4, 91.6), (71.2, 88.7), (88.7, 105.3))
_UNIT_WIDTH_M, _DEPTH_M, _ROW_GAP_M, _COL_GAP_M = 13.5, 11.0, 20.0, 12.0
_METRES_PER_DEGREE = 111_320.0


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def plan_compound(rng: random.Random, *, name: str, year_built: int, buildings: int, address: str,
                  centre: tuple[float, float], floors: tuple[int, int] = (6, 7), units: tuple[int, int] = (2, 3),
                  houses_per_landing: int = 2, shops: int = 0, shopfronts: bool = False,
                  registry: codes.Registry) -> CompoundPlan:
    """Walk-up blocks in rows of four, optionally with a one-storey row of shopfronts."""
    plans = []
    per_row = 4
    for i in range(buildings):
        n_floors, n_units = rng.randint(*floors), rng.randint(*units)
        small, large = rng.choice(_FLAT_TYPES)
        jitter = Decimal(str(round(rng.uniform(-1.5, 1.5), 2)))
        areas = [Decimal(str(small)) + jitter, Decimal(str(large)) + jitter]
        houses = tuple(
            _house(rng, unit=str(u), floor=f, position=p, built_area=areas[(p - 1) % 2])
            for u in range(1, n_units + 1) for f in range(1, n_floors + 1) for p in range(1, houses_per_landing + 1)
        )
        x, y = (i % per_row) * (3 * _UNIT_WIDTH_M + _COL_GAP_M), (i // per_row) * (_DEPTH_M + _ROW_GAP_M)
        plans.append(BuildingPlan(
            number=str(i + 1), floors=n_floors, units=n_units, houses=houses,
            height_m=Decimal(str(round(n_floors * 2.9 + 0.6, 2))),
            footprint=_rectangle(x, y, n_units * _UNIT_WIDTH_M, _DEPTH_M),
            # 加装电梯: a few blocks got a lift during renovation.
            has_elevator=rng.random() < 0.15,
        ))
    shop_plans: list[ShopPlan] = []
    if shops:
        if shopfronts:
            number = str(buildings + 1)
            fronts = tuple(
                HousePlan(unit="1", number=f"1{k:02d}", floor=1, built_area=Decimal("45.00"),
                          inner_area=Decimal("40.50"), use=HouseUse.COMMERCIAL)
                for k in range(1, shops + 1)
            )
            y = math.ceil(buildings / per_row) * (_DEPTH_M + _ROW_GAP_M)
            plans.append(BuildingPlan(number=number, floors=1, units=1, houses=fronts, name="沿街商铺",
                                      height_m=Decimal("4.50"), footprint=_rectangle(0, y, shops * 8.0, 10.0)))
        kinds = rng.sample(names.SHOPS, k=shops)
        shop_plans = [_shop(rng, registry, name, k, kind, number if shopfronts else None)
                      for k, kind in enumerate(kinds, start=1)]
    rows = math.ceil(buildings / per_row)
    width, height = per_row * (3 * _UNIT_WIDTH_M + _COL_GAP_M) + 20, (rows + 1) * (_DEPTH_M + _ROW_GAP_M) + 20
    return CompoundPlan(name=name, year_built=year_built, address=address, buildings=tuple(plans),
                        boundary=_boundary(centre, width, height), shops=tuple(shop_plans))


def _house(rng: random.Random, *, unit: str, floor: int, position: int, built_area: Decimal) -> HousePlan:
    inner = (built_area * Decimal(str(round(rng.uniform(0.78, 0.85), 3)))).quantize(Decimal("0.01"))
    return HousePlan(unit=unit, number=f"{floor}{position:02d}", floor=floor,
                     built_area=built_area.quantize(Decimal("0.01")), inner_area=inner)


def _rectangle(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[round(x, 1), round(y, 1)], [round(x + w, 1), round(y, 1)], [round(x + w, 1), round(y + h, 1)],
            [round(x, 1), round(y + h, 1)]]


def _boundary(centre: tuple[float, float], width_m: float, height_m: float) -> list[list[float]]:
    lng, lat = centre
    dx = width_m / 2 / (_METRES_PER_DEGREE * math.cos(math.radians(lat)))
    dy = height_m / 2 / _METRES_PER_DEGREE
    return [[round(lng - dx, 6), round(lat - dy, 6)], [round(lng + dx, 6), round(lat - dy, 6)],
            [round(lng + dx, 6), round(lat + dy, 6)], [round(lng - dx, 6), round(lat + dy, 6)]]


def _shop(rng: random.Random, registry: codes.Registry, compound: str, k: int, kind_scope: tuple[str, str],
          building: str | None) -> ShopPlan:
    kind, scope = kind_scope
    owner = names.person_name(rng, male=rng.random() < 0.5, birth_year=rng.randint(1965, 1995))
    # A small shop is usually a sole trader (个体工商户, 92…), a chain store an enterprise (91…).
    sole = kind not in ("大药房", "快递驿站")
    return ShopPlan(
        name=f"{compound}{owner[0]}记{kind}" if sole else f"{compound}{kind}",
        business_scope=scope, legal_person=owner, employees=rng.randint(1, 6),
        credit_code=codes.credit_code(rng, registry, kind="sole_trader" if sole else "enterprise"),
        house=(building, "1", f"1{k:02d}") if building else None,
    )


# Households ----------------------------------------------------------------------------------

# Who lives in an owner-occupied flat in an old compound (over 30% of residents are over 60).
_OWNER_HOUSEHOLDS = (
    ("elderly_couple", 24), ("elderly_alone", 8), ("couple_child", 19), ("couple_two_children", 7),
    ("three_generations", 19), ("couple", 5), ("grandparents_grandchild", 3), ("single", 3),
    ("couple_adult_child", 12),
)
_TENANT_HOUSEHOLDS = (("single", 40), ("couple", 25), ("couple_child", 20), ("sharing", 15))
_VACANT, _RENTED = 0.07, 0.18


class _People:
    """Makes the persons of one household, sharing the compound's registry and clock."""

    def __init__(self, rng: random.Random, registry: codes.Registry, *, building: str, unit: str,
                 year_built: int):
        self.rng, self.registry = rng, registry
        self.door = f"{building}号楼{unit}单元门禁"
        self.year_built = year_built

    def person(self, *, age: int, male: bool, role: str, since: dt.date, registered: bool,
               family_name: str | None = None) -> PersonPlan:
        rng = self.rng
        age = max(0, min(age, 99))
        birth = date_between(rng, _years_before(TODAY, age + 1) + dt.timedelta(days=1), _years_before(TODAY, age))
        number = codes.mainland_id(rng, self.registry, region=codes.id_region(rng, registered=registered),
                                   birth=birth, male=male)
        has_phone = age >= 14 and (age < 85 or rng.random() < 0.6)
        person = PersonPlan(
            name=names.person_name(rng, male=male, birth_year=birth.year, family_name=family_name),
            id_number=number, male=male, birth=birth,
            phone=codes.mobile(rng, self.registry) if has_phone else "",
            population_type=PopulationType.REGISTERED if registered else PopulationType.FLOATING,
            role=role, since=max(since, birth), ethnicity=names.ethnicity(rng),
        )
        self._tag(person)
        return person

    def _tag(self, p: PersonPlan) -> None:
        rng = self.rng
        if p.age >= 80:
            p.care_tags.append(CareTag.ELDERLY)
        if rng.random() < 0.015:
            p.care_tags.append(CareTag.DISABLED)
        if p.male and 40 <= p.age <= 78 and rng.random() < 0.03:
            p.care_tags.append(CareTag.VETERAN)
        # 人脸识别 needs its own consent; about one adult in five has given it.
        if 18 <= p.age <= 75 and p.until is None and rng.random() < 0.2:
            p.consents.append((ConsentPurpose.FACE_ACCESS, self.door))

    def owner_since(self, head_age: int) -> dt.date:
        earliest = max(dt.date(self.year_built + 1, 1, 1), _years_before(TODAY, head_age - 22))
        return date_between(self.rng, earliest, TODAY - dt.timedelta(days=60))


def _years_before(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year - years)


def plan_households(rng: random.Random, plan: CompoundPlan, registry: codes.Registry) -> list[HouseholdPlan]:
    """One entry per house: who lives there (nobody if vacant), their cars and consents."""
    result = []
    for building, house in plan.houses():
        if house.use != HouseUse.RESIDENTIAL:
            result.append(HouseholdPlan(building.number, house.unit, house.number, Occupancy.OTHER))
            continue
        people = _People(rng, registry, building=building.number, unit=house.unit, year_built=plan.year_built)
        draw = rng.random()
        if draw < _VACANT:
            household = HouseholdPlan(building.number, house.unit, house.number, Occupancy.VACANT)
        elif draw < _VACANT + _RENTED:
            kind = _pick(rng, _TENANT_HOUSEHOLDS)
            household = HouseholdPlan(building.number, house.unit, house.number, Occupancy.RENTED,
                                      _TENANTS[kind](people))
            if rng.random() < 0.25:
                household.members.append(_former_tenant(people, household.members[0].since))
        else:
            kind = _pick(rng, _OWNER_HOUSEHOLDS)
            household = HouseholdPlan(building.number, house.unit, house.number, Occupancy.OWNER_OCCUPIED,
                                      _OWNERS[kind](people))
            if rng.random() < 0.02:
                household.members[0].care_tags.append(CareTag.LOW_INCOME)
        household.vehicles = _vehicles(rng, registry, household)
        result.append(household)
    return result


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _couple(p: _People, *, head_age: int, role: str, registered: bool, since: dt.date | None = None
            ) -> list[PersonPlan]:
    rng = p.rng
    head_male = rng.random() < 0.75
    since = since or p.owner_since(head_age)
    head = p.person(age=head_age, male=head_male, role=role, since=since, registered=registered)
    spouse_role = ResidencyRole.FAMILY if role == ResidencyRole.OWNER else role
    # Wives are usually a few years younger than their husbands.
    gap = rng.randint(-1, 4)
    spouse = p.person(age=head_age - gap if head_male else head_age + gap, male=not head_male, role=spouse_role,
                      since=since,
                      registered=registered if rng.random() < 0.9 else not registered)
    return [head, spouse]


def _children(p: _People, parents: list[PersonPlan], count: int, *, role: str = ResidencyRole.FAMILY,
              max_age: int = 17) -> list[PersonPlan]:
    rng = p.rng
    father = next((m for m in parents if m.male), parents[0])
    kids = []
    youngest_parent = min(m.age for m in parents)
    for _ in range(count):
        age = min(max_age, max(0, youngest_parent - rng.randint(24, 34)))
        family = father.name[0] if rng.random() < 0.9 else None
        kids.append(p.person(age=age, male=rng.random() < 0.52, role=role, since=parents[0].since,
                             registered=parents[0].population_type == PopulationType.REGISTERED,
                             family_name=family))
    return kids


def _elderly_couple(p: _People) -> list[PersonPlan]:
    return _couple(p, head_age=p.rng.randint(60, 86), role=ResidencyRole.OWNER, registered=p.rng.random() < 0.97)


def _elderly_alone(p: _People) -> list[PersonPlan]:
    rng = p.rng
    age = rng.randint(70, 93)
    person = p.person(age=age, male=rng.random() < 0.3, role=ResidencyRole.OWNER, since=p.owner_since(age),
                      registered=True)
    person.care_tags.insert(0, CareTag.ELDERLY_ALONE)
    if rng.random() < 0.8:
        person.consents.append((ConsentPurpose.CARE_MONITORING, CARE_MONITORING_SCOPE))
    return [person]


def _couple_child(p: _People, children: int = 1) -> list[PersonPlan]:
    parents = _couple(p, head_age=p.rng.randint(28, 50), role=ResidencyRole.OWNER, registered=p.rng.random() < 0.9)
    return parents + _children(p, parents, children)


def _three_generations(p: _People) -> list[PersonPlan]:
    rng = p.rng
    parents = _couple(p, head_age=rng.randint(30, 48), role=ResidencyRole.OWNER, registered=rng.random() < 0.92)
    members = parents + _children(p, parents, 1 if rng.random() < 0.75 else 2)
    head = parents[0]
    grand_age = head.age + rng.randint(24, 32)
    moved_in = date_between(rng, head.since, TODAY - dt.timedelta(days=30))
    grandpa_alive = rng.random() < 0.7
    if grandpa_alive:
        members.append(p.person(age=grand_age, male=True, role=ResidencyRole.FAMILY, since=moved_in,
                                registered=rng.random() < 0.8, family_name=head.name[0] if head.male else None))
    if not grandpa_alive or rng.random() < 0.85:
        members.append(p.person(age=grand_age - rng.randint(0, 4), male=False, role=ResidencyRole.FAMILY,
                                since=moved_in, registered=rng.random() < 0.8))
    return members


def _couple_only(p: _People) -> list[PersonPlan]:
    return _couple(p, head_age=p.rng.randint(25, 45), role=ResidencyRole.OWNER, registered=p.rng.random() < 0.88)


def _grandparents_grandchild(p: _People) -> list[PersonPlan]:
    grandparents = _couple(p, head_age=p.rng.randint(58, 75), role=ResidencyRole.OWNER, registered=True)
    child = p.person(age=p.rng.randint(4, 15), male=p.rng.random() < 0.52, role=ResidencyRole.FAMILY,
                     since=grandparents[0].since, registered=True, family_name=grandparents[0].name[0])
    # 留守儿童: the parents work elsewhere and the grandparents bring the child up.
    child.care_tags.append(CareTag.CHILD_LEFT_BEHIND)
    return [*grandparents, child]


def _single(p: _People) -> list[PersonPlan]:
    age = p.rng.randint(25, 60)
    return [p.person(age=age, male=p.rng.random() < 0.55, role=ResidencyRole.OWNER, since=p.owner_since(age),
                     registered=p.rng.random() < 0.85)]


def _couple_adult_child(p: _People) -> list[PersonPlan]:
    parents = _couple(p, head_age=p.rng.randint(50, 66), role=ResidencyRole.OWNER, registered=p.rng.random() < 0.92)
    return parents + _children(p, parents, 1, max_age=34)


_OWNERS: dict[str, Callable[[_People], list[PersonPlan]]] = {
    "elderly_couple": _elderly_couple,
    "elderly_alone": _elderly_alone,
    "couple_child": _couple_child,
    "couple_two_children": lambda p: _couple_child(p, 2),
    "three_generations": _three_generations,
    "couple": _couple_only,
    "grandparents_grandchild": _grandparents_grandchild,
    "single": _single,
    "couple_adult_child": _couple_adult_child,
}


def _lease_start(p: _People) -> dt.date:
    return date_between(p.rng, dt.date(2021, 1, 1), TODAY - dt.timedelta(days=15))


def _tenant_single(p: _People) -> list[PersonPlan]:
    registered = p.rng.random() < 0.15
    return [p.person(age=p.rng.randint(20, 40), male=p.rng.random() < 0.55, role=ResidencyRole.TENANT,
                     since=_lease_start(p), registered=registered)]


def _tenant_couple(p: _People, children: int = 0) -> list[PersonPlan]:
    parents = _couple(p, head_age=p.rng.randint(24, 42), role=ResidencyRole.TENANT, registered=p.rng.random() < 0.15,
                      since=_lease_start(p))
    return parents + _children(p, parents, children, role=ResidencyRole.CO_RESIDENT)


def _tenants_sharing(p: _People) -> list[PersonPlan]:
    rng = p.rng
    since = _lease_start(p)
    male = rng.random() < 0.6  # flat-shares are usually all men or all women
    lead = p.person(age=rng.randint(20, 35), male=male, role=ResidencyRole.TENANT, since=since, registered=False)
    others = [p.person(age=rng.randint(19, 35), male=male, role=ResidencyRole.CO_RESIDENT, since=since,
                       registered=rng.random() < 0.1) for _ in range(rng.randint(1, 2))]
    return [lead, *others]


_TENANTS: dict[str, Callable[[_People], list[PersonPlan]]] = {
    "single": _tenant_single,
    "couple": _tenant_couple,
    "couple_child": lambda p: _tenant_couple(p, 1),
    "sharing": _tenants_sharing,
}


def _former_tenant(p: _People, current_since: dt.date) -> PersonPlan:
    """A tenant whose lease ended before the current one began (kept for the record)."""
    rng = p.rng
    since = date_between(rng, dt.date(2018, 1, 1), current_since - dt.timedelta(days=400))
    person = p.person(age=rng.randint(22, 45), male=rng.random() < 0.55, role=ResidencyRole.TENANT, since=since,
                      registered=False)
    person.until = date_between(rng, since + dt.timedelta(days=180), current_since - dt.timedelta(days=1))
    person.consents.clear()
    return person


# Vehicles ------------------------------------------------------------------------------------


def _vehicles(rng: random.Random, registry: codes.Registry, household: HouseholdPlan) -> list[VehiclePlan]:
    drivers = [i for i, m in enumerate(household.members) if m.until is None and 22 <= m.age <= 72]
    if not drivers:
        return []
    working = any(household.members[i].age < 60 for i in drivers)
    chance = 0.5 if household.occupancy == Occupancy.RENTED else (0.8 if working else 0.3)
    vehicles = []
    for n in range(2):
        if rng.random() >= (chance if n == 0 else 0.12):
            break
        new_energy = rng.random() < 0.2
        vehicles.append(VehiclePlan(
            plate=codes.plate(rng, registry, new_energy=new_energy),
            colour=PlateColour.GREEN if new_energy else PlateColour.BLUE,
            brand=rng.choice(names.NEW_ENERGY_BRANDS if new_energy else names.CAR_BRANDS),
            owner=drivers[n % len(drivers)],
        ))
    return vehicles
