"""Latency of `linli gateway` under background load: the gate answer, the alarm, the notification.

Starts everything on a fresh database (gateway_env.py), then runs `linli simulate` as its own
process at --background events/s (Linli MQTT devices through Mosquitto plus every HTTP kind)
while this process, on its own event loop, sends probes and times them:

- plate: an AlarmInfoPlate push (as an LPR camera sends it) → the HTTP answer carrying the
  gate decision, 20 a second, from a process of its own;
- smoke: an NB-IoT smoke alarm (operator webhook) → the alarm committed (PostgreSQL: the
  transaction's commit timestamp, `track_commit_timestamp` being on in the benchmark's own
  server; SQLite: polled every 5 ms, an upper bound) → the first notification dispatched
  (Delivery.sent_at);
- entrapment: an elevator controller's entrapment event over MQTT → the alarm committed.

Each alarm probe uses the next of several devices and resolves its alarm afterwards, so every
probe opens a fresh alarm. Clocks: one machine, so the probe's send time and the database
timestamps compare directly.

    python benchmarks/gateway_latency.py --db postgres --background 1000 --seconds 60
    python benchmarks/gateway_latency.py --db postgres --background 5000 --seconds 60 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_env import (
    BenchEnv,
    CpuMeter,
    calibrate,
    calibration_line,
    machine,
    process_tree,
    profile_later,
    save_result,
)

POLL_S = 0.002


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": pct(values, 0.5), "p95_ms": pct(values, 0.95), "p99_ms": pct(values, 0.99),
            "max_ms": round(max(values), 1) if values else None,
            "mean_ms": round(statistics.fmean(values), 1) if values else None}


class Commits:
    """When each alarm became visible: PostgreSQL tells us at commit (a trigger the benchmark adds
    to its own database, then LISTEN); on SQLite we poll every few milliseconds."""

    TRIGGER = """
        CREATE OR REPLACE FUNCTION bench_alarm_committed() RETURNS trigger AS $$
        BEGIN PERFORM pg_notify('bench_alarm', NEW.id || ':' || coalesce(NEW.device_id, 0) || ':' || NEW.type);
              RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER bench_alarm_committed AFTER INSERT ON alarms_alarm
            FOR EACH ROW EXECUTE FUNCTION bench_alarm_committed();
    """

    def __init__(self, env: BenchEnv):
        self.env = env
        self.seen: dict[tuple[int, str], tuple[float, int]] = {}  # (device, type) → (time, alarm id)
        self.arrived = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.env.db != "postgres":
            return
        import psycopg

        await asyncio.to_thread(self._install)
        url = self.env.env["DATABASE_URL"]
        self._conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        await self._conn.execute("LISTEN bench_alarm")
        self._task = asyncio.get_running_loop().create_task(self._listen())

    def _install(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(self.TRIGGER)

    async def _listen(self) -> None:
        async for note in self._conn.notifies():
            alarm_id, device_id, alarm_type = note.payload.split(":", 2)
            self.seen[(int(device_id), alarm_type)] = (time.time(), int(alarm_id))
            self.arrived.set()

    async def wait(self, device_id: int, alarm_type: str, since: dt.datetime, timeout_s: float = 10
                   ) -> tuple[float, int] | None:
        deadline = time.monotonic() + timeout_s
        key = (device_id, alarm_type)
        while time.monotonic() < deadline:
            if self._task is None:
                found = await asyncio.to_thread(_poll_alarm, device_id, alarm_type, since)
                if found:
                    return time.time(), found
                await asyncio.sleep(0.005)
                continue
            if key in self.seen:
                return self.seen.pop(key)
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), deadline - time.monotonic())
        return None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await self._conn.close()


def _poll_alarm(device_id: int, alarm_type: str, since: dt.datetime) -> int | None:
    from linli.alarms.models import OPEN_STATUSES, Alarm

    return (Alarm.objects.filter(device_id=device_id, type=alarm_type, status__in=OPEN_STATUSES, raised_at__gte=since)
            .values_list("pk", flat=True).first())


def _resolve(alarm_id: int, admin_id: int) -> None:
    from linli.accounts.models import User
    from linli.alarms.models import Alarm
    from linli.alarms.services import resolve

    resolve(actor=User.objects.get(pk=admin_id), alarm=Alarm.objects.get(pk=alarm_id), note="benchmark")


def _afterwards(probes: list[dict]) -> None:
    """Fill in, from the database once the run is over, when each alarm was raised and its first
    notification dispatched (timestamps the gateway wrote; nothing polled during the run)."""
    from django.db import connection
    from django.db.models import Min

    from linli.alarms.models import Alarm
    from linli.notify.models import Delivery

    for probe in probes:
        alarm = Alarm.objects.filter(pk=probe["alarm_id"]).values_list("raised_at", "source", "first_event_id").first()
        if alarm is None:
            continue
        probe["raised_ms"] = (alarm[0].timestamp() - probe["sent"]) * 1000
        if connection.vendor == "postgresql" and alarm[2]:
            # The event and its alarm are one transaction, and events are never updated: the
            # commit time of the event row is the alarm's (track_commit_timestamp is on).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_xact_commit_timestamp(xmin) FROM events_event WHERE id = %s", [alarm[2]])
                committed = cursor.fetchone()[0]
            if committed is not None:
                probe["committed_ms"] = (committed.timestamp() - probe["sent"]) * 1000
        # Dispatched: sent out on a channel (console feed, SMS, Web Push, WeChat); an inbox row
        # is written with the notification itself and counts as nothing sent.
        first = (Delivery.objects.filter(notification__source=alarm[1], notification__created_at__gte=alarm[0],
                                         sent_at__isnull=False).exclude(channel="inbox")
                 .aggregate(first=Min("sent_at"))["first"])
        if first is not None:
            probe["notified_ms"] = (first.timestamp() - probe["sent"]) * 1000


async def probe_plates(env: BenchEnv, voices, seconds: float, out: list[float]) -> None:
    import aiohttp

    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{env.http_port}") as session:
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            message = voices[i % len(voices)].plate_read(image=False)
            i += 1
            started = time.perf_counter()
            async with session.post(message.path, data=message.body, headers=message.headers) as response:
                body = await response.json()
            if response.status == 200 and "Response_AlarmInfoPlate" in body:
                out.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)


async def probe_alarms(env: BenchEnv, smoke, lifts, admin_id: int, seconds: float, probes: list[dict],
                       missed: list[str]) -> None:
    """Alternate an NB-IoT smoke alarm and an MQTT entrapment, one probe at a time."""
    import aiohttp

    from linli.gateway.mqtt_client import MqttClient

    commits = Commits(env)
    await commits.start()
    clients = {}
    for voice in lifts:
        d = voice.device
        client = MqttClient(client_id=f"probe-{d.code}", username=d.code, password=d.mqtt_password)
        await client.connect("127.0.0.1", env.broker_port)
        clients[d.code] = client
    end = time.monotonic() + seconds
    i = 0
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{env.http_port}") as session:
        while time.monotonic() < end:
            use_smoke = i % 2 == 0 or not lifts
            voice = (smoke[(i // 2) % len(smoke)] if use_smoke else lifts[(i // 2) % len(lifts)])
            i += 1
            since = dt.datetime.now(dt.UTC)
            probe = {"kind": "smoke" if use_smoke else "entrapment", "device": voice.device.code}
            if use_smoke:
                _, message = voice.incident("smoke")[0]
                probe["sent"] = time.time()
                async with session.post(message.path, data=message.body, headers=message.headers) as response:
                    await response.read()
                probe["answered_ms"] = (time.time() - probe["sent"]) * 1000
            else:
                _, message = voice.incident("entrapment")[0]
                probe["sent"] = time.time()
                await clients[voice.device.code].publish(message.topic, message.body, qos=1)
            found = await commits.wait(voice.device.id, probe["kind"], since)
            if found is None:
                missed.append(probe["kind"])
                continue
            probe["committed_ms"] = (found[0] - probe["sent"]) * 1000  # seen; on PostgreSQL exact, afterwards
            probe["alarm_id"] = found[1]
            probes.append(probe)
            await asyncio.sleep(0.2)  # let the notification go out before the alarm is resolved
            await asyncio.to_thread(_resolve, found[1], admin_id)
            await asyncio.sleep(0.1)
    await commits.stop()
    for client in clients.values():
        await client.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--background", type=float, default=1000, help="events/s from `linli simulate`")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--edge", action="store_true", help="`linli gateway --edge`: HTTP pushes in a process of their own")
    parser.add_argument("--devices", type=int, default=100, help="MQTT devices for the background")
    parser.add_argument("--background-devices", default="*,!smoke-nbiot",
                        help="which devices make the background (simulate --devices); e.g. "
                             "'*-mqtt,*-linli,elevator-*' for MQTT only")
    parser.add_argument("--load", choices=("loadgen", "simulate"), default="loadgen",
                        help="the background: messages rendered before the run and replayed (benchmarks/loadgen.py), "
                             "or `linli simulate` building each as it sends")
    parser.add_argument("--load-nice", type=int, default=10, help="niceness of the background process")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", type=float, default=0, help="py-spy the gateway for this many seconds")
    ns = parser.parse_args()

    env = BenchEnv(db=ns.db, keep=ns.keep)
    result = {"bench": "gateway_latency", "db": ns.db, "background": ns.background, "load": ns.load,
              "load_nice": ns.load_nice,
              "background_devices": ns.background_devices, "seconds": ns.seconds,
              "workers": ns.workers, "edge": ns.edge, "machine": machine()}
    background = None
    try:
        env.setup_django()
        result["populated"] = env.populate(mqtt_devices=ns.devices, http_devices=30, smoke_devices=20, rules="seed")
        env.start_broker()
        env.start_gateways(ns.workers, edge=ns.edge)
        from linli.accounts.models import User
        from linli.simulate.fleet import load_fleet
        from linli.simulate.traffic import DeviceVoice

        fleet, _ = load_fleet()
        import random

        def voices(type_code: str) -> list:
            return [DeviceVoice(d, rng=random.Random(d.id), use_mqtt=True, nbiot_secret=env.env[
                "LINLI_NBIOT_SECRET_CTWING"], images=0) for d in fleet if d.type_code == type_code]

        smoke = voices("smoke-nbiot")[-20:]
        # The probe's lifts speak only for the probe: a broker session is its account's, so the
        # background must not log in as them too (each would knock the other off).
        lifts = voices("elevator-controller")[-3:]
        background_devices = ",".join([ns.background_devices, *(f"!{v.device.code}" for v in lifts)])
        plates = voices("lpr-alarminfoplate")
        import itertools

        for v in plates:  # plate ids of their own, apart from the background's
            v.plate_ids = itertools.count(2_000_000_000 + v.device.id * 100_000)
        admin_id = User.objects.filter(is_superuser=True).values_list("pk", flat=True).first()
        gateway_url = f"http://127.0.0.1:{env.http_port}"
        if ns.load == "simulate":
            command = [sys.executable, "-m", "linli", "simulate", "--gateway", gateway_url, "--no-heartbeats",
                       "--images", "0", "--summary-every", "10"]
        else:
            command = [sys.executable, str(Path(__file__).with_name("loadgen.py")), "--gateway", gateway_url]
        command += ["--mqtt-host", "127.0.0.1", "--mqtt-port", str(env.broker_port), "--rate", str(ns.background),
                    "--duration", str(ns.seconds + 15), "--devices", background_devices]
        load_log = env.data_dir / "load.log"
        background = subprocess.Popen(
            command, env=env.env, stdout=open(load_log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
            # Niced: the devices are not part of the system under test; on real sites they are other machines.
            preexec_fn=lambda: os.nice(ns.load_nice))
        if ns.load == "loadgen":  # it renders every message first, then says so
            deadline = time.monotonic() + 300
            while "ready" not in load_log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(3)
        else:
            time.sleep(8)  # the background reaches its rate
        meter = CpuMeter()
        meter.watch("gateway", env.gateway_pids)
        meter.watch("load", lambda: process_tree(background.pid))
        meter.watch("broker", lambda: [env.broker.pid] if env.broker else [])
        if env.postgres is not None:
            meter.watch("postgres", env.postgres.pids)
        meter.watch("probes", lambda: [os.getpid()])
        meter.start()
        if ns.profile:
            profile_later(env, delay_s=5, seconds=ns.profile, name="latency")
        plate_ms: list[float] = []
        probes: list[dict] = []
        missed: list[str] = []

        # The plate prober gets a process of its own: in this one, the alarm prober resolves each
        # alarm through the ORM, and a plate answer would wait on that thread's GIL to be timed.
        from django.db import connections

        connections.close_all()
        fork = multiprocessing.get_context("fork")
        plate_results, plate_sender = fork.Pipe(duplex=False)

        def plate_prober() -> None:
            asyncio.run(probe_plates(env, plates, ns.seconds, plate_ms))
            plate_sender.send(plate_ms)

        prober = fork.Process(target=plate_prober, name="plate-prober")
        prober.start()
        asyncio.run(probe_alarms(env, smoke, lifts, admin_id, ns.seconds, probes, missed))
        plate_ms = plate_results.recv()
        prober.join()
        result["cpu_pct"] = meter.stop()
        result["calibration_after"] = calibrate()
        background.wait(timeout=120)
        _afterwards(probes)
        result["caused"] = caused()
        result["background_log"] = load_log.read_text()[-600:]

        def of(kind: str, key: str) -> list[float]:
            return [p[key] for p in probes if p["kind"] == kind and key in p]

        result["measured"] = {
            "plate_ms": summary(plate_ms), "smoke_http_ms": summary(of("smoke", "answered_ms")),
            "smoke_raised_ms": summary(of("smoke", "raised_ms")),
            "smoke_alarm_ms": summary(of("smoke", "committed_ms")),
            "entrapment_alarm_ms": summary(of("entrapment", "committed_ms")),
            "smoke_notification_ms": summary(of("smoke", "notified_ms"))}
        result["missed"] = missed
        result["probes"] = probes
    finally:
        if background is not None and background.poll() is None:
            background.terminate()
        env.close()
    path = save_result(f"gateway-latency-{ns.db}", result)
    print_table(result)
    print(f"\nJSON: {path}")
    return 0


def caused() -> dict[str, int]:
    """What the run made beside its events: the work the rules and the dispatcher had."""
    from django.db.models import Count

    from linli.alarms.models import Alarm
    from linli.automations.models import RuleRun
    from linli.notify.models import Delivery, Notification

    out = {"alarms": Alarm.objects.count(), "rule_runs": RuleRun.objects.count(),
           "notifications": Notification.objects.count()}
    for row in Delivery.objects.values("channel").annotate(n=Count("id")):
        out[f"deliveries_{row['channel']}"] = row["n"]
    return out


def print_table(r: dict) -> None:
    print(f"\n{r['db']}, background {r['background']:,.0f} events/s, {r['workers']} worker(s)"
          f"{' + edge' if r.get('edge') else ''}; "
          f"missed: {len(r.get('missed', []))}")
    print(calibration_line(r["machine"]["calibration"], r.get("calibration_after")) +
          f"; load before {r['machine']['load_before']}")
    if r.get("load") == "loadgen" and r.get("background_log"):
        print("background: " + r["background_log"].strip().splitlines()[-1])
    if r.get("caused"):
        print("the run made: " + ", ".join(f"{k} {v:,}" for k, v in r["caused"].items()))
    if r.get("cpu_pct"):
        print("CPU during the run (% of one core): " + ", ".join(f"{k} {v}" for k, v in r["cpu_pct"].items()))
    print("| measure | n | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    names = {"plate_ms": "AlarmInfoPlate push → HTTP answer (gate decision)",
             "smoke_http_ms": "NB-IoT smoke webhook → HTTP answer (stored)",
             "smoke_raised_ms": "NB-IoT smoke message → alarm row written (raised_at)",
             "smoke_alarm_ms": "NB-IoT smoke message → alarm committed",
             "entrapment_alarm_ms": "MQTT entrapment message → alarm committed",
             "smoke_notification_ms": "smoke message → first notification dispatched"}
    for key, label in names.items():
        m = r.get("measured", {}).get(key)
        if m:
            print(f"| {label} | {m['n']} | {m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} | {m['max_ms']} |")


if __name__ == "__main__":
    sys.exit(main())
