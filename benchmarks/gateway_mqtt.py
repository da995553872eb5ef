"""MQTT throughput of `linli gateway`: devices → Mosquitto → gateway → database, rules evaluated.

Starts everything on a fresh database (see gateway_env.py): N simulated Linli MQTT devices
with their own broker logins (the generated password and ACL files), a private Mosquitto,
`linli gateway --workers W`, and the seed automation rules plus a battery rule on telemetry,
so the after-store hook evaluates rules for the benchmark's events. `linli simulate`'s engine
then publishes at --rate for --seconds (QoS 1, MQTT 5, each device on its own connection).

Measured: messages acknowledged by the broker, events committed per second (sampled from the
database every second), the backlog between the two, CPU per process, and afterwards that
every acknowledged message was stored exactly once.

    python benchmarks/gateway_mqtt.py --db postgres --rate 5000 --seconds 300 --workers 2
    python benchmarks/gateway_mqtt.py --db sqlite --rate 3000 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_env import BenchEnv, calibrate, calibration_line, cpu_seconds, machine, save_result

COUNTED = "SELECT count(*) FROM events_event WHERE type NOT IN ('device.status', 'device.command_ack')"


class Sampler:
    """Events committed so far, once a second, from the database (incremental, cheap)."""

    def __init__(self, env: BenchEnv, every_s: float = 1.0):
        self.env, self.every_s = env, every_s
        self.series: list[tuple[float, int, int]] = []  # (seconds, stored, acked)
        self.acked = lambda: 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()

    def start(self, acked) -> None:
        self.acked = acked
        self.started = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        from django.db import connection

        last_id, total = 0, 0
        while not self._stop.wait(self.every_s):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*), max(id) FROM events_event WHERE id > %s", [last_id])
                n, top = cursor.fetchone()
            total += n
            last_id = top or last_id
            self.series.append((round(time.monotonic() - self.started, 1), total, self.acked()))
        connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def sustained(series: list[tuple[float, int, int]], start_s: float, end_s: float) -> float:
    inside = [p for p in series if start_s <= p[0] <= end_s]
    if len(inside) < 2:
        return 0.0
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rules", choices=("none", "seed", "held"), default="seed",
                        help="none; the seed templates + a battery rule on telemetry; or those + a held rule "
                             "on every ground lock's occupancy")
    parser.add_argument("--burst", help="FACTOR:SECONDS@START, e.g. 3:60@30")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", type=float, default=0,
                        help="record the gateway with py-spy for this many seconds (10 s in)")
    ns = parser.parse_args()

    env = BenchEnv(db=ns.db, keep=ns.keep)
    result = {"bench": "gateway_mqtt", "db": ns.db, "rate": ns.rate, "seconds": ns.seconds, "devices": ns.devices,
              "workers": ns.workers, "rules": ns.rules, "machine": machine()}
    try:
        env.setup_django()
        result["populated"] = env.populate(mqtt_devices=ns.devices, http_devices=0, rules=ns.rules)
        env.start_broker()
        env.start_gateways(ns.workers)
        result.update(run(env, ns))
    finally:
        env.close()
    result["machine"]["load_after"] = [round(x, 2) for x in __import__("os").getloadavg()]
    path = save_result(f"gateway-mqtt-{ns.db}", result)
    print_table(result)
    print(calibration_line(result["machine"]["calibration"], calibrate()))
    print(f"\nJSON: {path}")
    return 0 if result.get("lost", 1) == 0 else 1


def run(env: BenchEnv, ns: argparse.Namespace) -> dict:
    from linli.simulate.fleet import load_fleet
    from linli.simulate.runner import Burst, Options, Simulator

    fleet, _ = load_fleet()
    options = Options(gateway_url=f"http://127.0.0.1:{env.http_port}", mqtt_host="127.0.0.1",
                      mqtt_port=env.broker_port, rate=ns.rate, duration=ns.seconds, heartbeats=False,
                      images=0.0, summary_every_s=10, drain_s=60, seed=1,
                      burst=Burst.parse(ns.burst) if ns.burst else None)
    sim = Simulator(fleet, options, out=sys.stdout)
    sampler = Sampler(env)
    pids = {"gateway": env.gateway_pids(), "broker": [env.broker.pid]}
    cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
    own0 = time.process_time()
    total0 = _cpu_total()

    async def go():
        sampler.start(lambda: sim.stats.acked)
        return await sim.run()

    if ns.profile:
        from benchmarks.gateway_env import profile_later

        profile_later(env, delay_s=10, seconds=ns.profile, name=f"mqtt-{ns.db}")
    began = time.monotonic()
    stats = asyncio.run(go())
    sent_for = time.monotonic() - began
    # Let the gateway drain what the broker still holds, then count.
    expected = stats.events_acked
    deadline = time.monotonic() + ns.drain_timeout
    stored = 0
    while time.monotonic() < deadline:
        stored = env.count(COUNTED)
        if stored >= expected:
            break
        print(f"  draining: {stored:,} of {expected:,} stored", flush=True)
        time.sleep(2)
    drained_after = round(time.monotonic() - began - sent_for, 1)
    sampler.stop()
    wall = time.monotonic() - began
    cpu = {k: round((cpu_seconds(v) - cpu0[k]) / wall * 100) for k, v in pids.items()}
    cpu["simulator"] = round((time.process_time() - own0) / wall * 100)
    cpu["machine_total"] = round((_cpu_total() - total0) / wall * 100)
    duplicates = env.count("SELECT count(*) FROM (SELECT device_id, message_id FROM events_event "
                           "GROUP BY device_id, message_id HAVING count(*) > 1) d")
    rule_runs = env.count("SELECT count(*) FROM automations_rulerun")
    # Sample times from the moment the simulator began sending (after its devices connected).
    offset = stats.started - sampler.started
    window = [(round(t - offset, 1), s, a) for t, s, a in sampler.series]
    steady = sustained(window, 10, ns.seconds)
    backlog = max((p[2] - p[1] for p in window), default=0)
    burst = burst_figures(window, Burst.parse(ns.burst), ns.rate) if ns.burst else None
    return {"burst": burst, "sent": stats.sent, "acked": stats.acked, "events_acked": expected, "stored": stored,
            "lost": max(0, expected - stored), "duplicates_in_db": duplicates, "errors": stats.errors,
            "unconfirmed": stats.unconfirmed, "rule_runs": rule_runs,
            "acked_per_s": round(stats.acked / ns.seconds), "committed_per_s_sustained": round(steady),
            "max_backlog": backlog, "drained_after_s": drained_after, "cpu_percent": cpu,
            "series": window}


def burst_figures(window: list[tuple[float, int, int]], burst, rate: float) -> dict:
    """Peak backlog (acknowledged by the broker, not yet committed) and how long after the burst
    ended it took to fall back to the level of before the burst (or half a second of traffic)."""
    end = burst.start_s + burst.seconds
    before = [a - s for t, s, a in window if burst.start_s - 10 <= t < burst.start_s]
    threshold = max(max(before, default=0) * 2, rate * 0.5)
    after = [(t, a - s) for t, s, a in window if t >= burst.start_s]
    peak = max((b for _, b in after), default=0)
    drained = next((t for t, b in after if t >= end and b <= threshold), None)
    return {"start_s": burst.start_s, "end_s": end, "factor": burst.factor, "peak_backlog": peak,
            "threshold": round(threshold), "drained_after_burst_s": round(drained - end, 1) if drained else None,
            "committed_per_s_during_burst": round(sustained(window, burst.start_s + 5, end))}


def _cpu_total() -> float:
    """Busy CPU seconds of the whole machine (all processes, both cores), from /proc/stat."""
    import os

    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(x) for x in fields]
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def print_table(r: dict) -> None:
    print("\n| database | rules | workers | rate asked | acked/s | committed/s (sustained) | max backlog | lost | "
          "duplicates | rule runs | CPU % gateway / broker / simulator / machine |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    cpu = r.get("cpu_percent", {})
    print(f"| {r['db']} | {r['rules']} | {r['workers']} | {r['rate']:,.0f} | {r.get('acked_per_s', 0):,} | "
          f"{r.get('committed_per_s_sustained', 0):,} | {r.get('max_backlog', 0):,} | {r.get('lost')} | "
          f"{r.get('duplicates_in_db')} | {r.get('rule_runs', 0):,} | {cpu.get('gateway')} / {cpu.get('broker')} / "
          f"{cpu.get('simulator')} / {cpu.get('machine_total')} |")
    if r.get("burst"):
        b = r["burst"]
        print(f"\nburst ×{b['factor']:g} from {b['start_s']:g} s to {b['end_s']:g} s: peak backlog {b['peak_backlog']:,}, "
              f"committed {b['committed_per_s_during_burst']:,}/s during it, back under {b['threshold']:,} "
              f"{b['drained_after_burst_s']} s after it ended")


if __name__ == "__main__":
    sys.exit(main())
