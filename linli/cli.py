"""The `linli` command: one entry point for every process and admin task."""

from __future__ import annotations

import argparse
import os
import sys


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()


def _manage(*args: str, **options) -> None:
    from django.core.management import call_command

    call_command(*args, **options)


def cmd_migrate(ns: argparse.Namespace) -> None:
    _manage("migrate", "--noinput", verbosity=ns.verbosity)


def cmd_web(ns: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run("linli.asgi:application", host=ns.host, port=ns.port, workers=ns.workers, log_level="info",
                lifespan="off")


def cmd_gateway(ns: argparse.Namespace) -> None:
    from linli.gateway.app import run_gateway

    run_gateway(ns.host, ns.gateway_port, workers=ns.workers, edge=ns.edge)


def cmd_worker(ns: argparse.Namespace) -> None:
    from linli.worker.app import run_worker

    run_worker()


def _stop_when_orphaned(parent_pid: int) -> None:
    import signal
    import threading
    import time

    def watch() -> None:
        # uvicorn re-raises SIGTERM after its shutdown, so `linli run` may die without stopping us.
        while os.getppid() == parent_pid:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _gateway_child(host: str, port: int, parent_pid: int) -> None:
    _stop_when_orphaned(parent_pid)
    _django()
    from linli.gateway.app import run_gateway

    run_gateway(host, port)


def _worker_child(parent_pid: int) -> None:
    _stop_when_orphaned(parent_pid)
    _django()
    from linli.worker.app import run_worker

    run_worker()


def cmd_run(ns: argparse.Namespace) -> None:
    """Everything on one machine: migrate, optionally load the demo, serve web and gateway."""
    cmd_migrate(ns)
    if ns.demo:
        from linli.demo.district import demo_loaded, load_demo, print_logins

        if not demo_loaded():
            load_demo(scale=None, out=sys.stdout)
        print_logins(sys.stdout)
    print(f"Linli console: http://{ns.host if ns.host != '0.0.0.0' else '127.0.0.1'}:{ns.port}/", flush=True)  # noqa: S104
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    simulate = ns.demo and not ns.no_simulate
    if simulate:
        from linli.simulate.command import demo_environment

        demo_environment()  # before the children start: they inherit it
    # The gateway is its own asyncio process, as in a scaled deployment; it ends with the web server.
    children = [spawn.Process(target=_gateway_child, args=(ns.host, ns.gateway_port, os.getpid()),
                              name="linli-gateway", daemon=True),
                spawn.Process(target=_worker_child, args=(os.getpid(),), name="linli-worker", daemon=True)]
    if simulate:
        # Live devices for a newcomer: heartbeats, plate reads, door events and now and then an incident.
        from linli.simulate.command import simulator_child

        host = "127.0.0.1" if ns.host == "0.0.0.0" else ns.host  # noqa: S104
        children.append(spawn.Process(target=simulator_child, args=(f"http://{host}:{ns.gateway_port}", os.getpid()),
                                      name="linli-simulate", daemon=True))
    for child in children:
        child.start()
    try:
        cmd_web(ns)
    finally:
        for child in reversed(children):
            child.terminate()
            child.join(timeout=10)


def cmd_simulate(ns: argparse.Namespace) -> None:
    from linli.simulate.command import run_simulate

    sys.exit(run_simulate(ns))


def cmd_demo(ns: argparse.Namespace) -> None:
    from linli.demo.district import load_demo, print_logins

    cmd_migrate(ns)
    load_demo(scale=ns.scale, out=sys.stdout)
    if ns.scale is None:
        print_logins(sys.stdout)


def cmd_createadmin(ns: argparse.Namespace) -> None:
    from linli.accounts.services import create_superuser

    user = create_superuser(username=ns.username, password=ns.password)
    print(f"created administrator {user.username}")


def cmd_verify_audit(ns: argparse.Namespace) -> None:
    from linli.core.audit import verify_chain

    report = verify_chain()
    if report.ok:
        print(f"audit chain intact: {report.checked} entries, head {report.head}")
        return
    print(f"audit chain BROKEN at entry {report.broken_at}: {report.reason} ({report.checked} verified before it)")
    sys.exit(1)


def cmd_purge_events(ns: argparse.Namespace) -> None:
    """Delete events past their retention with their media, old dead letters and orphan files."""
    from linli.events.retention import purge

    report = purge(dry_run=ns.dry_run, batch_size=ns.batch_size)
    if report.skipped:
        sys.exit(f"purge-events: {report.skipped}")
    verb = "would delete (dry run)" if ns.dry_run else "deleted"
    print(f"{verb}: {report.total_events} events, {report.media} media files, {report.dead_letters} dead letters, "
          f"{report.orphans} orphan files in {report.seconds:.1f} s")
    for event_type, count in sorted(report.events.items()):
        print(f"  {event_type}: {count}")
    print(f"kept for open alarms: {report.kept_for_alarms}")


def cmd_schema(ns: argparse.Namespace) -> None:
    import json

    from linli.api import api

    text = json.dumps(api.get_openapi_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if ns.output:
        with open(ns.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


def cmd_hooks(ns: argparse.Namespace) -> None:
    """Every hook, its signature and meaning, and its registrants in the order they run."""
    from linli.core import hooks

    hooks.import_declarers("linli")
    sys.stdout.write(hooks.describe())


def cmd_manage(ns: argparse.Namespace) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["linli", *ns.args])


def cmd_mosquitto_config(ns: argparse.Namespace) -> None:
    """Write mosquitto.conf, the password file and the ACL file from the device registry."""
    from pathlib import Path

    from linli.devices import mosquitto

    tls = mosquitto.Tls(Path(ns.certfile), Path(ns.keyfile), Path(ns.cafile) if ns.cafile else None) \
        if ns.certfile else None
    try:
        files = mosquitto.write_broker_files(Path(ns.directory), port=ns.port, bind=ns.bind, tls=tls,
                                             persistence_dir=Path(ns.persistence) if ns.persistence else None,
                                             run_as=ns.run_as)
    except ValueError as exc:
        sys.exit(f"mosquitto-config: {exc}")
    print(f"wrote {files.conf}, {files.password_file}, {files.acl_file}; restart the broker (SIGHUP reloads accounts and ACLs, but not use_username_as_clientid)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linli", description="Linli smart-community platform")
    parser.add_argument("-v", "--verbosity", type=int, default=1)
    sub = parser.add_subparsers(dest="command", required=True)

    def serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=os.environ.get("LINLI_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("LINLI_PORT", "8000")))
        p.add_argument("--workers", type=int, default=1)

    def gateway_port(p: argparse.ArgumentParser, flag: str = "--gateway-port") -> None:
        p.add_argument(flag, dest="gateway_port", type=int,
                       default=int(os.environ.get("LINLI_GATEWAY_PORT", "8010")))

    p = sub.add_parser("run", help="migrate and serve everything in one process tree")
    serve_args(p)
    p.add_argument("--demo", action="store_true", help="load the demo district first (once)")
    p.add_argument("--no-simulate", action="store_true", help="with --demo: no simulated device traffic")
    gateway_port(p)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("gateway", help="serve device ingress (HTTP push, MQTT)")
    p.add_argument("--host", default=os.environ.get("LINLI_HOST", "127.0.0.1"))
    gateway_port(p, "--port")
    p.add_argument("--workers", type=int, default=int(os.environ.get("LINLI_GATEWAY_WORKERS", "1")),
                   help="gateway processes sharing the port and the MQTT load (about one per core)")
    p.add_argument("--edge", action="store_true",
                   default=os.environ.get("LINLI_GATEWAY_EDGE", "").lower() in ("1", "true", "yes"),
                   help="serve HTTP pushes (gate cameras, operator webhooks) from a process of their own, apart "
                        "from MQTT and the periodic work (PostgreSQL only)")
    p.set_defaults(func=cmd_gateway)
    p = sub.add_parser("worker", help="run the durable business jobs (deadlines, reminders, expiries)")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("simulate", help="drive realistic device traffic through the gateway (demo, benchmarks)")
    from linli.simulate.command import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser("web", help="serve the console and API (ASGI)")
    serve_args(p)
    p.set_defaults(func=cmd_web)
    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("demo", help="build the deterministic demo district")
    p.add_argument("--scale", type=int, default=None, help="number of compounds for benchmark data (e.g. 100)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("createadmin", help="create a platform administrator")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.set_defaults(func=cmd_createadmin)
    p = sub.add_parser("verify-audit", help="check the audit log's hash chain")
    p.set_defaults(func=cmd_verify_audit)
    p = sub.add_parser("purge-events", help="delete events past their retention, with their media")
    p.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    p.add_argument("--batch-size", type=int, default=None, help="rows per transaction (default 5000)")
    p.set_defaults(func=cmd_purge_events)
    p = sub.add_parser("schema", help="print or write the OpenAPI schema")
    p.add_argument("--output", "-o")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("mosquitto-config", help="write the Mosquitto config, password and ACL files")
    p.add_argument("directory")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--bind", default="127.0.0.1", help="any address but 127.0.0.1 needs --certfile/--keyfile")
    p.add_argument("--certfile")
    p.add_argument("--keyfile")
    p.add_argument("--cafile")
    p.add_argument("--persistence", help="directory for the broker's persistence file")
    p.add_argument("--run-as", help="user the broker runs as (when started as root)")
    p.set_defaults(func=cmd_mosquitto_config)
    p = sub.add_parser("hooks", help="list every hook and what is registered on it, in order")
    p.set_defaults(func=cmd_hooks)
    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> None:
    ns = build_parser().parse_args(argv)
    _django()
    ns.func(ns)
