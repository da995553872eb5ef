"""The live feed to consoles (实时推送): Django Channels groups, fed from `FeedItem` rows.

Every message is first a `FeedItem` row, written in the caller's transaction. After commit:
- with a shared channel layer (Redis, `REDIS_URL` set) the row is sent straight to the layer,
  so every web process's consoles receive it at once;
- with the in-process layer (the embedded default) each web process runs a `FeedBridge` that
  reads new rows by id (woken at once when the row was written in the same process, else
  within `NOTIFY_FEED_POLL_SECONDS`) and sends them to its own layer. That is how a row
  written by the gateway process reaches consoles connected to the web process.

Groups: one per user (`feed.u.<id>`, notifications addressed to them) and one per node of the
place tree a grant can sit on (compound, property company, region by code, and `feed.all`
for administrators), so a street officer's console joins one group, not one per compound.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.notify.models import FeedItem

log = logging.getLogger("linli.notify.feed")

GROUP_ALL = "feed.all"
VIEW_PERMISSION = "notify.view_notification"
KINDS = ("notification", "alarm")
_PLACE_TTL_S = 60.0
LOOK_BACK = dt.timedelta(seconds=5)  # how late a row may commit after its id was taken


def user_group(user_id: int) -> str:
    return f"feed.u.{user_id}"


def compound_group(compound_id: int) -> str:
    return f"feed.c.{compound_id}"


def organisation_group(organisation_id: int) -> str:
    return f"feed.o.{organisation_id}"


def region_group(code: str) -> str:
    return f"feed.r.{code}"


def _region_code(path: str) -> str:
    return [p for p in path.split("/") if p][-1]


# compound id → (region path, property company id, read at); compounds seldom move.
_places: dict[int, tuple[str, int | None, float]] = {}


def groups_of_compound(compound_id: int) -> list[str]:
    """Every group whose members may see this compound's feed."""
    from linli.places.models import Compound

    cached = _places.get(compound_id)
    if cached is None or time.monotonic() - cached[2] > _PLACE_TTL_S:
        row = Compound.objects.filter(pk=compound_id).values_list("region_path", "property_company_id").first()
        region_path, company_id = row if row else ("", None)
        cached = _places[compound_id] = (region_path, company_id, time.monotonic())
    region_path, company_id, _ = cached
    groups = [GROUP_ALL, compound_group(compound_id)]
    if company_id:
        groups.append(organisation_group(company_id))
    groups += [region_group(code) for code in region_path.split("/") if code]
    return groups


def groups_for_user(user: Any) -> list[str]:
    """The groups a console of `user` joins: their own, and the nodes their grants reach."""
    from linli.places.models import Compound

    groups = [user_group(user.pk)]
    scope = user.scope()
    if scope.unrestricted:
        return [*groups, GROUP_ALL]
    compound_ids: set[int] = set()
    for grant in scope.grants_for(VIEW_PERMISSION):
        if grant.region_path:
            groups.append(region_group(_region_code(grant.region_path)))
        elif grant.organisation_id:
            groups.append(organisation_group(grant.organisation_id))
        elif grant.compounds is not None:
            compound_ids.update(Compound.objects.filter(id__in=grant.compounds).values_list("id", flat=True))
    groups += [compound_group(c) for c in sorted(compound_ids)]
    return list(dict.fromkeys(groups))


def message_of(item: FeedItem) -> dict[str, Any]:
    """What a console receives (JSON)."""
    return {"type": item.kind, "id": item.pk, "compound_id": item.compound_id,
            "at": item.created_at.isoformat(), "data": item.data}


def addressed(items: Iterable[FeedItem]) -> list[tuple[str, dict[str, Any]]]:
    """(group, layer message) for every item."""
    out = []
    for item in items:
        event = {"type": "feed.message", "message": message_of(item)}
        groups = [user_group(item.user_id)] if item.user_id else groups_of_compound(item.compound_id or 0)
        out += [(group, event) for group in groups]
    return out


def publish(compound_id: int, kind: str, data: dict[str, Any], *, user_id: int | None = None) -> FeedItem:
    """Push `data` to the live feed of `compound_id` (or of one user) once the transaction commits.

    Call it from services after a change consoles should see at once, e.g. the alarm board:
    `publish(alarm.compound_id, "alarm", {"id": alarm.pk, "status": alarm.status, ...})`.
    `data` must be JSON and hold no personal data.
    """
    item = FeedItem.objects.create(compound_id=compound_id, user_id=user_id, kind=kind, data=data)
    transaction.on_commit(lambda: forward([item]))
    return item


def publish_alarm_change(alarm: Any, what: str) -> None:
    """The alarms app's after-commit hook: tell the compound's consoles what happened to an alarm."""
    publish(alarm.compound_id, "alarm", {
        "id": alarm.pk, "what": str(what), "status": alarm.status, "severity": alarm.severity, "type": alarm.type,
        "title": alarm.title, "count": alarm.count, "life_safety": alarm.life_safety,
        "device_id": alarm.device_id, "escalation_level": alarm.escalation_level,
        "raised_at": alarm.raised_at.isoformat() if alarm.raised_at else None,
        "last_seen_at": alarm.last_seen_at.isoformat() if alarm.last_seen_at else None,
    })


def publish_rows(rows: list[FeedItem]) -> list[FeedItem]:
    """Several items at once (the dispatcher's console deliveries), forwarded after commit."""
    created = FeedItem.objects.bulk_create(rows)
    if created and created[0].pk is None:  # backends without RETURNING on bulk insert
        created = list(FeedItem.objects.order_by("-id")[: len(rows)])[::-1]
    transaction.on_commit(lambda: forward(created))
    return created


def layer_is_shared() -> bool:
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    return not backend.endswith("InMemoryChannelLayer")


def forward(items: list[FeedItem]) -> Future | None:
    """Send committed items on: to the shared layer, or wake this process's bridge."""
    if not items:
        return None
    if layer_is_shared():
        return SENDER.submit(addressed(items))
    BRIDGE.wake()
    return None


class LayerSender:
    """A thread with its own event loop that sends to the shared channel layer.

    Services run in plain threads and in threads of an event loop alike; handing the sends to
    one long-lived loop keeps one Redis connection pool instead of one per call.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="linli-feed-sender", daemon=True).start()
                self._loop = loop
            return self._loop

    def submit(self, messages: list[tuple[str, dict[str, Any]]]) -> Future:
        return asyncio.run_coroutine_threadsafe(self._send(messages), self._ensure())

    @staticmethod
    async def _send(messages: list[tuple[str, dict[str, Any]]]) -> int:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        sent = 0
        for group, event in messages:
            try:
                await layer.group_send(group, event)
                sent += 1
            except Exception as exc:
                # Consoles catch up from the API on reconnect; the delivery itself is recorded.
                log.warning("live feed send failed: %s", type(exc).__name__)
        return sent


class FeedBridge:
    """Forwards new `FeedItem` rows to this process's in-process layer (web processes only)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.last_id = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def ensure_started(self) -> None:
        """Start in the running loop (the first console connecting does this); idempotent."""
        if layer_is_shared():
            return
        loop = asyncio.get_running_loop()
        if self.running and self._loop is loop:
            return
        self._loop, self._event = loop, asyncio.Event()
        self._task = loop.create_task(self._run(), name="linli-feed-bridge")

    def wake(self) -> None:
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            await in_db_thread(_close_connections)
        self._task = self._loop = self._event = None

    async def _run(self) -> None:
        from channels.layers import get_channel_layer

        # Ids are taken at insert but rows become visible at commit, which PostgreSQL may do out of
        # order: a short look-back by time catches a late row, and `forwarded` stops repeats. What
        # is already there when the bridge starts counts as forwarded: consoles get news, not replays.
        self.last_id, recent = await in_db_thread(_start_point)
        forwarded: deque[int] = deque(recent, maxlen=5000)
        event = self._event
        assert event is not None
        while True:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: 3.11's wait_for can swallow a cancel
                async with asyncio.timeout(settings.NOTIFY_FEED_POLL_SECONDS):
                    await event.wait()
            event.clear()
            try:
                batch = await in_db_thread(_read_after, self.last_id, set(forwarded))
            except Exception as exc:
                log.warning("live feed read failed: %s", type(exc).__name__)
                continue
            layer = get_channel_layer()
            for item_id, messages in batch:
                for group, message in messages:
                    await layer.group_send(group, message)
                forwarded.append(item_id)
                self.last_id = max(self.last_id, item_id)


# The web process's feed reads (the bridge, a console's groups) share one thread and so one
# database connection, instead of one per executor thread.
_db_thread: ThreadPoolExecutor | None = None


async def in_db_thread(func: Any, *args: Any) -> Any:
    """Run the synchronous `func` in the feed's database thread, with a usable connection."""
    global _db_thread
    if _db_thread is None:
        _db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-feed-db")
    return await asyncio.get_running_loop().run_in_executor(_db_thread, _fresh(func), *args)


def _fresh(func: Any) -> Any:
    from django.db import close_old_connections

    def run(*args: Any) -> Any:
        close_old_connections()  # drops a connection a restarted database broke
        return func(*args)

    return run


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


def _start_point() -> tuple[int, list[int]]:
    """The newest id, and the ids inside the look-back window, when the bridge starts."""
    latest = FeedItem.objects.order_by("-id").values_list("id", flat=True).first() or 0
    recent = list(FeedItem.objects.filter(created_at__gte=timezone.now() - LOOK_BACK).values_list("id", flat=True))
    return latest, recent


def _read_after(last_id: int, forwarded: set[int],
                limit: int = 500) -> list[tuple[int, list[tuple[str, dict[str, Any]]]]]:
    """New rows, and rows of the last seconds not forwarded yet (committed late), in id order,
    each with its addressed messages (worked out here, in a thread, never in the event loop)."""
    window = FeedItem.objects.filter(id__lte=last_id, created_at__gte=timezone.now() - LOOK_BACK)
    late = set(window.values_list("id", flat=True)) - forwarded  # usually none
    items = FeedItem.objects.filter(Q(id__gt=last_id) | Q(id__in=late)).order_by("id")[:limit]
    return [(item.pk, addressed([item])) for item in items]


SENDER = LayerSender()
BRIDGE = FeedBridge()
