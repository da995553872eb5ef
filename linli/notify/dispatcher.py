"""The dispatcher: claims due deliveries, sends them through their channel, records the outcome.

- Each round first resolves the recipients of notifications queued with `resolve_later`
  (the event writer's rules), writing their deliveries.
- Due means `next_attempt_at <= now`, life safety first, then critical/major, then oldest.
- Claiming is one short transaction (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
  dispatchers share the work; SQLite's single writer serialises it). Live-feed deliveries are
  written and marked sent in that same transaction. Others are marked `sending` with a lease
  (`next_attempt_at = now + NOTIFY_LEASE_SECONDS`): if the process dies mid-send, they come due
  again; then they are sent from a small thread pool, so a slow SMS gateway cannot hold up a
  fire alarm's console message.
- A failure that may pass is retried after `NOTIFY_BACKOFF_SECONDS` (5 s, 30 s, 2 min, 10 min,
  1 h), then the delivery is dead; a refusal (4xx, unknown number, unsubscribed) is dead at once.

In the gateway process `start_dispatcher` runs it as an asyncio task: woken at once when a
notification commits in the same process (`WAKER`), and polling every `NOTIFY_POLL_SECONDS`
for deliveries written by other processes. A life-safety notification's deliveries do not wait
for that task: the thread that committed it (the event writer's life-safety lane) claims and
sends them right after the commit. `dispatch_due()` runs one round synchronously
(tests, `linli manage notify_dispatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from linli.core import wakeup
from linli.core.masking import scrub
from linli.notify.channels import CHANNELS, Outgoing
from linli.notify.models import PRIORITY_LIFE_SAFETY, Delivery, DeliveryStatus, FeedItem, Notification
from linli.notify.providers import SendError
from linli.notify.services import DISPATCH_WAKEUP

log = logging.getLogger("linli.notify.dispatcher")

BATCH = 200


class Waker:
    """Wakes the running dispatcher loop from any thread (a commit in the event writer's thread)."""

    def __init__(self) -> None:
        self._target: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self.wakes = 0

    def attach(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        self._target = (loop, event)

    def detach(self) -> None:
        self._target = None

    def dispatch_life_safety_here(self) -> None:
        """Right after a life-safety notification committed, in the committing thread (the event
        writer's life-safety lane), when this process runs the dispatcher: its deliveries go out
        now, not after a hop to the dispatcher's thread and whatever round that one is in."""
        if self._target is None:
            return  # no dispatcher in this process: the wake-up (or its poll) reaches the one that is
        try:
            dispatch_due(wait=False, life_safety_only=True)
        except Exception as exc:  # the dispatcher's own round, woken too, takes them over
            log.warning("life-safety dispatch after commit failed: %s", type(exc).__name__)
        finally:
            close_old_connections()

    def wake(self) -> None:
        self.wakes += 1
        target = self._target
        if target is None:
            return  # no dispatcher in this process: the gateway's poll finds the rows
        loop, event = target
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(event.set)


WAKER = Waker()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _send_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=settings.NOTIFY_SEND_THREADS, thread_name_prefix="linli-send")
        return _pool


def backoff(attempts: int) -> dt.timedelta | None:
    """The wait after the `attempts`-th failed attempt, or None when that was the last one."""
    schedule = settings.NOTIFY_BACKOFF_SECONDS
    if attempts > len(schedule):
        return None
    return dt.timedelta(seconds=schedule[attempts - 1])


def dispatch_due(now: dt.datetime | None = None, *, limit: int = BATCH, wait: bool = True,
                 life_safety_only: bool = False) -> int:
    """Claim and send the deliveries due at `now` (default: the current time); returns how many
    were claimed. With `wait` (tests, commands) the sends run here, one after another, and are
    recorded before it returns; without, they go to the send pool (the dispatcher loop).
    `life_safety_only`: only those of life-safety notifications."""
    from linli.notify.services import RESOLVE_BATCH, resolve_pending

    fixed_now = now
    while resolve_pending(life_safety_only=life_safety_only) == RESOLVE_BATCH:  # what the rules queued
        pass
    now = now or timezone.now()
    local, external = _claim(now, limit, fixed_now, life_safety_only)
    if external:
        by_channel: dict[str, list[Outgoing]] = {}
        for o in external:
            by_channel.setdefault(o.channel, []).append(o)
        for name, group in by_channel.items():
            CHANNELS[name].prepare(group)
        if wait:
            for o in external:
                _send_one(o, fixed_now)
        else:
            pool = _send_pool()
            for o in external:
                pool.submit(_send_one, o, None, True)
    return local + len(external)


def _claim(now: dt.datetime, limit: int, fixed_now: dt.datetime | None,
           life_safety_only: bool = False) -> tuple[int, list[Outgoing]]:
    with transaction.atomic():
        due = Delivery.objects.filter(next_attempt_at__lte=now).order_by("-priority", "next_attempt_at", "id")
        if life_safety_only:
            due = due.filter(priority=PRIORITY_LIFE_SAFETY)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.only("id", "recipient_id", "channel", "notification_id", "attempts")[:limit])
        if not rows:
            return 0, []
        notifications = Notification.objects.in_bulk({r.notification_id for r in rows})
        by_channel: dict[str, list[Outgoing]] = {}
        for r in rows:
            by_channel.setdefault(r.channel, []).append(
                Outgoing(r.id, r.recipient_id, r.channel, notifications[r.notification_id], r.attempts))
        local_done = 0
        external: list[Outgoing] = []
        for name, items in by_channel.items():
            channel = CHANNELS.get(name)
            ids = [o.delivery_id for o in items]
            if channel is None:
                Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.DEAD, next_attempt_at=None,
                                                           last_error="unknown_channel", attempts=F("attempts") + 1)
            elif channel.local:
                _mark_sent_local(items, channel.send_local(items), fixed_now or timezone.now())
                local_done += len(items)
            else:
                Delivery.objects.filter(pk__in=ids).update(
                    status=DeliveryStatus.SENDING, attempts=F("attempts") + 1,
                    next_attempt_at=now + dt.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS))
                external += items
    return local_done, external


def _mark_sent_local(items: list[Outgoing], message_ids: list[str], sent_at: dt.datetime) -> None:
    rows = [Delivery(pk=o.delivery_id, status=DeliveryStatus.SENT, sent_at=sent_at, next_attempt_at=None,
                     attempts=o.attempts + 1, provider_message_id=mid, last_error="")
            for o, mid in zip(items, message_ids, strict=True)]
    Delivery.objects.bulk_update(rows, ["status", "sent_at", "next_attempt_at", "attempts",
                                        "provider_message_id", "last_error"])


def _send_one(item: Outgoing, fixed_now: dt.datetime | None, pooled: bool = False) -> None:
    channel = CHANNELS[item.channel]
    try:
        try:
            message_id = channel.send(item)
        except SendError as exc:
            _record_failure(item, exc.reason, exc.retry, fixed_now)
        except Exception as exc:  # a provider bug must not lose the delivery: retry it later
            log.warning("%s send failed: %s", item.channel, type(exc).__name__)
            _record_failure(item, f"error:{type(exc).__name__}", True, fixed_now)
        else:
            _record_sent(item, message_id, fixed_now)
        after = getattr(channel, "after", None)
        if after is not None:
            after(item)
    except Exception as exc:
        log.warning("recording a %s delivery failed: %s", item.channel, type(exc).__name__)
    finally:
        if pooled:
            close_old_connections()


def _record_sent(item: Outgoing, message_id: str, fixed_now: dt.datetime | None) -> None:
    Delivery.objects.filter(pk=item.delivery_id, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SENT, sent_at=fixed_now or timezone.now(), next_attempt_at=None, last_error="",
        provider_message_id=str(message_id)[:100])


def _record_failure(item: Outgoing, reason: str, retry: bool, fixed_now: dt.datetime | None) -> None:
    now = fixed_now or timezone.now()
    attempts = item.attempts + 1
    wait = backoff(attempts) if retry else None
    reason = scrub(reason)[:200]
    if wait is None:
        changes: dict[str, Any] = {"status": DeliveryStatus.DEAD, "next_attempt_at": None}
        log.warning("delivery %s dead after %s attempt(s): %s", item.delivery_id, attempts, reason)
    else:
        changes = {"status": DeliveryStatus.FAILED, "next_attempt_at": now + wait}
    Delivery.objects.filter(pk=item.delivery_id, status=DeliveryStatus.SENDING).update(last_error=reason, **changes)


def purge_feed(now: dt.datetime | None = None) -> int:
    """Drop live-feed rows older than `NOTIFY_FEED_KEEP_SECONDS` (they served their purpose)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.NOTIFY_FEED_KEEP_SECONDS)
    deleted, _ = FeedItem.objects.filter(created_at__lt=cutoff).delete()
    return deleted


async def start_dispatcher(context: Any = None) -> Callable[[], Awaitable[None]]:
    """Run the dispatcher in this event loop until the returned stop is awaited (gateway ingress)."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    WAKER.attach(loop, event)
    # One thread keeps one database connection for the claims: no connect per round.
    claims = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-notify")
    purge_every = 60.0

    def round_() -> int:
        return dispatch_due(wait=False)

    async def run() -> None:
        last_purge = loop.time()
        event.set()  # whatever came due while we were down
        while not stopping.is_set():
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as
            # the event fires, and the loop would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(settings.NOTIFY_POLL_SECONDS):
                    await event.wait()
            event.clear()
            try:
                claimed = await loop.run_in_executor(claims, round_)
                if loop.time() - last_purge > purge_every:
                    last_purge = loop.time()
                    await loop.run_in_executor(claims, purge_feed)
            except Exception as exc:
                log.warning("notification dispatch failed: %s", type(exc).__name__)
                await loop.run_in_executor(claims, close_old_connections)
                await asyncio.sleep(settings.NOTIFY_POLL_SECONDS)
                continue
            if claimed >= BATCH:
                event.set()  # more are waiting

    stopping = asyncio.Event()
    task = loop.create_task(run(), name="linli-notify-dispatcher")
    stop_listening = await wakeup.listen({DISPATCH_WAKEUP: event.set})

    async def stop() -> None:
        if stop_listening is not None:
            await stop_listening()
        WAKER.detach()
        stopping.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await loop.run_in_executor(claims, close_old_connections)
        claims.shutdown(wait=True)

    return stop
