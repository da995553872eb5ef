"""The dispatcher: life safety first, retries with backoff until dead, woken at once on commit."""

import asyncio
import datetime as dt
import time

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from linli.core.testing import PHONES
from linli.notify.dispatcher import dispatch_due, start_dispatcher
from linli.notify.models import Delivery, DeliveryStatus, FeedItem
from linli.notify.services import Audience, notify
from linli.notify.testing import first_dispatch_latencies
from linli.notify.tests.fakes import FakeService


def _notice(side, title="停车费提醒", **kwargs):
    return notify(compound_id=side.compound.pk, audience=Audience(roles=("guard",)), title=title, body="",
                  **kwargs)


@pytest.mark.django_db
def test_a_console_delivery_goes_to_the_guards_live_feed_and_is_marked_sent(district):
    a = district.a
    n = _notice(a, title="消防通道占用", severity="major")
    assert dispatch_due() == 1
    delivery = Delivery.objects.get(notification=n, channel="console_feed")
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1 and delivery.next_attempt_at is None
    item = FeedItem.objects.get(user_id=a.users["guard"].pk)
    assert item.kind == "notification" and item.data["title"] == "消防通道占用"
    assert delivery.provider_message_id == f"feed-{item.pk}"
    [latency] = first_dispatch_latencies([n.pk])
    assert dt.timedelta(0) <= latency < dt.timedelta(seconds=5)
    assert dispatch_due() == 0  # nothing left


@pytest.mark.django_db
def test_life_safety_goes_first_even_behind_a_queue_of_older_messages(district):
    a = district.a
    for i in range(5):
        _notice(a, title=f"公告{i}")
    fire = _notice(a, title="烟感报警", severity="critical", life_safety=True)
    major = _notice(a, title="设备离线", severity="major")
    dispatch_due(limit=1)
    assert Delivery.objects.get(notification=fire, channel="console_feed").status == DeliveryStatus.SENT
    dispatch_due(limit=1)
    assert Delivery.objects.get(notification=major, channel="console_feed").status == DeliveryStatus.SENT
    assert Delivery.objects.filter(channel="console_feed", status=DeliveryStatus.PENDING).count() == 5


def _aliyun(settings, url):
    settings.SMS_PROVIDER = "aliyun"
    settings.SMS_TEMPLATES = {"notification": "SMS_900001", "login_code": "SMS_900002"}
    settings.ALIYUN_SMS = {"access_key_id": "LTAI-test", "access_key_secret": "secret-test", "sign_name": "邻里",
                           "region": "cn-hangzhou", "endpoint": url + "/"}


@pytest.mark.django_db
def test_a_failing_gateway_is_retried_after_5s_30s_2min_10min_1h_and_then_the_delivery_is_dead(district, settings,
                                                                                                   caplog):
    a = district.a
    with FakeService(lambda seen: (503, {}, b"busy")) as sms:
        _aliyun(settings, sms.url)
        n = notify(compound_id=a.compound.pk, audience=Audience(residents_of_building=a.building.pk),
                   title="燃气报警", body="3号楼2单元", severity="critical", life_safety=True)
        delivery = Delivery.objects.get(notification=n, channel="sms")
        t = timezone.now()
        waits = []
        for attempt in range(1, 7):
            assert dispatch_due(now=t - dt.timedelta(seconds=1)) == 0, "not due before its time"
            dispatch_due(now=t)
            delivery.refresh_from_db()
            assert delivery.attempts == attempt and delivery.last_error == "aliyun:503"
            if delivery.status == DeliveryStatus.DEAD:
                break
            assert delivery.status == DeliveryStatus.FAILED
            waits.append((delivery.next_attempt_at - t).total_seconds())
            t = delivery.next_attempt_at
        assert waits == [5, 30, 120, 600, 3600]
        assert delivery.status == DeliveryStatus.DEAD and delivery.next_attempt_at is None
        assert len(sms.seen) == 6
    assert PHONES["a_owner"] not in caplog.text


@pytest.mark.django_db
def test_a_refusal_is_dead_at_once_and_a_stale_claim_comes_due_again(district, settings):
    a = district.a
    answer = {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid", "RequestId": "r1"}
    with FakeService(lambda seen: (200, {}, answer)) as sms:
        _aliyun(settings, sms.url)
        n = notify(compound_id=a.compound.pk, audience=Audience(residents_of_building=a.building.pk),
                   title="燃气报警", body="", severity="critical")
        dispatch_due()
        delivery = Delivery.objects.get(notification=n, channel="sms")
        assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
        assert delivery.last_error == "aliyun:200:isv.MOBILE_NUMBER_ILLEGAL"
    # A process died while sending: once its lease is over the delivery is claimed again.
    settings.SMS_PROVIDER = "console"
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING,
                                                   next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert dispatch_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_the_running_dispatcher_is_woken_by_the_commit_not_by_its_poll(settings):
    from linli.core.testing import build_district

    district = build_district()
    settings.NOTIFY_POLL_SECONDS = 30  # a poll this slow cannot explain a fast send

    def sent(pk):
        return Delivery.objects.filter(notification_id=pk, channel="console_feed", status="sent").exists()

    async def main():
        stop = await start_dispatcher()
        try:
            await asyncio.sleep(0.2)  # its first round finds nothing
            started = time.monotonic()
            n = await sync_to_async(_notice, thread_sensitive=False)(district.a, title="烟感报警", life_safety=True)
            while not await sync_to_async(sent, thread_sensitive=False)(n.pk):
                assert time.monotonic() - started < 5, "the dispatcher was not woken"
                await asyncio.sleep(0.005)
            return time.monotonic() - started, n
        finally:
            await stop()

    elapsed, n = asyncio.run(main())
    assert elapsed < 1.0
    [latency] = first_dispatch_latencies([n.pk])
    assert latency < dt.timedelta(seconds=1)


@pytest.mark.django_db
def test_the_command_sends_what_is_due(district):
    from io import StringIO

    from django.core.management import call_command

    _notice(district.a)
    out = StringIO()
    call_command("notify_dispatch", stdout=out)
    assert out.getvalue().strip() == "dispatched 1 deliveries"


@pytest.mark.django_db(transaction=True)  # the round's own transactions, not savepoints in the test's
def test_a_fire_alarms_round_resolves_and_claims_without_savepoints_or_an_empty_second_pass(district):
    """Every statement of the round is a round trip on a fire alarm's way to the guard's screen:
    queued notifications are resolved in one pass (a short pass means none is left) and with no
    savepoint per notification."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a = district.a
    queued = [notify(compound_id=a.compound.pk, audience=Audience(roles=("guard",)), title="烟感报警", body="",
                     severity="critical", life_safety=True, resolve_later=True) for _ in range(2)]
    with CaptureQueriesContext(connection) as queries:
        assert dispatch_due() == 2
    statements = [q["sql"] for q in queries.captured_queries]
    pending_reads = [s for s in statements if s.startswith("SELECT") and '"resolved_at" IS NULL' in s]
    assert len(pending_reads) == 1
    assert not any("SAVEPOINT" in s for s in statements)
    assert all(Delivery.objects.get(notification=n, channel="console_feed").status == DeliveryStatus.SENT
               for n in queued)


@pytest.mark.django_db(transaction=True)
def test_a_life_safety_notification_is_sent_by_the_thread_that_committed_it(settings, monkeypatch):
    """Where the dispatcher runs (the gateway), a fire alarm's console message goes out right
    after its commit, from the committing thread (the event writer's life-safety lane): not after
    a hop to the dispatcher's thread and whatever round that is in. Other notifications still
    go through the dispatcher."""
    import threading

    from linli.core.testing import build_district
    from linli.notify.channels import CHANNELS

    district = build_district()
    settings.NOTIFY_POLL_SECONDS = 30
    feed = CHANNELS["console_feed"]
    send_local = feed.send_local
    sent_by: dict[str, str] = {}

    def noting_thread(items):
        for o in items:
            sent_by[o.notification.title] = threading.current_thread().name
        return send_local(items)

    monkeypatch.setattr(feed, "send_local", noting_thread)

    def commit_both() -> tuple[str, bool]:
        fire = _notice(district.a, title="烟感报警", severity="critical", life_safety=True)
        sent_on_return = Delivery.objects.filter(notification=fire, channel="console_feed",
                                                 status=DeliveryStatus.SENT).exists()
        _notice(district.a, title="停车费提醒")
        return threading.current_thread().name, sent_on_return

    async def main():
        stop = await start_dispatcher()
        try:
            await asyncio.sleep(0.2)
            committer, sent_on_return = await sync_to_async(commit_both, thread_sensitive=False)()
            started = time.monotonic()
            while "停车费提醒" not in sent_by:
                assert time.monotonic() - started < 5, "the dispatcher did not send the other notice"
                await asyncio.sleep(0.005)
            return committer, sent_on_return
        finally:
            await stop()

    committer, sent_on_return = asyncio.run(main())
    assert sent_on_return and sent_by["烟感报警"] == committer
    assert sent_by["停车费提醒"].startswith("linli-notify")


@pytest.mark.django_db
def test_without_a_dispatcher_in_the_process_a_life_safety_notification_waits_for_one(district,
                                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fire = _notice(district.a, title="烟感报警", severity="critical", life_safety=True)
    assert Delivery.objects.get(notification=fire, channel="console_feed").status == DeliveryStatus.PENDING
    assert dispatch_due() >= 1
    assert Delivery.objects.get(notification=fire, channel="console_feed").status == DeliveryStatus.SENT
