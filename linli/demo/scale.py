"""`linli demo --scale N`: N compounds of benchmark data (about 500 households and 1,300
residents each), built by the same planners and writer as the demo district.

Compounds are spread over at least two streets (50 compounds a street, 10 a community) and
at least two property companies (about 35 compounds each, in runs that cross street lines),
so a street officer and a property manager each see a realistic share. One transaction per
compound keeps memory flat.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any, TextIO

from django.db import connection, transaction

from linli.accounts.roles import Role
from linli.core.context import ChangeContext, change_context
from linli.demo import base, generator, names
from linli.demo.staff import StaffAccount, StaffFactory, ensure_admin
from linli.demo.writer import write_compound
from linli.people.models import OrganisationKind
from linli.places import services as places
from linli.places.models import Region

COMPOUNDS_PER_STREET = 50
COMPOUNDS_PER_COMMUNITY = 10
COMPOUNDS_PER_COMPANY = 35
FIRST_STREET = 101  # street codes 370281101…, clear of the demo district's 001 and 002
COMPANY_WORDS = ("海晟", "瑞通", "鑫城", "安泰", "嘉和", "恒安", "佳宁", "德润", "华盛", "宏达", "金鼎", "泰丰")
# Usernames the benchmark signs in as.
STREET_OFFICER = "bench_street_{}"
PROPERTY_MANAGER = "bench_pm_{}"


@dataclass(frozen=True)
class Slot:
    """Where compound number `index` goes."""

    index: int
    street: int
    community: int
    grid: int
    company: int


def layout(n: int) -> tuple[int, int, list[Slot]]:
    """Streets, companies, and a slot per compound: contiguous runs per street and per company."""
    streets = min(n, max(2, math.ceil(n / COMPOUNDS_PER_STREET)))
    companies = min(n, max(2, math.ceil(n / COMPOUNDS_PER_COMPANY)))
    per_street = [n // streets + (1 if i < n % streets else 0) for i in range(streets)]
    slots, index = [], 0
    for street, count in enumerate(per_street):
        for k in range(count):
            community = k // COMPOUNDS_PER_COMMUNITY
            slots.append(Slot(index, street, community, k % 2, index * companies // n))
            index += 1
    return streets, companies, slots


def load_scale(n: int, out: TextIO, *, seed: int) -> dict[str, Any]:
    if n < 1:
        raise ValueError("scale must be at least 1 compound")
    started = time.monotonic()
    rng = random.Random(f"linli-scale/{seed}")
    street_count, company_count, slots = layout(n)
    with change_context(ChangeContext(source="demo", actor="demo")):
        with transaction.atomic():
            admin = ensure_admin()
            registry = base.registry_from_database()
            chain = base.ensure_region_chain(admin)
            if Region.objects.filter(code=_street_code(0)).exists():
                raise RuntimeError("benchmark data is already loaded in this database; start from an empty one")
            streets, communities, grids = _regions(admin, chain.district, slots, street_count)
            companies = [
                base.create_organisation(admin, rng, registry, kind=OrganisationKind.PROPERTY_COMPANY,
                                         name=f"青岛{COMPANY_WORDS[k % len(COMPANY_WORDS)]}物业服务有限公司"
                                         + (f"{k // len(COMPANY_WORDS) + 1}分公司" if k >= len(COMPANY_WORDS) else ""),
                                         code_kind="enterprise", region=chain.district)
                for k in range(company_count)
            ]
            factory = StaffFactory(rng, admin)
            for i, street in enumerate(streets):
                factory.create(StaffAccount(STREET_OFFICER.format(i + 1), Role.STREET_OFFICER, {"region": street}))
            for k, company in enumerate(companies):
                factory.create(StaffAccount(PROPERTY_MANAGER.format(k + 1), Role.PROPERTY_MANAGER,
                                            {"organisation": company}))
        out.write(f"Benchmark district: {n} compounds in {street_count} streets, {company_count} property companies\n")
        totals: dict[str, Any] = {"compounds": 0}
        compound_names = _compound_names(random.Random(f"linli-scale/{seed}/names"), n)
        for slot in slots:
            cr = random.Random(f"linli-scale/{seed}/{slot.index}")
            plan = generator.plan_compound(
                cr, name=compound_names[slot.index], year_built=cr.randint(1985, 2005),
                buildings=cr.randint(14, 18), address=f"胶州市{cr.choice(names.COMPOUND_PREFIXES)}路{cr.randint(1, 299)}号",
                centre=(round(120.00 + cr.uniform(0, 0.08), 6), round(36.25 + cr.uniform(0, 0.06), 6)),
                shops=2, registry=registry,
            )
            households = generator.plan_households(cr, plan, registry)
            done = write_compound(actor=admin, community=communities[(slot.street, slot.community)],
                                  grid=grids[(slot.street, slot.community)][slot.grid],
                                  company=companies[slot.company], plan=plan, households=households,
                                  verifier=admin)
            totals["compounds"] += 1
            for key, value in done.counts.items():
                totals[key] = totals.get(key, 0) + value
            if (slot.index + 1) % 10 == 0 or slot.index + 1 == n:
                out.write(f"  {slot.index + 1}/{n} compounds, {totals['houses']:,} houses, "
                          f"{totals['persons']:,} persons ({time.monotonic() - started:.0f} s)\n")
                out.flush()
    refresh_statistics()
    totals["seconds"] = round(time.monotonic() - started, 1)
    out.write(f"Benchmark data loaded in {totals['seconds']} s.\n")
    return totals


def refresh_statistics() -> None:
    """What autovacuum would do soon after a bulk load, done now so the data is measured as it
    will run: on PostgreSQL, without the visibility map COUNT(*) over 130,000 persons is a
    105 MB sequential scan (~45 ms) instead of an index-only scan (~3 ms)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
        elif connection.vendor == "sqlite":
            cur.execute("PRAGMA optimize")


def _street_code(i: int) -> str:
    return f"{base.DISTRICT[0]}{FIRST_STREET + i:03d}"


def _regions(admin: Any, district: Region, slots: list[Slot], street_count: int
             ) -> tuple[list[Region], dict[tuple[int, int], Region], dict[tuple[int, int], list[Any]]]:
    streets = []
    for i in range(street_count):
        name = names.STREET_NAMES[i] if i < len(names.STREET_NAMES) else f"新区第{i + 1}"
        streets.append(places.create_region(actor=admin, level="street", code=_street_code(i),
                                            name=f"{name}街道", parent=district))
    communities, grids = {}, {}
    for key in sorted({(s.street, s.community) for s in slots}):
        street, k = key
        prefix = names.COMMUNITY_PREFIXES[(street * 7 + k) % len(names.COMMUNITY_PREFIXES)]
        suffix = "" if k < len(names.COMMUNITY_PREFIXES) else str(k)
        community = places.create_region(actor=admin, level="community", code=f"{_street_code(street)}{k + 1:03d}",
                                         name=f"{prefix}{suffix}社区", parent=streets[street])
        communities[key] = community
        grids[key] = [places.create_grid(actor=admin, community=community, code=f"{community.code}G{g + 1:02d}",
                                         name=f"{community.name}第{'一二'[g]}网格") for g in range(2)]
    return streets, communities, grids


def _compound_names(rng: random.Random, n: int) -> list[str]:
    pool = [p + s for p in names.COMPOUND_PREFIXES for s in names.COMPOUND_SUFFIXES]
    rng.shuffle(pool)
    return [pool[i % len(pool)] + (f"{i // len(pool) + 1}期" if i >= len(pool) else "") for i in range(n)]
