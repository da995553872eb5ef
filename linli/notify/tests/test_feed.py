"""The live feed: a console receives its compounds' alarms and its own notifications, never another
street's; anonymous and cross-site sockets are refused; Redis carries it to every web process."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.db import connection, connections
from django.test import Client

from linli.notify import feed
from linli.notify.dispatcher import dispatch_due
from linli.notify.routing import websocket_app
from linli.notify.services import Audience, notify
from linli.notify.tests.websocket import WebsocketClient

WAIT = 3.0


@pytest.fixture(autouse=True)
def _fresh_layer():
    # Layers hold queues of the event loop that used them; every test runs its own loop.
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user, backend="linli.accounts.backends.StaffPasswordBackend")
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _socket(user=None, origin=b"http://testserver"):
    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin))
    if user is not None:
        headers.append((b"cookie", await sync_to_async(_session_cookie)(user)))
    communicator = WebsocketClient(websocket_app(), "/ws/feed/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


def _in_thread(func, *args, **kwargs):
    # asgiref's one sync thread, which the session middleware uses too: _done() closes its connection.
    return sync_to_async(func)(*args, **kwargs)


async def _done():
    await feed.BRIDGE.stop()
    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
def test_consoles_get_their_own_compounds_feed_and_nothing_from_across_the_street():
    from linli.core.testing import build_district

    district = build_district()
    a, b = district.a, district.b

    async def main():
        guard_a, ok_a = await _socket(a.users["guard"])
        officer_a, ok_officer = await _socket(a.users["community_officer"])  # a region grant
        guard_b, ok_b = await _socket(b.users["guard"])
        assert ok_a and ok_officer and ok_b
        try:
            await _in_thread(feed.publish, a.compound.pk, "alarm", {"id": 7, "status": "acknowledged"})
            for console in (guard_a, officer_a):
                message = await console.receive_json_from(WAIT)
                assert message["type"] == "alarm" and message["compound_id"] == a.compound.pk
                assert message["data"] == {"id": 7, "status": "acknowledged"}

            def notify_guard_a():
                notify(compound_id=a.compound.pk, audience=Audience(roles=("guard",)), title="消防通道占用",
                       body="", severity="major")
                return dispatch_due()

            assert await _in_thread(notify_guard_a) == 1
            message = await guard_a.receive_json_from(WAIT)
            assert message["type"] == "notification" and message["data"]["title"] == "消防通道占用"
            assert await guard_b.receive_nothing(timeout=0.5)
            assert await officer_a.receive_nothing(timeout=0.1)  # the notification was for the guard only
            await guard_a.send_json_to({"type": "ping"})
            assert await guard_a.receive_json_from(WAIT) == {"type": "pong"}
        finally:
            for console in (guard_a, officer_a, guard_b):
                await console.disconnect()
            await _done()

    asyncio.run(main())


@pytest.mark.django_db(transaction=True)
def test_anonymous_and_cross_site_sockets_are_refused():
    from linli.core.testing import build_district

    district = build_district()

    async def main():
        _, anonymous = await _socket(None)
        _, cross_site = await _socket(district.a.users["guard"], origin=b"https://evil.example")
        app, app_ok = await _socket(district.a.users["guard"], origin=None)  # apps send no Origin
        await app.disconnect()
        await _done()
        return anonymous, cross_site, app_ok

    assert asyncio.run(main()) == (False, False, True)


@pytest.mark.django_db
def test_with_redis_every_web_process_receives_the_message(district, redis_url, settings,
                                                          django_capture_on_commit_callbacks):
    from channels_redis.core import RedisChannelLayer

    prefix = f"linli-test-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [redis_url], "prefix": prefix}}}
    group = feed.compound_group(district.a.compound.pk)

    async def listen(ready: asyncio.Event, received: list):
        # Two layer instances with their own connections: two web processes.
        processes = [RedisChannelLayer(hosts=[redis_url], prefix=prefix) for _ in range(2)]
        channels = [await layer.new_channel() for layer in processes]
        for layer, channel in zip(processes, channels, strict=True):
            await layer.group_add(group, channel)
        ready.set()
        try:
            for layer, channel in zip(processes, channels, strict=True):
                received.append(await asyncio.wait_for(layer.receive(channel), timeout=WAIT))
        finally:
            for layer, channel in zip(processes, channels, strict=True):
                await layer.group_discard(group, channel)
                await layer.flush()

    # The listeners run in their own thread and loop; the publish happens here, in the test's transaction.
    ready, received, errors = threading.Event(), [], []

    def run_listeners():
        loop_ready = asyncio.Event()

        async def main():
            task = asyncio.create_task(listen(loop_ready, received))
            await loop_ready.wait()
            ready.set()
            await task

        try:
            asyncio.run(main())
        except Exception as exc:
            errors.append(exc)
            ready.set()

    listeners = threading.Thread(target=run_listeners)
    listeners.start()
    assert ready.wait(WAIT)
    with django_capture_on_commit_callbacks(execute=True):
        feed.publish(district.a.compound.pk, "alarm", {"id": 9})
    listeners.join(WAIT * 3)
    assert not errors, errors
    assert [r["message"]["data"] for r in received] == [{"id": 9}, {"id": 9}]
    assert feed.layer_is_shared()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_uvicorn_serves_the_feed_and_a_row_written_by_another_process_reaches_the_console(settings):
    """`linli web` end to end: the gateway (here: this process) writes the row, the web process's
    bridge reads it and its console receives it."""
    from linli.core.testing import build_district

    district = build_district()
    guard = district.a.users["guard"]
    cookie = _session_cookie(guard).decode()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": _url_of_test_database(), "REDIS_URL": "",
           "LINLI_FEED_POLL_SECONDS": "0.1", "SECRET_KEY": settings.SECRET_KEY,
           "LINLI_FIELD_KEY": settings.FIELD_ENCRYPTION_KEY, "LINLI_DATA_DIR": str(settings.DATA_DIR)}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([sys.executable, "-m", "linli", "web", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
        try:
            ws = _connect(server, log, f"ws://127.0.0.1:{port}/ws/feed/", cookie)
            with ws:
                time.sleep(0.3)  # the bridge reads the newest id when the first console connects
                feed.publish(district.a.compound.pk, "alarm", {"id": 11, "status": "active"})
                message = json.loads(ws.recv(timeout=5))
                assert message["type"] == "alarm" and message["data"] == {"id": 11, "status": "active"}
        finally:
            server.terminate()
            server.wait(timeout=10)


def _connect(server, log, url, cookie):
    import websockets.sync.client

    deadline = time.monotonic() + 30
    while True:
        try:
            return websockets.sync.client.connect(url, additional_headers={"Cookie": cookie}, open_timeout=5)
        except (OSError, websockets.exceptions.InvalidHandshake) as exc:
            assert server.poll() is None and time.monotonic() < deadline, f"linli web: {exc!r} {_tail(log)}"
            time.sleep(0.2)


def _url_of_test_database() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _tail(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]


@pytest.mark.django_db
def test_every_alarm_change_is_published_to_its_compounds_feed(district, django_capture_on_commit_callbacks):
    from linli.alarms import services as alarms
    from linli.notify.models import FeedItem

    a = district.a
    with django_capture_on_commit_callbacks(execute=True):
        alarm, _ = alarms.raise_alarm(compound_id=a.compound.pk, source=a.device.code, type="smoke",
                                      severity="critical", title="3号楼2单元烟感报警", life_safety=True)
    with django_capture_on_commit_callbacks(execute=True):
        alarms.acknowledge(actor=a.users["guard"], alarm=alarm)
    items = list(FeedItem.objects.filter(kind="alarm", data__id=alarm.pk).order_by("id"))
    assert [(i.compound_id, i.data["what"], i.data["status"]) for i in items] == [
        (a.compound.pk, "raised", "active"), (a.compound.pk, "acknowledged", "acknowledged")]
    assert feed.groups_of_compound(a.compound.pk)[:2] == ["feed.all", f"feed.c.{a.compound.pk}"]


@pytest.mark.django_db
def test_the_bridge_catches_a_row_that_committed_after_a_newer_one_and_never_repeats_one(district):
    from linli.notify.feed import _read_after, _start_point
    from linli.notify.models import FeedItem

    older, newer = (FeedItem.objects.create(compound_id=district.a.compound.pk, kind="alarm", data={"n": i})
                    for i in range(2))
    latest, recent = _start_point()
    assert latest == newer.pk and {older.pk, newer.pk} <= set(recent)  # at start: news only, no replays
    # The newer row was forwarded first; the older one became visible later (PostgreSQL commit order).
    late = _read_after(newer.pk, {newer.pk})
    assert [item_id for item_id, _ in late] == [older.pk]
    assert _read_after(newer.pk, {older.pk, newer.pk}) == []
    [(_, messages)] = late
    assert {group for group, _ in messages} >= {"feed.all", f"feed.c.{district.a.compound.pk}"}
