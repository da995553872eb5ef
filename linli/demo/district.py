"""`linli demo`: a deterministic demo district modelled on the seed deployment in Jiaozhou
(胶州市), or, with `--scale N`, N compounds of benchmark data built by the same code.

The demo: two streets, three communities, five compounds (the showcase 阜康花园 has twenty
walk-up blocks), about 1,000 households and 2,600 residents, their cars, the organisations
Linli works with, and one account for every role.
"""

from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from django.db import transaction

from linli.accounts import services as accounts
from linli.accounts.models import AccountKind, User
from linli.accounts.roles import Role
from linli.core.context import ChangeContext, change_context
from linli.demo import base, generator
from linli.demo.codes import Registry
from linli.demo.devices import register_demo_devices
from linli.demo.property import seed_property_services
from linli.demo.staff import ADMIN_USERNAME, DEMO_PASSWORD, StaffAccount, StaffFactory, ensure_admin
from linli.demo.writer import WrittenCompound, write_compound
from linli.people.models import OrganisationKind, ResidencyRole
from linli.places import services as places
from linli.places.models import Compound, Occupancy

DEMO_SEED = 20_240_901


@dataclass(frozen=True)
class CommunitySpec:
    code: str
    name: str
    slug: str
    grids: int


@dataclass(frozen=True)
class StreetSpec:
    code: str
    name: str
    slug: str
    communities: tuple[CommunitySpec, ...]


@dataclass(frozen=True)
class CompoundSpec:
    name: str
    community: str  # community code
    grid: int  # index of the grid within its community
    company: str  # key of COMPANIES
    buildings: int
    floors: tuple[int, int]
    units: tuple[int, int]
    year_built: int
    address: str
    centre: tuple[float, float]
    shops: int = 0
    shopfronts: bool = False
    committee: bool = False


STREETS = (
    StreetSpec("370281001", "阜安街道", "fuan", (
        CommunitySpec("370281001001", "兴华社区", "xinghua", 2),
        CommunitySpec("370281001002", "新华社区", "xinhua", 1),
    )),
    StreetSpec("370281002", "中云街道", "zhongyun", (
        CommunitySpec("370281002001", "云溪社区", "yunxi", 1),
    )),
)
# Property companies: key → (name, street code where registered).
COMPANIES = {
    "fukang": ("青岛阜康物业服务有限公司", "370281001"),
    "zhongyun": ("胶州市中云物业管理有限公司", "370281002"),
}
SHOWCASE = "阜康花园"
COMPOUNDS = (
    CompoundSpec(SHOWCASE, "370281001001", 0, "fukang", 20, (6, 7), (2, 3), 1998, "胶州市福州南路218号",
                 (120.0335, 36.2861), shops=4, shopfronts=True, committee=True),
    CompoundSpec("兴华小区", "370281001001", 1, "fukang", 5, (6, 6), (2, 2), 1992, "胶州市兴华路36号",
                 (120.0291, 36.2902), shops=1),
    CompoundSpec("北关新村", "370281001002", 0, "zhongyun", 4, (6, 6), (2, 2), 1995, "胶州市北关路9号",
                 (120.0302, 36.2955), shops=1),
    CompoundSpec("云溪苑", "370281002001", 0, "zhongyun", 4, (6, 7), (2, 2), 2003, "胶州市云溪河北路77号",
                 (120.0418, 36.2793), shops=1, committee=True),
    CompoundSpec("中云里", "370281002001", 0, "zhongyun", 3, (5, 6), (2, 2), 1988, "胶州市兰州东路15号",
                 (120.0456, 36.2760)),
)
SHOWCASE_STAFF = (
    ("guard", Role.GUARD), ("technician", Role.TECHNICIAN), ("cashier", Role.CASHIER),
    ("service", Role.CUSTOMER_SERVICE), ("integrator", Role.INTEGRATOR),
)


# Public entry points (called by `linli demo` and `linli run --demo`) ---------------------------


def load_demo(scale: int | None = None, out: TextIO = sys.stdout, *, seed: int | None = None) -> dict[str, Any]:
    """Build the demo district, or `scale` compounds of benchmark data; returns counts and seconds."""
    if scale is not None:
        from linli.demo.scale import load_scale

        return load_scale(scale, out, seed=DEMO_SEED if seed is None else seed)
    if demo_loaded():
        out.write("The demo district is already loaded.\n")
        return {}
    return build_demo(out, seed=DEMO_SEED if seed is None else seed)


def demo_loaded() -> bool:
    return Compound.objects.filter(name=SHOWCASE, community__code=COMPOUNDS[0].community).exists()


def print_logins(out: TextIO) -> None:
    """Where to sign in, and one demo account per role."""
    host = os.environ.get("LINLI_HOST", "127.0.0.1")
    port = os.environ.get("LINLI_PORT", "8000")
    out.write(f"\nLinli demo — sign in at http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/login/\n")  # noqa: S104
    out.write(f"Password for every staff account below: {DEMO_PASSWORD}\n\n")
    rows = [("superuser", ADMIN_USERNAME, "全部 (platform administrator)")]
    for user in User.objects.filter(kind=AccountKind.STAFF, username__in=_demo_usernames()).prefetch_related(
            "grants__region", "grants__grid", "grants__compound", "grants__organisation"):
        for grant in user.grants.all():
            node = grant.region or grant.grid or grant.compound or grant.organisation
            rows.append((grant.role, user.username, str(node)))
    order = {str(r): i for i, r in enumerate(Role)}
    rows.sort(key=lambda r: (order.get(r[0], -1), r[1]))
    for role, username, node in rows:
        out.write(f"  {role:<18} {username:<20} {node}\n")
    residents = (User.objects.filter(kind=AccountKind.RESIDENT, person__compound__name=SHOWCASE)
                 .select_related("person").order_by("id")[:3])
    if residents:
        out.write("\nResidents sign in with their phone number and a one-time code (the demo SMS provider\n"
                  "writes the code to the server log):\n")
    for user in residents:
        out.write(f"  resident           {user.person.phone_plain():<20} {user.person.name}\n")
    out.flush()


def _demo_usernames() -> list[str]:
    names = ["city_admin"]
    for street in STREETS:
        names.append(f"street_{street.slug}")
        for community in street.communities:
            names.append(f"community_{community.slug}")
            names.extend(f"grid_{community.slug}{k + 1}" for k in range(community.grids))
    names.extend(f"pm_{key}" for key in COMPANIES)
    names.extend(username for username, _ in SHOWCASE_STAFF)
    return names


# Building the demo ---------------------------------------------------------------------------


def build_demo(out: TextIO, *, seed: int = DEMO_SEED, compounds: tuple[CompoundSpec, ...] = COMPOUNDS
               ) -> dict[str, Any]:
    """The whole demo in one transaction, so a failed load leaves nothing half-built."""
    started = time.monotonic()
    rng = random.Random(f"linli-demo/{seed}")
    with change_context(ChangeContext(source="demo", actor="demo")), transaction.atomic():
        admin = ensure_admin()
        registry = base.registry_from_database()
        chain = base.ensure_region_chain(admin)
        streets, communities, grids = {}, {}, {}
        for s in STREETS:
            streets[s.code] = places.create_region(actor=admin, level="street", code=s.code, name=s.name,
                                                   parent=chain.district)
            for c in s.communities:
                communities[c.code] = places.create_region(actor=admin, level="community", code=c.code,
                                                           name=c.name, parent=streets[s.code])
                grids[c.code] = [
                    places.create_grid(actor=admin, community=communities[c.code], code=f"{c.code}G{k + 1:02d}",
                                       name=f"{c.name}第{'一二三四五'[k]}网格")
                    for k in range(c.grids)
                ]
        companies = {
            key: base.create_organisation(admin, rng, registry, kind=OrganisationKind.PROPERTY_COMPANY, name=name,
                                          code_kind="enterprise", region=streets[street])
            for key, (name, street) in COMPANIES.items()
        }
        _create_offices(admin, rng, registry, chain.district, streets, communities)
        written: list[WrittenCompound] = []
        households_of: list[list[generator.HouseholdPlan]] = []
        for spec in compounds:
            plan, households = plan_demo_compound(spec, seed=seed, registry=registry)
            done = write_compound(actor=admin, community=communities[spec.community],
                                  grid=grids[spec.community][spec.grid], company=companies[spec.company],
                                  plan=plan, households=households, verifier=admin)
            if spec.committee:
                _owners_committee(admin, rng, registry, done.compound)
            written.append(done)
            households_of.append(households)
            out.write(f"  {spec.name}: {_describe(done.counts)}\n")
        _create_accounts(admin, rng, chain, streets, communities, grids, companies, written[0].compound)
        _create_residents(admin, written[0], households_of[0])
        register_demo_devices(actor=admin, compound=written[0].compound, out=out)
        manager = User.objects.get(username=f"pm_{compounds[0].company}")
        seed_property_services(manager=manager, compound=written[0].compound, out=out)
    totals = _totals(written)
    totals["seconds"] = round(time.monotonic() - started, 1)
    out.write(f"Demo district loaded in {totals['seconds']} s: {_describe(totals)}\n")
    out.flush()
    return totals


def plan_demo_compound(spec: CompoundSpec, *, seed: int, registry: Registry
                       ) -> tuple[generator.CompoundPlan, list[generator.HouseholdPlan]]:
    """A demo compound and its households; each compound has its own generator, seeded by name."""
    rng = random.Random(f"linli-demo/{seed}/{spec.name}")
    plan = generator.plan_compound(
        rng, name=spec.name, year_built=spec.year_built, buildings=spec.buildings, address=spec.address,
        centre=spec.centre, floors=spec.floors, units=spec.units, shops=spec.shops, shopfronts=spec.shopfronts,
        registry=registry,
    )
    return plan, generator.plan_households(rng, plan, registry)


def _create_offices(admin: Any, rng: random.Random, registry: Registry, district: Any, streets: dict,
                    communities: dict) -> None:
    org = base.create_organisation
    for s in STREETS:
        org(admin, rng, registry, kind=OrganisationKind.STREET_OFFICE, name=f"胶州市人民政府{s.name}办事处",
            code_kind="government", region=streets[s.code])
        for c in s.communities:
            org(admin, rng, registry, kind=OrganisationKind.COMMUNITY_OFFICE, name=f"{s.name}{c.name}居民委员会",
                code_kind="other", region=communities[c.code])
    org(admin, rng, registry, kind=OrganisationKind.POLICE_STATION, name="胶州市公安局阜安派出所",
        code_kind="government", region=streets[STREETS[0].code])
    org(admin, rng, registry, kind=OrganisationKind.MAINTENANCE_COMPANY, name="青岛海川电梯维保有限公司",
        code_kind="enterprise", region=district)
    org(admin, rng, registry, kind=OrganisationKind.INTEGRATOR, name="青岛邻里智能科技有限公司",
        code_kind="enterprise", region=district)


def _owners_committee(admin: Any, rng: random.Random, registry: Registry, compound: Compound) -> None:
    committee = base.create_organisation(admin, rng, registry, kind=OrganisationKind.OWNERS_COMMITTEE,
                                         name=f"{compound.name}业主委员会", code_kind="other", compound=compound)
    places.update_compound(actor=admin, compound=compound, owners_committee=committee)


def _create_accounts(admin: Any, rng: random.Random, chain: base.RegionChain, streets: dict, communities: dict,
                     grids: dict, companies: dict, showcase: Compound) -> None:
    factory = StaffFactory(rng, admin)
    wanted = [StaffAccount("city_admin", Role.CITY_ADMIN, {"region": chain.city})]
    for s in STREETS:
        wanted.append(StaffAccount(f"street_{s.slug}", Role.STREET_OFFICER, {"region": streets[s.code]}))
        for c in s.communities:
            wanted.append(StaffAccount(f"community_{c.slug}", Role.COMMUNITY_OFFICER, {"region": communities[c.code]}))
            wanted.extend(StaffAccount(f"grid_{c.slug}{k + 1}", Role.GRID_WORKER, {"grid": grid})
                          for k, grid in enumerate(grids[c.code]))
    wanted.extend(StaffAccount(f"pm_{key}", Role.PROPERTY_MANAGER, {"organisation": org})
                  for key, org in companies.items())
    wanted.extend(StaffAccount(username, role, {"compound": showcase}) for username, role in SHOWCASE_STAFF)
    for account in wanted:
        factory.create(account)


def _create_residents(admin: Any, showcase: WrittenCompound, households: list[generator.HouseholdPlan]) -> None:
    """Three resident accounts: a family's owner, an elderly person living alone, and a tenant."""
    picks: dict[str, Any] = {}
    for household, persons in zip(households, showcase.persons, strict=True):
        head = household.members[0] if household.members else None
        if head is None or not head.phone or head.until is not None:
            continue
        if household.occupancy == Occupancy.OWNER_OCCUPIED and len(household.members) >= 3:
            picks.setdefault("family", persons[0])
        elif "elderly_alone" in head.care_tags:
            picks.setdefault("elderly", persons[0])
        elif head.role == ResidencyRole.TENANT:
            picks.setdefault("tenant", persons[0])
    for key in ("family", "elderly", "tenant"):
        if key in picks:
            accounts.create_resident_account(actor=admin, person=picks[key])


def _totals(written: list[WrittenCompound]) -> dict[str, Any]:
    totals: dict[str, Any] = {"compounds": len(written)}
    for w in written:
        for key, value in w.counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def _describe(counts: dict[str, Any]) -> str:
    keys = ("compounds", "buildings", "houses", "persons", "residencies", "vehicles", "consents", "real_units")
    return ", ".join(f"{counts[k]:,} {k}" for k in keys if k in counts)
