"""HTTP push throughput and latency of `linli gateway`.

Starts everything on a fresh database (gateway_env.py: SQLite, or a private PostgreSQL),
registers N devices with tokens, installs the seed automation rules plus a battery rule on
telemetry (so rules are evaluated for every event; `--rules none` for the old baseline), starts
`linli gateway --workers W`, then pushes from this process for T seconds:

- `--mix telemetry` (default): C concurrent connections, each request one Linli-JSON telemetry
  event with a bearer token, as fast as the gateway answers;
- `--mix vendors`: `linli simulate`'s engine at --rate over the HTTP devices of every vendor
  format (AlarmInfoPlate, ISAPI JSON/XML/multipart, NB-IoT webhooks, Linli JSON).

Every request is answered only after its event is committed; afterwards the stored rows are
counted against the 200 answers.

    python benchmarks/gateway_http.py --db sqlite --seconds 30
    python benchmarks/gateway_http.py --db postgres --seconds 30 --workers 2
    python benchmarks/gateway_http.py --db postgres --mix vendors --rate 2500 --seconds 30 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_env import BenchEnv, calibrate, calibration_line, cpu_seconds, machine, save_result

COUNTED = "SELECT count(*) FROM events_event WHERE type NOT IN ('device.status', 'device.command_ack')"


async def telemetry_load(port: int, creds: list[tuple[str, str]], seconds: float, concurrency: int) -> dict:
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
                    "at": "2026-11-21T10:00:00+08:00", "payload": {"battery_v": 3.6, "rssi_dbm": -80}}
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
                    continue
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(i, session) for i in range(concurrency)))
        elapsed = time.monotonic() - began
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1) if latencies else 0.0

    return {"answered": len(latencies), "errors": errors, "seconds": round(elapsed, 1),
            "req_per_s": round(len(latencies) / elapsed), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def vendors_load(env: BenchEnv, rate: float, seconds: float) -> dict:
    from linli.simulate.fleet import load_fleet
    from linli.simulate.runner import Options, Simulator

    fleet, _ = load_fleet()
    latencies: list[float] = []
    options = Options(gateway_url=f"http://127.0.0.1:{env.http_port}", nbiot_secret=env.env["LINLI_NBIOT_SECRET_CTWING"],
                      rate=rate, duration=seconds, heartbeats=False, images=0.05, http_concurrency=128,
                      summary_every_s=10, seed=1)
    sim = Simulator(fleet, options, out=sys.stdout,
                    on_result=lambda m, ok, s: latencies.append(s * 1000) if ok else None)
    began = time.monotonic()
    stats = asyncio.run(sim.run())
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1) if latencies else 0.0

    # Offered --rate for --seconds; answered over the whole time it took, backlog included.
    return {"answered": stats.acked, "events_answered": stats.events_acked, "errors": stats.errors,
            "seconds": round(elapsed, 1), "req_per_s": round(stats.acked / elapsed),
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "by_label": dict(stats.by_label)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rules", choices=("none", "seed", "held"), default="seed")
    parser.add_argument("--mix", choices=("telemetry", "vendors"), default="telemetry")
    parser.add_argument("--rate", type=float, default=2500, help="--mix vendors: messages per second")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", type=float, default=0,
                        help="record the gateway with py-spy for this many seconds (5 s in)")
    ns = parser.parse_args()

    env = BenchEnv(db=ns.db, keep=ns.keep)
    result = {"bench": "gateway_http", "db": ns.db, "mix": ns.mix, "workers": ns.workers, "rules": ns.rules,
              "devices": ns.devices, "machine": machine()}
    try:
        env.setup_django()
        result["populated"] = env.populate(mqtt_devices=0, http_devices=ns.devices, rules=ns.rules)
        env.start_gateways(ns.workers, mqtt=False)
        before = env.count(COUNTED)
        pids = env.gateway_pids()
        if ns.profile:
            from benchmarks.gateway_env import profile_later

            profile_later(env, delay_s=5, seconds=ns.profile, name=f"http-{ns.db}")
        cpu0, own0, began = cpu_seconds(pids), time.process_time(), time.monotonic()
        if ns.mix == "telemetry":
            from linli.simulate.fleet import load_fleet

            fleet, _ = load_fleet()
            creds = [(d.code, d.token) for d in fleet if d.token]
            load = asyncio.run(telemetry_load(env.http_port, creds, ns.seconds, ns.concurrency))
            expected = load["answered"]
        else:
            load = vendors_load(env, ns.rate, ns.seconds)
            expected = load["events_answered"]
        wall = time.monotonic() - began
        result["cpu_percent"] = {"gateway": round((cpu_seconds(pids) - cpu0) / wall * 100),
                                 "load_generator": round((time.process_time() - own0) / wall * 100)}
        stored = env.count(COUNTED) - before
        result.update(load, stored=stored, expected=expected, missing=expected - stored,
                      stored_per_s=round(stored / load["seconds"]),
                      rule_runs=env.count("SELECT count(*) FROM automations_rulerun"))
    finally:
        env.close()
    result["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    path = save_result(f"gateway-http-{ns.db}", result)
    print("\n| database | mix | rules | workers | requests/s | events stored/s | errors | p50 ms | p99 ms | "
          "stored = answered | rule runs |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
    print(f"| {ns.db} | {ns.mix} | {ns.rules} | {ns.workers} | {result['req_per_s']:,} | {result['stored_per_s']:,} | "
          f"{result['errors']} | {result['p50_ms']} | {result['p99_ms']} | "
          f"{'yes' if result['missing'] == 0 else 'NO: ' + str(result['missing'])} | {result['rule_runs']:,} |")
    print(calibration_line(result["machine"]["calibration"], calibrate()))
    print(f"\nJSON: {path}")
    return 0 if result["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
