"""Linli benchmarks.

    python benchmarks/run.py api --scale 100 --db sqlite
    python benchmarks/run.py api --scale 100 --db postgres

`api` builds `linli demo --scale N` data into a fresh database (SQLite in a temporary data
dir, or the PostgreSQL database `linli_bench`, dropped and re-created), then calls the list
and detail API in-process with `django.test.Client` and a bearer token, as a property
manager and as a street officer. For every endpoint and page size it reports p50/p99
latency over the timed calls (after a warm-up) and the number of SQL queries per call.
Results: a markdown table on stdout, JSON in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PG_URL = "postgres://postgres@127.0.0.1:5432/linli_bench"

LISTS = (
    "/api/places/compounds",
    "/api/places/buildings",
    "/api/places/houses",
    "/api/people/persons",
    "/api/people/residencies",
    "/api/people/vehicles",
)
DETAILS = ("/api/places/houses/{}", "/api/people/persons/{}", "/api/people/vehicles/{}")
PAGE_SIZES = (10, 50, 100)
# (role, benchmark account created by `linli demo --scale`)
ROLES = (("property_manager", "bench_pm_1"), ("street_officer", "bench_street_1"))


@dataclass
class Measurement:
    role: str
    endpoint: str
    limit: int | None
    rows: int  # rows visible to the role (list count), or ids sampled (detail)
    calls: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    queries: list[int] = field(default_factory=list)  # per call, on a sample of calls
    slowest_sql: list[dict[str, Any]] = field(default_factory=list)

    @property
    def query_range(self) -> str:
        lo, hi = min(self.queries), max(self.queries)
        return str(lo) if lo == hi else f"{lo}–{hi}"


# Database set-up (before Django is imported) --------------------------------------------------


def prepare_environment(ns: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(ns.data_dir) if ns.data_dir else Path(tempfile.mkdtemp(prefix="linli-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["LINLI_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "linli.settings"
    info: dict[str, Any] = {"data_dir": str(data_dir), "temporary": not ns.data_dir}
    if ns.db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        db_file = data_dir / "linli.sqlite3"
        if not ns.skip_load:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        info["database"] = str(db_file)
    else:
        os.environ["DATABASE_URL"] = ns.pg_url
        if not ns.skip_load:
            recreate_postgres(ns.pg_url)
        info["database"] = ns.pg_url
    return info


def _maintenance_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url, name = _maintenance_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url, name = _maintenance_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# Measuring -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def plain_offset_page(qs: Any, query: Any) -> dict[str, Any]:
    """The baseline: slice the full joined queryset at the offset (what `page` did at first)."""
    return {"count": qs.count(), "items": list(qs[query.offset: query.offset + query.limit])}


def use_baseline_pages() -> None:
    """Swap the API's `page` for `plain_offset_page` in every router module (baseline run)."""
    import importlib

    for name in ("linli.core.api", "linli.core.audit_api", "linli.accounts.api", "linli.places.api",
                 "linli.people.api"):
        module = importlib.import_module(name)
        if hasattr(module, "page"):
            module.page = plain_offset_page


def time_calls(client: Any, headers: dict[str, str], paths: list[str], *, warmup: int, sample: int,
               expect_count: int | None = None) -> tuple[list[float], list[int], list[dict[str, Any]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get(path: str) -> Any:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
        return response

    for path in paths[:warmup]:
        get(path)
    elapsed = []
    for path in paths:
        started = time.perf_counter()
        get(path)
        elapsed.append((time.perf_counter() - started) * 1000)
    # Query counts on a sample of the same calls, outside the timed loop (capturing adds overhead).
    counts, slowest = [], []
    for path in paths[:: max(1, len(paths) // sample)][:sample]:
        with CaptureQueriesContext(connection) as ctx:
            response = get(path)
        counts.append(len(ctx.captured_queries))
        if expect_count is not None and response.json()["count"] != expect_count:
            raise RuntimeError(f"GET {path}: count {response.json()['count']} != {expect_count}")
        if not slowest:
            slowest = sorted(({"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"][:2000]}
                              for q in ctx.captured_queries), key=lambda q: -q["ms"])[:3]
    return elapsed, counts, slowest


def measure_role(role: str, username: str, ns: argparse.Namespace, rng: random.Random) -> list[Measurement]:
    from django.test import Client

    from linli.accounts.models import User
    from linli.accounts.services import issue_token
    from linli.people.models import Person, Vehicle
    from linli.places.models import House

    user = User.objects.get(username=username)
    _, raw = issue_token(user=user, name=f"benchmark {role}")
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client()
    results = []
    for endpoint in LISTS:
        first = client.get(f"{endpoint}?limit=1", headers=headers)
        if first.status_code != 200:
            raise RuntimeError(f"GET {endpoint} answered {first.status_code}: {first.content[:300]!r}")
        total = first.json()["count"]
        for limit in PAGE_SIZES:
            offsets = [rng.randrange(0, max(1, total - limit + 1)) for _ in range(ns.calls)]
            paths = [f"{endpoint}?limit={limit}&offset={o}" for o in offsets]
            elapsed, counts, slowest = time_calls(client, headers, paths, warmup=ns.warmup, sample=ns.sample,
                                                  expect_count=total)
            results.append(_summarise(role, endpoint, limit, total, elapsed, counts, slowest))
            _progress(results[-1])
    for template, model in zip(DETAILS, (House, Person, Vehicle), strict=True):
        ids = list(model.objects.restrict(user).values_list("id", flat=True))
        picks = [rng.choice(ids) for _ in range(ns.calls)]
        elapsed, counts, slowest = time_calls(client, headers, [template.format(i) for i in picks],
                                              warmup=ns.warmup, sample=ns.sample)
        results.append(_summarise(role, template.format("{id}"), None, len(ids), elapsed, counts, slowest))
        _progress(results[-1])
    return results


def _summarise(role: str, endpoint: str, limit: int | None, rows: int, elapsed: list[float], counts: list[int],
               slowest: list[dict[str, Any]]) -> Measurement:
    return Measurement(
        role=role, endpoint=endpoint, limit=limit, rows=rows, calls=len(elapsed),
        p50_ms=round(percentile(elapsed, 0.5), 2), p99_ms=round(percentile(elapsed, 0.99), 2),
        mean_ms=round(statistics.fmean(elapsed), 2), max_ms=round(max(elapsed), 2), queries=counts,
        slowest_sql=slowest,
    )


def _progress(m: Measurement) -> None:
    size = f"limit={m.limit}" if m.limit else "detail"
    print(f"  {m.role:<16} {m.endpoint:<28} {size:<10} p50 {m.p50_ms:7.2f} ms  p99 {m.p99_ms:7.2f} ms  "
          f"queries {m.query_range}", flush=True)


def markdown_table(results: list[Measurement]) -> str:
    lines = ["| role | call | page size | rows in scope | p50 ms | p99 ms | SQL queries/call |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for m in results:
        call = f"GET {m.endpoint}"
        lines.append(f"| {m.role} | `{call}` | {m.limit or '—'} | {m.rows:,} | {m.p50_ms:.1f} | {m.p99_ms:.1f} "
                     f"| {m.query_range} |")
    return "\n".join(lines)


def data_sizes() -> dict[str, int]:
    from linli.core.models import AuditEntry
    from linli.people.models import Person, Residency, Vehicle
    from linli.places.models import Building, Compound, House, Region

    return {
        "streets": Region.objects.filter(level="street").count(),
        "compounds": Compound.objects.count(),
        "buildings": Building.objects.count(),
        "houses": House.objects.count(),
        "persons": Person.objects.count(),
        "residencies": Residency.objects.count(),
        "vehicles": Vehicle.objects.count(),
        "audit_entries": AuditEntry.objects.count(),
    }


def machine() -> dict[str, Any]:
    from django.db import connection

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
        info["cpu_model"] = model
    except OSError:
        pass
    import django

    info["django"] = django.get_version()
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("select sqlite_version()")
            info["database"] = f"SQLite {cur.fetchone()[0]}"
        else:
            cur.execute("show server_version")
            info["database"] = f"PostgreSQL {cur.fetchone()[0]}"
    return info


def run_api(ns: argparse.Namespace) -> int:
    env = prepare_environment(ns)
    sys.path.insert(0, str(ROOT))
    import django

    from benchmarks.gateway_env import calibrate, calibration_line

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "--noinput", verbosity=0)
    generation_s = None
    if not ns.skip_load:
        from linli.demo.district import load_demo

        print(f"Generating scale {ns.scale} data into {ns.db} …", flush=True)
        started = time.monotonic()
        load_demo(scale=ns.scale, out=sys.stdout)
        generation_s = round(time.monotonic() - started, 1)
    sizes = data_sizes()
    print(f"Data: {sizes}", flush=True)
    if ns.variant == "baseline":
        use_baseline_pages()
    else:
        # What `linli web` does once after start-up (linli/asgi.py).
        from linli.core.runtime import settle_after_startup

        settle_after_startup()
    rng = random.Random(ns.seed)
    before = calibrate()
    results: list[Measurement] = []
    for role, username in ROLES:
        results.extend(measure_role(role, username, ns, rng))
    table = markdown_table(results)
    print()
    print(table)
    after = calibrate()
    print(calibration_line(before, after))
    report = {
        "benchmark": "api", "variant": ns.variant, "scale": ns.scale, "db": ns.db, "at": dt.datetime.now(dt.UTC).isoformat(),
        "machine": machine() | {"calibration": before, "calibration_after": after},
        "generation_seconds": generation_s, "data": sizes,
        "calls_per_endpoint": ns.calls, "warmup": ns.warmup,
        "results": [asdict(m) | {"queries_per_call": m.query_range} for m in results],
        "markdown": table,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"{dt.datetime.now():%Y%m%d-%H%M%S}"  # noqa: DTZ005 - a local file name
    label = ns.variant
    out = RESULTS / f"api-{ns.db}-scale{ns.scale}-{label}-{stamp}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nJSON: {out.relative_to(ROOT)}")
    connection.close()
    if not ns.keep:
        if ns.db == "postgres":
            drop_postgres(ns.pg_url)
        if env["temporary"]:
            shutil.rmtree(env["data_dir"], ignore_errors=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Linli benchmarks")
    sub = parser.add_subparsers(dest="benchmark", required=True)
    api = sub.add_parser("api", help="list and detail API latency and query counts on scale data")
    api.add_argument("--scale", type=int, default=100, help="compounds of generated data (default 100)")
    api.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    api.add_argument("--pg-url", default=os.environ.get("LINLI_BENCH_PG_URL", PG_URL))
    api.add_argument("--calls", type=int, default=300, help="timed calls per endpoint, page size and role")
    api.add_argument("--warmup", type=int, default=20)
    api.add_argument("--sample", type=int, default=10, help="calls per endpoint whose SQL queries are counted")
    api.add_argument("--seed", type=int, default=1)
    api.add_argument("--variant", choices=("shipped", "baseline"), default="shipped",
                     help="baseline: plain offset pages and no gc.freeze(), to compare with what ships")
    api.add_argument("--data-dir", help="keep data here instead of a temporary directory")
    api.add_argument("--skip-load", action="store_true", help="reuse the data already in --data-dir / the database")
    api.add_argument("--keep", action="store_true", help="keep the database afterwards")
    api.set_defaults(func=run_api)
    return parser


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    return ns.func(ns)


if __name__ == "__main__":
    sys.exit(main())
