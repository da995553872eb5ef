"""Retention purge speed: how fast expired events go, and how long one batch holds the writer.

Builds a fresh database with a small district, inserts N expired heartbeats (plus N/10 expired
plate reads with one picture each, and a day of fresh events that must stay), then runs the
purge and reports events/s and the longest batch transaction. Runs in a temporary data dir.

    python benchmarks/purge_events.py --db sqlite --events 100000
    python benchmarks/purge_events.py --db postgres --events 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_env import calibrate, calibration_line

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgres://postgres@127.0.0.1:5432/linli_bench_purge"

SCRIPT = """
import datetime as dt, json, time, uuid
import django
django.setup()
from django.core.management import call_command
call_command("migrate", "--noinput", verbosity=0)
from django.utils import timezone
from linli.core.testing import build_district
from linli.events import media, retention, types
from linli.events.models import Event

N, BATCH = {events}, {batch}
d = build_district()
now = timezone.now()
def rows(n, event_type, age_days, pictures=False):
    out = []
    for i in range(n):
        at = now - dt.timedelta(days=age_days, seconds=i)
        evidence = []
        if pictures:
            ref = f"events/{{at.astimezone(retention.MEDIA_DATE_TZ):%Y/%m/%d}}/{{uuid.uuid4().hex}}.jpg"
            media.save(ref, b"\\xff\\xd8" + b"\\x00" * 2048 + b"\\xff\\xd9")
            evidence = [{{"kind": "image", "ref": ref}}]
        out.append(Event(compound=d.a.compound, device=d.a.device, type=event_type, at=at, received_at=at,
                         message_id=uuid.uuid4().hex, payload={{"battery_v": 3.6}}, evidence=evidence))
    return out
Event.objects.bulk_create(rows(N, types.HEARTBEAT, 30), batch_size=5000)
Event.objects.bulk_create(rows(N // 10, types.PLATE_READ, 200, pictures=True), batch_size=5000)
Event.objects.bulk_create(rows(N // 10, types.HEARTBEAT, 1), batch_size=5000)
from linli.core.services import refresh_statistics
refresh_statistics([Event])
run = retention.purge(full=False)
started = time.perf_counter()
retention.purge(full=False)  # the hourly run when nothing is due
nothing_s = time.perf_counter() - started
print(json.dumps({{"events": run.total_events, "media": run.media, "seconds": run.seconds,
                  "events_per_s": round(run.total_events / run.seconds), "batches": run.batches,
                  "longest_batch_s": run.longest_batch_s, "left": Event.objects.count(),
                  "nothing_due_ms": round(nothing_s * 1000, 1)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    ns = parser.parse_args()
    before = calibrate()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "LINLI_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "linli.settings",
               "LINLI_EVENT_PURGE_BATCH": str(ns.batch)}
        if ns.db == "postgres":
            import psycopg

            with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS linli_bench_purge")
                conn.execute("CREATE DATABASE linli_bench_purge")
            env["DATABASE_URL"] = PG_URL
        else:
            env.pop("DATABASE_URL", None)
        done = subprocess.run([sys.executable, "-c", SCRIPT.format(events=ns.events, batch=ns.batch)], env=env,
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            sys.exit(done.stderr[-4000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({"db": ns.db, **result, "calibration": before}, indent=2))
        print(calibration_line(before, calibrate()))


if __name__ == "__main__":
    main()
