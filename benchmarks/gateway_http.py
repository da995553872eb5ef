"""HTTP push throughput and latency of `linli gateway` (first measurement for issue 3).

Starts the real gateway as its own process on a fresh database, registers N devices with
tokens, then pushes Linli-JSON telemetry from a separate load process with C concurrent
connections for T seconds (one event per request, as a device sends it) and reports stored
events per second and request latency. Everything stays on 127.0.0.1 and stops by itself.

    python benchmarks/gateway_http.py --db sqlite --seconds 30
    python benchmarks/gateway_http.py --db postgres --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgres://postgres@127.0.0.1:5432/linli_bench_gw"


def prepare(env: dict[str, str], devices: int) -> list[tuple[str, str]]:
    """Migrate, build a small district and register devices; returns (code, token) pairs."""
    script = f"""
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", "--noinput", verbosity=0)
from linli.core.testing import build_district
from linli.devices import services
from linli.devices.models import DeviceType
d = build_district()
kind = DeviceType.objects.get(code="water-meter-nbiot")
out = []
for i in range({devices}):
    dev = services.register_device(actor=d.admin, compound=d.a.compound, device_type=kind, serial=f"BM{{i:05d}}",
                                   name=f"bench {{i}}", lifecycle="active")
    out.append((dev.code, services.issue_credential(actor=d.admin, device=dev, kind="http_token")))
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


async def load(port: int, creds: list[tuple[str, str]], seconds: float, concurrency: int) -> dict:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def worker(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        code, token = creds[n % len(creds)]
        url = f"http://127.0.0.1:{port}/push/linli/{code}"
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < stop_at:
            body = {"message_id": uuid.uuid4().hex, "type": "device.telemetry",
                    "at": "2026-11-21T10:00:00+08:00", "payload": {"m3": 1.5}}
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(i, session) for i in range(concurrency)))
        elapsed = time.monotonic() - began
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {"requests": len(latencies), "errors": errors, "seconds": round(elapsed, 1),
            "req_per_s": round(len(latencies) / elapsed), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--port", type=int, default=18010)
    ns = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="linli-gw-bench-")
    env = {**os.environ, "LINLI_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "linli.settings"}
    if ns.db == "postgres":
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS linli_bench_gw")
            conn.execute("CREATE DATABASE linli_bench_gw")
        env["DATABASE_URL"] = PG_URL
    gateway = None
    try:
        creds = prepare(env, ns.devices)
        gateway = subprocess.Popen([sys.executable, "-m", "linli", "gateway", "--host", "127.0.0.1",
                                    "--port", str(ns.port)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(4)
        result = asyncio.run(load(ns.port, creds, ns.seconds, ns.concurrency))
        count = subprocess.run([sys.executable, "-c", "import django; django.setup(); "
                                "from linli.events.models import Event; "
                                "print(Event.objects.filter(type='device.telemetry').count())"],
                               env=env, capture_output=True, text=True, check=True).stdout.strip()
        result.update(db=ns.db, concurrency=ns.concurrency, devices=ns.devices, stored=int(count),
                      stored_per_s=round(int(count) / result["seconds"]), cpus=os.cpu_count())
        print(json.dumps(result))
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
