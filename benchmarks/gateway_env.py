"""What every gateway benchmark needs, started from nothing and torn down afterwards: a fresh
database (SQLite in a temporary data dir, or a re-created PostgreSQL database), a small
district with N simulated devices and their credentials, the seed automation rules, a private
Mosquitto configured by `linli mosquitto-config`'s code, and `linli gateway` processes.

The benchmark process itself loads Django with the same settings, so it can read the fleet
for the simulator and count stored rows; everything it measures runs in other processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NBIOT_SECRET = "bench-nbiot-secret"
GATEWAY_SECRET = "bench-gateway-secret"

# The benchmark fleet: mostly Linli MQTT devices (the 5,000/s path), a few of every other kind.
MQTT_MIX = (("ground-lock-mqtt", 0.4), ("door-contact-linli", 0.2), ("elevator-controller", 0.1),
            ("elevator-ai-camera", 0.1), ("perimeter-linli", 0.1), ("loudspeaker-linli", 0.05),
            ("led-display-linli", 0.05))
HTTP_MIX = (("lpr-alarminfoplate", 0.3), ("door-hik-isapi", 0.2), ("parking-sensor-nbiot", 0.2),
            ("smoke-nbiot", 0.1), ("water-meter-nbiot", 0.1), ("ip-camera", 0.1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": [round(x, 2) for x in load],
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "calibration": calibrate()}


def _calibration_work() -> int:
    # The kind of work a gateway does per message, fixed: JSON in and out, a digest, dict churn.
    import hashlib

    body = json.dumps({"AlarmInfoPlate": {"result": {"PlateResult": {"license": "鲁B12345", "plateid": 7,
                                                                     "timeStamp": {"Timeval": {"sec": 1}}}}}})
    total = 0
    for i in range(2000):
        doc = json.loads(body)
        doc["n"] = i
        total += len(hashlib.sha256(json.dumps(doc).encode()).digest())
        total += len({str(k): k for k in range(20)})
    return total


def calibrate(rounds: int = 7) -> dict[str, Any]:
    """A same-run CPU figure: a fixed piece of single-threaded Python work timed `rounds` times.

    Its median (ms) says how fast this host's core was for this run, so figures from different
    hosts or runs can be put side by side: a latency measured on a host whose calibration is 1.5×
    slower is not the same result as one on a faster host."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        _calibration_work()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"work_ms_min": round(times[0], 2), "work_ms_median": round(times[len(times) // 2], 2),
            "work_ms_max": round(times[-1], 2), "steal_pct_since_boot": steal_share()}


def calibration_line(before: dict[str, Any], after: dict[str, Any] | None = None) -> str:
    """One line every benchmark prints, so its figures can be set beside another host's."""
    def spread(c: dict[str, Any]) -> str:
        return f"{c['work_ms_min']}/{c['work_ms_median']}/{c['work_ms_max']}"

    line = f"CPU calibration (fixed Python work, ms min/median/max of 7): before {spread(before)}"
    if after:
        line += f", after {spread(after)}"
    return line + f"; steal since boot {before.get('steal_pct_since_boot')} %"


def cpu_totals() -> tuple[int, int]:
    """(all jiffies, stolen jiffies) of the machine so far, from /proc/stat."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields[:8]), fields[7]
    return 0, 0


def steal_share(since: tuple[int, int] = (0, 0)) -> float | None:
    """Percentage of CPU time the hypervisor took from this VM since `since` (cpu_totals())."""
    total, steal = cpu_totals()
    if total - since[0] <= 0:
        return None
    return round((steal - since[1]) / (total - since[0]) * 100, 1)


class CpuMeter:
    """CPU used by named groups of processes over a run (percent of one core), plus steal."""

    def __init__(self) -> None:
        self.groups: dict[str, Callable[[], list[int]]] = {}
        self._start: dict[str, float] = {}
        self._t0 = 0.0
        self._machine = (0, 0)
        self._busy0 = 0

    def watch(self, name: str, pids: Callable[[], list[int]]) -> None:
        self.groups[name] = pids

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._machine = cpu_totals()
        self._busy0 = _busy_jiffies()
        self._start = {name: cpu_seconds(pids()) for name, pids in self.groups.items()}

    def stop(self) -> dict[str, Any]:
        wall = max(time.monotonic() - self._t0, 1e-6)
        used = {name: round((cpu_seconds(pids()) - self._start.get(name, 0.0)) / wall * 100, 1)
                for name, pids in self.groups.items()}
        used["machine"] = round((_busy_jiffies() - self._busy0) / os.sysconf("SC_CLK_TCK") / wall * 100, 1)
        used["steal_pct"] = steal_share(self._machine)
        return used


def _busy_jiffies() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
    return 0


def process_tree(pid: int | None) -> list[int]:
    """`pid` and all its descendants now (Linux /proc), for CPU accounting of servers that fork."""
    if pid is None:
        return []
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


PG_BIN = Path(os.environ.get("LINLI_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivatePostgres:
    """A PostgreSQL server of our own in a temporary directory, on a free port: default settings
    plus `track_commit_timestamp` (exact commit times for the latency figures), and nobody
    else's tests sharing it. Started as the `postgres` user when we are root (initdb refuses root)."""

    def __init__(self, root: Path):
        self.dir = root / "pg"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/linli"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *args], check=check, capture_output=True, text=True)

    def start(self) -> str:
        if not (self.dir / "data").exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres")
            self._run(str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                      "--no-sync")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c track_commit_timestamp=on "
                  "-c max_connections=200", "start")
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'linli'").fetchone():
                conn.execute("CREATE DATABASE linli")
        return self.url

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, as in a real database restart."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "-l",
                  str(self.dir / "log"), "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                  "-c track_commit_timestamp=on -c max_connections=200", "restart")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop", check=False)

    def pids(self) -> list[int]:
        """The postmaster and its backends, for CPU accounting."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return process_tree(int((self.dir / "data" / "postmaster.pid").read_text().split()[0]))
        return []


@dataclass
class BenchEnv:
    db: str = "sqlite"
    keep: bool = False
    pg_url: str | None = None  # an existing server instead of a private one
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="linli-gw-bench-")))
    env: dict[str, str] = field(default_factory=dict)
    broker: subprocess.Popen | None = None
    broker_port: int = 0
    gateways: list[subprocess.Popen] = field(default_factory=list)
    http_port: int = 0
    postgres: PrivatePostgres | None = None

    def __post_init__(self) -> None:
        self.env = {**os.environ, "LINLI_DATA_DIR": str(self.data_dir), "DJANGO_SETTINGS_MODULE": "linli.settings",
                    "LINLI_NBIOT_SECRET_CTWING": NBIOT_SECRET, "LINLI_MQTT_GATEWAY_PASSWORD": GATEWAY_SECRET,
                    # the simulator's NB-IoT product (linli.simulate.fleet.NBIOT_PRODUCT): the gateway reads only these
                    "LINLI_NBIOT_PRODUCTS_CTWING": "linli-sim",
                    "PYTHONUNBUFFERED": "1"}
        self.env.pop("DATABASE_URL", None)
        if os.geteuid() == 0:
            self.data_dir.chmod(0o711)  # the private PostgreSQL runs as `postgres` and must reach its directory
        if self.db == "postgres" and self.pg_url:
            self.env["DATABASE_URL"] = self.pg_url
        elif self.db == "postgres":
            self.postgres = PrivatePostgres(self.data_dir)
            self.env["DATABASE_URL"] = self.postgres.url

    # --- database and data --------------------------------------------------------------

    def setup_django(self) -> None:
        """Point this process at the benchmark database (before anything imports Django models)."""
        for key in ("LINLI_DATA_DIR", "DJANGO_SETTINGS_MODULE", "LINLI_NBIOT_SECRET_CTWING",
                    "LINLI_MQTT_GATEWAY_PASSWORD"):
            os.environ[key] = self.env[key]
        if "DATABASE_URL" in self.env:
            os.environ["DATABASE_URL"] = self.env["DATABASE_URL"]
        else:
            os.environ.pop("DATABASE_URL", None)
        if self.postgres is not None:
            self.postgres.start()
        elif self.db == "postgres":  # an existing server: a fresh database on it
            import psycopg

            base, _, name = self.pg_url.rpartition("/")  # type: ignore[union-attr]
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)

    def populate(self, *, mqtt_devices: int, http_devices: int, rules: str = "seed", smoke_devices: int = 0
                 ) -> dict[str, Any]:
        """A small district, the fleet with its secrets, the seed rules; returns what was made."""
        from django.db import connection

        from linli.core.context import ChangeContext, change_context
        from linli.core.testing import build_district
        from linli.devices import services
        from linli.devices.models import DeviceType
        from linli.simulate.fleet import provision

        with change_context(ChangeContext(source="benchmark", actor="benchmark")):
            d = build_district()
            types = {t.code: t for t in DeviceType.objects.all()}
            made = []
            plan = ([(code, round(mqtt_devices * share)) for code, share in MQTT_MIX]
                    + [(code, round(http_devices * share)) for code, share in HTTP_MIX]
                    + [("smoke-nbiot", smoke_devices)])
            for code, n in plan:
                for i in range(n):
                    serial = f"86{len(made):013d}"  # NB-IoT devices are found by IMEI
                    made.append(services.register_device(
                        actor=d.admin, compound=d.a.compound, device_type=types[code], serial=serial,
                        name=f"{types[code].name} {i + 1}", building=d.a.building, unit=d.a.unit,
                        floor=1 + i % 6, lifecycle="active"))
            provision(made, actor=d.admin)
            installed = install_rules(d.admin, d.a.compound, made, held=rules == "held") if rules != "none" else []
        connection.close()
        return {"devices": len(made), "rules": installed}

    def count(self, sql: str, *params: Any) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    # --- broker and gateways ------------------------------------------------------------

    def start_broker(self, *, persistence: bool = False) -> int:
        from linli.devices import mosquitto

        binary = mosquitto.mosquitto_binary()
        if binary is None:
            raise SystemExit("mosquitto is not installed")
        self.broker_port = self.broker_port or free_port()
        broker_dir = self.data_dir / "mosquitto"
        files = mosquitto.write_broker_files(
            broker_dir, port=self.broker_port, gateway_secret=GATEWAY_SECRET,
            persistence_dir=broker_dir if persistence else None, run_as="root" if os.geteuid() == 0 else None)
        self.broker_files = files
        self.broker = mosquitto.spawn_broker(files, port=self.broker_port, binary=binary)
        return self.broker_port

    def stop_broker(self, *, kill: bool = False) -> None:
        if self.broker is not None:
            (self.broker.kill if kill else self.broker.terminate)()
            self.broker.wait(timeout=30)
            self.broker = None

    def restart_broker(self) -> None:
        from linli.devices import mosquitto

        self.stop_broker()
        binary = mosquitto.mosquitto_binary()
        self.broker = mosquitto.spawn_broker(self.broker_files, port=self.broker_port, binary=binary)

    def start_gateways(self, n: int = 1, *, mqtt: bool = True, extra_env: dict[str, str] | None = None,
                       edge: bool = False) -> int:
        """`linli gateway --workers n` (one HTTP port shared, the MQTT load split by a shared subscription)."""
        self.http_port = self.http_port or free_port()
        env = {**self.env, **(extra_env or {})}
        if mqtt:
            env.update(LINLI_MQTT_HOST="127.0.0.1", LINLI_MQTT_PORT=str(self.broker_port))
        log = open(self.data_dir / "gateway.log", "ab")  # noqa: SIM115 — closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "linli", "gateway", "--host", "127.0.0.1",
                                 "--port", str(self.http_port), "--workers", str(n), *(["--edge"] if edge else [])],
                                env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)
        self.gateways.append(proc)
        self.wait_healthy()
        return self.http_port

    def wait_healthy(self, timeout_s: float = 60) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{self.http_port}/healthz", timeout=1) as r:
                if r.status == 200:
                    time.sleep(1.0)  # the MQTT side subscribes right after
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gateway not healthy; see {self.data_dir / 'gateway.log'}")

    def stop_gateways(self, *, kill: bool = False) -> None:
        for proc in self.gateways:
            if kill:
                proc.kill()  # SIGKILL: no clean shutdown, nothing flushed
            else:
                proc.terminate()
        for proc in self.gateways:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        self.gateways = []

    def gateway_pids(self) -> list[int]:
        """The gateway processes (the supervisor and its workers) for CPU accounting."""
        pids = []
        for proc in self.gateways:
            pids.append(proc.pid)
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                pids.extend(int(c) for c in children)
        return pids

    def close(self) -> None:
        self.stop_gateways()
        self.stop_broker()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if self.postgres is not None:
            self.postgres.stop()
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def install_rules(admin: Any, compound: Any, devices: list[Any], *, held: bool = False) -> list[str]:
    """The seed rule templates for the benchmark compound, plus a battery rule on telemetry, so
    the after-store hook evaluates rules for most of the benchmark's events. `held` adds a rule
    that waits ("occupied for 5 minutes") on every ground lock's occupancy: the costly kind,
    since each event that breaks its condition must disarm a possible timer."""
    from linli.automations import services as rules

    fire_lane = [d.code for d in devices if d.device_type.kind == "parking_sensor"][:2]
    names = []
    try:
        from linli.automations.templates import TEMPLATES
    except ImportError:  # before the templates landed
        TEMPLATES = []
    for template in TEMPLATES:
        overrides = {"devices": fire_lane} if template.key == "fire_lane" else None
        rules.install_template(actor=admin, compound=compound, key=template.key, overrides=overrides)
        names.append(template.key)
    battery = {"trigger": {"event_type": "device.telemetry"},
               "conditions": [{"field": "payload.battery_v", "op": "lt", "value": 3.0}],
               "actions": [{"do": "raise_alarm", "type": "battery_low", "severity": "minor", "title": "电池电量低"}]}
    occupancy = {"trigger": {"event_type": "parking.space_occupancy", "device_kind": "ground_lock"},
                 "conditions": [{"field": "payload.occupied", "op": "eq", "value": True},
                                {"field": "device.code", "op": "in", "value": fire_lane or ["none"]}],
                 "hold_s": 300,
                 "actions": [{"do": "raise_alarm", "type": "lock_blocked", "severity": "minor",
                              "title": "地锁车位长时间占用"}]}
    for name, definition in (("battery", battery), ("occupancy", occupancy))[:2 if held else 1]:
        rules.create_rule(actor=admin, compound=compound, name=name, definition=definition)
        names.append(name)
    return names


def save_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return path


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def profile_later(env: BenchEnv, *, delay_s: float, seconds: float, name: str) -> None:
    """py-spy the gateway workers for `seconds`, `delay_s` from now; writes collapsed stacks
    and a top-functions summary to benchmarks/results/ (needs `pip install py-spy`)."""
    import threading

    # LINLI_BENCH_PYSPY_GIL=1: only the samples of the thread holding the interpreter lock
    extra = ["--gil"] if os.environ.get("LINLI_BENCH_PYSPY_GIL") else []

    def record() -> None:
        time.sleep(delay_s)
        RESULTS.mkdir(parents=True, exist_ok=True)
        pids = env.gateway_pids()
        workers = [p for p in pids[1:] if "resource_tracker" not in _cmdline(p)] or pids
        procs = []
        for pid in workers:
            out = RESULTS / f"profile-{name}-{pid}.txt"
            procs.append((out, subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw", "-d", str(int(seconds)),
                                                  "-r", "200", "-t", *extra, "-o", str(out), "-p", str(pid)],
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        for out, proc in procs:
            proc.wait()
            print(f"  profile: {out}\n{summarise_profile(out)}", flush=True)

    threading.Thread(target=record, daemon=True).start()


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    return ""


def summarise_profile(path: Path, top: int = 25) -> str:
    """Share of samples in which each function appears (inclusive), from py-spy's raw format."""
    from collections import Counter

    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    if not path.exists():
        return "  (no profile)"
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"  {n / total * 100:5.1f}% incl  {own[f] / total * 100:5.1f}% own  {f}"
             for f, n in inclusive.most_common(top)]
    return "\n".join(lines)
