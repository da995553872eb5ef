"""Fault test: during a stream of device messages, kill -9 the gateway, restart Mosquitto and
restart PostgreSQL; afterwards every message sent is stored once or dead-lettered.

Everything is private to the run (gateway_env.py): a PostgreSQL server in a temporary
directory (restarted with `pg_ctl restart -m fast`, which cuts every connection), a Mosquitto
with persistence on (stopped with SIGTERM, which saves its state, and started again), and
`linli gateway` (SIGKILL to every one of its processes, started again after a pause).
`linli simulate`'s engine streams through MQTT and every HTTP format meanwhile, with a few
duplicates and broken messages; its devices behave like devices: HTTP pushes are resent until
answered, MQTT devices keep their session and resend what the broker did not acknowledge.

Checked afterwards:
- every good message the simulator sent is stored exactly once (events = messages' events,
  no (device, message id) twice), none left unacknowledged;
- every broken message is in the dead letters (a poison MQTT message the killed gateway had
  dead-lettered but not yet acknowledged comes again and is kept again: counted apart);
- sent = stored + dead-lettered.

    python benchmarks/gateway_faults.py            # ~90 s; exit status 1 if a check fails
    python benchmarks/gateway_faults.py --workers 2 --rate 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_env import BenchEnv, calibrate, calibration_line, machine, save_result

COUNTED = "SELECT count(*) FROM events_event WHERE type NOT IN ('device.status', 'device.command_ack')"


def faults(env: BenchEnv, plan: list[tuple[float, str]], log: list[dict], started: threading.Event) -> None:
    started.wait()
    t0 = time.monotonic()
    for at, what in plan:
        time.sleep(max(0.0, at - (time.monotonic() - t0)))
        began = time.monotonic()
        if what == "kill gateway":
            for pid in env.gateway_pids():
                if "resource_tracker" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    continue
                os.kill(pid, signal.SIGKILL)
            for proc in env.gateways:
                proc.wait()
            env.gateways = []
        elif what == "start gateway":
            env.start_gateways(env.workers)
        elif what == "restart mosquitto":
            env.restart_broker()
        elif what == "restart postgresql":
            env.postgres.restart()  # type: ignore[union-attr]
        log.append({"at_s": round(began - t0, 1), "what": what, "took_s": round(time.monotonic() - began, 1)})
        print(f"  fault at {began - t0:5.1f}s: {what} ({time.monotonic() - began:.1f} s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    ns = parser.parse_args()

    env = BenchEnv(db="postgres", keep=ns.keep)
    env.workers = ns.workers  # type: ignore[attr-defined]
    result: dict = {"bench": "gateway_faults", "rate": ns.rate, "seconds": ns.seconds, "workers": ns.workers,
                    "machine": machine()}
    checks: dict[str, bool] = {}
    try:
        env.setup_django()
        result["populated"] = env.populate(mqtt_devices=40, http_devices=20, rules="seed")
        env.start_broker(persistence=True)
        env.start_gateways(ns.workers)
        seeded = env.count(COUNTED)
        from django.db import connections

        connections.close_all()  # PostgreSQL is about to restart under us
        from linli.simulate.fleet import load_fleet
        from linli.simulate.runner import Options, Simulator

        fleet, _ = load_fleet()
        options = Options(gateway_url=f"http://127.0.0.1:{env.http_port}", mqtt_host="127.0.0.1",
                          mqtt_port=env.broker_port, nbiot_secret=env.env["LINLI_NBIOT_SECRET_CTWING"],
                          rate=ns.rate, duration=ns.seconds, duplicates=0.02, malformed=0.02, heartbeats=False,
                          images=0.05, summary_every_s=5, drain_s=120, seed=11)
        simulator = Simulator(fleet, options, out=sys.stdout)
        plan = [(8, "kill gateway"), (11, "start gateway"), (18, "restart mosquitto"), (28, "restart postgresql")]
        log: list[dict] = []
        started = threading.Event()
        injector = threading.Thread(target=faults, args=(env, plan, log, started), daemon=True)
        injector.start()

        async def go():
            loop = asyncio.get_running_loop()
            loop.call_later(1.0, started.set)  # once the devices are connected
            return await simulator.run()

        stats = asyncio.run(go())
        injector.join(timeout=120)
        result["faults"] = log
        # The broker and the gateway may still hold a few messages: wait until all are in, or
        # until nothing has moved for 15 s.
        stored, moved_at, deadline = -1, time.monotonic(), time.monotonic() + 180
        while time.monotonic() < deadline and time.monotonic() - moved_at < 15:
            connections.close_all()
            now_stored = env.count(COUNTED) - seeded
            if now_stored != stored:
                stored, moved_at = now_stored, time.monotonic()
            if stored >= stats.events_acked:
                break
            time.sleep(1)
        duplicates = env.count("SELECT count(*) FROM (SELECT device_id, message_id FROM events_event "
                               "GROUP BY device_id, message_id HAVING count(*) > 1) d")
        # Broken messages carry an id of their own in their raw text (or are a wrong token's whole body).
        letters = env.count("SELECT count(*) FROM events_deadletter WHERE reason <> 'payload not understood'")
        distinct_letters = env.count("SELECT count(DISTINCT raw) FROM events_deadletter "
                                     "WHERE reason <> 'payload not understood'")
        # First sends of good messages: duplicates are resends of those, broken ones are apart.
        good_sent = stats.sent - stats.malformed - stats.duplicates
        result.update(sent=stats.sent, malformed_sent=stats.malformed, duplicates_sent=stats.duplicates,
                      acked=stats.acked, events_expected=stats.events_acked, stored=stored,
                      dead_letters=letters, distinct_dead_letters=distinct_letters,
                      dead_letters_again=letters - distinct_letters, unconfirmed=stats.unconfirmed,
                      errors_retried=stats.errors, retries=stats.retries, reconnects=stats.reconnects,
                      duplicate_rows=duplicates, good_sent=good_sent, refusals=dict(stats.refusals))
        print("  refused:", dict(stats.refusals))
        checks["every good message acknowledged"] = stats.unconfirmed == 0 and stats.acked == good_sent
        checks["every acknowledged message stored once"] = stored == stats.events_acked and duplicates == 0
        checks["every broken message dead-lettered"] = distinct_letters == stats.malformed
        checks["sent = stored + dead-lettered"] = (good_sent + stats.malformed == stats.acked + distinct_letters
                                                   and stored == stats.events_acked)
    finally:
        env.close()
    result["checks"] = checks
    path = save_result("gateway-faults", result)
    print("\n| messages sent | broken | resent duplicates | stored events (expected) | dead letters (again) "
          "| duplicate rows | unacknowledged | HTTP retries | MQTT reconnects |")
    print("|---:|---:|---:|---|---|---:|---:|---:|---:|")
    print(f"| {result.get('sent', 0):,} | {result.get('malformed_sent', 0)} | {result.get('duplicates_sent', 0)} | "
          f"{result.get('stored', 0):,} ({result.get('events_expected', 0):,}) | {result.get('distinct_dead_letters')} "
          f"({result.get('dead_letters_again')}) | {result.get('duplicate_rows')} | {result.get('unconfirmed')} | "
          f"{result.get('retries')} | {result.get('reconnects')} |")
    for name, ok in checks.items():
        print(f"  {'ok ' if ok else 'FAIL'} {name}")
    print(calibration_line(result["machine"]["calibration"], calibrate()))
    print(f"\nJSON: {path}")
    return 0 if checks and all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
