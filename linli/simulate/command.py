"""`linli simulate`, and the gentle simulator `linli run --demo` starts beside the gateway."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import TextIO

from linli.simulate.fleet import NBIOT_PLATFORM, NBIOT_PRODUCT

# Django-free at import: `linli` builds its parser, and spawns the demo simulator, before Django is set up.
NBIOT_SECRET_ENV = f"LINLI_NBIOT_SECRET_{NBIOT_PLATFORM.upper()}"
NBIOT_PRODUCTS_ENV = f"LINLI_NBIOT_PRODUCTS_{NBIOT_PLATFORM.upper()}"
DEMO_RATE = 2.0  # everyday messages a second in the demo: lively, yet light on a laptop
DEMO_INCIDENT_EVERY_S = 90.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    port = os.environ.get("LINLI_GATEWAY_PORT", "8010")
    p.add_argument("--gateway", default=f"http://127.0.0.1:{port}", help="the gateway's HTTP address")
    p.add_argument("--mqtt-host", default=os.environ.get("LINLI_MQTT_HOST"),
                   help="broker for Linli's own devices (default $LINLI_MQTT_HOST; without one they push over HTTP)")
    p.add_argument("--mqtt-port", type=int, default=int(os.environ.get("LINLI_MQTT_PORT", "1883")))
    p.add_argument("--rate", type=float, default=5.0, help="everyday messages per second, whole fleet")
    p.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
    p.add_argument("--devices", default=None, help="only these: shell patterns on code, type or kind, comma-separated; !pattern leaves out")
    p.add_argument("--offline", type=float, default=0.0, metavar="FRACTION", help="devices that stop heartbeating")
    p.add_argument("--duplicates", type=float, default=0.0, metavar="FRACTION",
                   help="messages sent again with the same message id")
    p.add_argument("--malformed", type=float, default=0.0, metavar="FRACTION",
                   help="broken messages (bad JSON, unknown device, wrong token): dead letters")
    p.add_argument("--burst", default=None, metavar="FACTOR:SECONDS[@START]", help="e.g. 3:60@30")
    p.add_argument("--incidents", type=float, default=0.0, metavar="SECONDS",
                   help="mean seconds between incidents (smoke, e-bike, fire lane, fence, entrapment); 0 = none")
    p.add_argument("--no-heartbeats", action="store_true", help="no periodic heartbeats")
    p.add_argument("--images", type=float, default=0.1, metavar="FRACTION", help="camera messages with a snapshot")
    p.add_argument("--summary-every", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--provision", action="store_true",
                   help="issue credentials to the selected devices the simulator has no secrets for "
                        "(revokes their old ones: simulated devices only)")


def options_from(ns: argparse.Namespace):
    from linli.simulate.runner import Burst, Options

    return Options(gateway_url=ns.gateway, mqtt_host=ns.mqtt_host, mqtt_port=ns.mqtt_port,
                   nbiot_secret=os.environ.get(NBIOT_SECRET_ENV), rate=ns.rate, duration=ns.duration,
                   offline=ns.offline, duplicates=ns.duplicates, malformed=ns.malformed,
                   burst=Burst.parse(ns.burst) if ns.burst else None, incident_every_s=ns.incidents,
                   heartbeats=not ns.no_heartbeats, images=ns.images, summary_every_s=ns.summary_every, seed=ns.seed)


def run_simulate(ns: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from linli.simulate.fleet import load_fleet
    from linli.simulate.runner import Simulator, fleet_summary

    if ns.provision:
        _provision_missing(ns.devices, out)
    fleet, missing = load_fleet(ns.devices)
    if missing:
        out.write(f"{missing} registered devices have no simulator secrets (see --provision); left out\n")
    if not fleet:
        out.write("no devices to simulate: load the demo (`linli demo`) or register devices and use --provision\n")
        return 1
    options = options_from(ns)
    if options.nbiot_secret is None and any(d.protocol == "nbiot_webhook" for d in fleet):
        out.write(f"{NBIOT_SECRET_ENV} is not set: NB-IoT devices report through Linli JSON instead\n")
    out.write(f"simulating {fleet_summary(fleet, options.mqtt_host is not None)} → {options.gateway_url}\n")
    out.flush()
    stats = asyncio.run(_run_until_stopped(Simulator(fleet, options, out=out)))
    return 0 if stats.acked or not stats.sent else 1


async def _run_until_stopped(simulator):
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, simulator.stop)
    return await simulator.run()


def _provision_missing(only: str | None, out: TextIO) -> None:
    from linli.accounts.models import User
    from linli.core.context import ChangeContext, change_context
    from linli.devices.models import Device, Lifecycle
    from linli.simulate.fleet import matches, parse_patterns, provision, read_secrets

    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
    if admin is None:
        raise SystemExit("simulate --provision: create an administrator first (linli createadmin)")
    known, patterns = read_secrets(), parse_patterns(only)
    devices = [d for d in Device.objects.exclude(lifecycle=Lifecycle.DISABLED).select_related("device_type")
               if d.code not in known and matches(patterns, d.code, d.device_type.code, d.device_type.kind)]
    with change_context(ChangeContext(source="simulate", actor="simulate")):
        n = provision(devices, actor=admin)
    out.write(f"issued credentials to {n} devices; for MQTT run `linli mosquitto-config` and reload the broker\n")


def demo_environment() -> None:
    """The demo's NB-IoT platform secret, kept in the data dir, and its product, for the gateway and the simulator."""
    from linli.config import kept_secret

    os.environ[NBIOT_SECRET_ENV] = kept_secret("nbiot_demo_secret", NBIOT_SECRET_ENV)
    products = [p.strip() for p in os.environ.get(NBIOT_PRODUCTS_ENV, "").split(",") if p.strip()]
    os.environ[NBIOT_PRODUCTS_ENV] = ",".join(dict.fromkeys([*products, NBIOT_PRODUCT]))


def simulator_child(gateway_url: str, parent_pid: int) -> None:
    """`linli run --demo`'s simulator process: waits for the gateway, then drives the demo devices."""
    from linli.gateway.supervisor import exit_with_parent

    exit_with_parent(parent_pid)
    import django

    django.setup()
    _wait_for(gateway_url)
    ns = argparse.Namespace(gateway=gateway_url, mqtt_host=os.environ.get("LINLI_MQTT_HOST"),
                            mqtt_port=int(os.environ.get("LINLI_MQTT_PORT", "1883")), rate=DEMO_RATE,
                            duration=None, devices=None, offline=0.0, duplicates=0.0, malformed=0.0, burst=None,
                            incidents=DEMO_INCIDENT_EVERY_S, no_heartbeats=False, images=0.2, summary_every=60.0,
                            seed=None, provision=False)
    run_simulate(ns, out=_Prefixed(sys.stdout, "simulate: "))


def _wait_for(gateway_url: str, timeout_s: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{gateway_url}/healthz", timeout=1):  # noqa: S310
            return
        time.sleep(0.5)


class _Prefixed:
    """Marks the simulator's lines in `linli run`'s shared console."""

    def __init__(self, out: TextIO, prefix: str):
        self.out, self.prefix, self.fresh = out, prefix, True

    def write(self, text: str) -> None:
        for part in text.splitlines(keepends=True):
            self.out.write((self.prefix if self.fresh else "") + part)
            self.fresh = part.endswith("\n")

    def flush(self) -> None:
        self.out.flush()
