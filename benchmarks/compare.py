"""Side-by-side markdown of two `benchmarks/run.py api` results (e.g. before and after a change).

    python benchmarks/compare.py benchmarks/results/api-sqlite-…-baseline-….json \
                                 benchmarks/results/api-sqlite-…-shipped-….json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _label(report: dict) -> str:
    return report.get("variant", "shipped")


def compare(before: dict, after: dict) -> str:
    rows = {(r["role"], r["endpoint"], r["limit"]): r for r in after["results"]}
    a, b = _label(before), _label(after)
    lines = [
        f"| role | call | page size | rows in scope | p50 ms ({a}) | p99 ms ({a}) | p50 ms ({b}) | p99 ms ({b}) "
        "| SQL queries/call |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in before["results"]:
        other = rows.get((r["role"], r["endpoint"], r["limit"]))
        if other is None:
            continue
        queries = r["queries_per_call"]
        if other["queries_per_call"] != queries:
            queries = f"{queries} → {other['queries_per_call']}"
        lines.append(
            f"| {r['role']} | `GET {r['endpoint']}` | {r['limit'] or '—'} | {r['rows']:,} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {other['p50_ms']:.1f} | {other['p99_ms']:.1f} | {queries} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    ns = parser.parse_args(argv)
    before = json.loads(ns.before.read_text(encoding="utf-8"))
    after = json.loads(ns.after.read_text(encoding="utf-8"))
    print(compare(before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
