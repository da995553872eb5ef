"""Storing device messages: de-duplicate on (device, message id), store, then acknowledge.

`store()` is synchronous and takes a batch: the gateway's single writer calls it from a
thread with everything that arrived since the last commit, and resolves each sender's
acknowledgement only after the transaction committed (at-least-once, end to end).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from linli.core import hooks
from linli.events import types
from linli.events.models import DeadLetter, Event

RAW_LIMIT = 8000

AFTER_STORE = hooks.declare("events.after_store", "(events: list[Event]) -> None", """
Called with the newly stored events of a batch (duplicates excluded), inside the batch's
transaction, unless the registrant says through an `atomic_with_store(batch: list[Incoming]) ->
bool` attribute answering False that for this batch it only writes what may trail the events
(a device's last-seen time): a crash between the two must not lose what it owes (a rule's run,
a command's ack). Such a batch is answered first and its hooks run after, in another thread.
""")


def _needs_transaction(batch: list[Incoming]) -> bool:
    for hook in AFTER_STORE:
        wants = getattr(hook, "atomic_with_store", None)
        if wants is None or wants(batch):
            return True
    return False


@dataclass(frozen=True)
class Incoming:
    """One message an adapter understood, ready to store."""

    device_id: int
    compound_id: int
    type: str
    message_id: str
    at: dt.datetime
    payload: dict[str, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Stored:
    incoming: Incoming
    event_id: int | None  # None when it was a duplicate of an event already stored
    duplicate: bool


def store(batch: list[Incoming], *, on_commit: Callable[[list[Stored]], None] | None = None,
          trail: Callable[[list[Event]], None] | None = None) -> list[Stored]:
    """Store a batch in one transaction; duplicates (also within the batch) are reported, not stored twice.

    One INSERT … ON CONFLICT (device, message id) DO NOTHING RETURNING for the whole batch: the
    unique constraint decides what is new, also against another gateway storing the same
    message at the same moment, and no model is built or validated per row on the way in.

    `on_commit(results)` is called right after the commit, before the commit hooks the
    after-store hooks registered (live feed, notification wake-ups): the writer answers the
    devices there instead of after those.

    `trail(events)`, when given, takes over the hooks of a batch that owes them nothing together
    with its events (the fast path below): the gate lane hands them to another thread, so the
    next camera's read does not wait for the last one's last-seen update. Run them with
    `follow(events)`.
    """
    if not batch:
        return []
    now = timezone.now()
    first: dict[tuple[int, str], Incoming] = {}
    for m in batch:
        first.setdefault((m.device_id, m.message_id), m)
    connection = connections[Event.objects.db]
    # Inside a caller's transaction nothing commits here, and a batch over one statement would
    # commit in parts: both keep the single transaction.
    if len(first) <= _CHUNK and not connection.in_atomic_block and not _needs_transaction(batch):
        return _store_then_follow(batch, first, now, on_commit, trail or follow)
    with transaction.atomic():
        inserted = _insert(list(first.values()), now)
        results = _results(batch, inserted)
        if on_commit is not None:
            transaction.on_commit(lambda: on_commit(results))  # first in line: hooks register theirs below
        events = [_event(inserted[key], m, now) for key, m in first.items() if key in inserted]
        for hook in AFTER_STORE:
            hook(events)
    return results


def _store_then_follow(batch: list[Incoming], first: dict[tuple[int, str], Incoming], now: dt.datetime,
                       on_commit: Callable[[list[Stored]], None] | None,
                       trail: Callable[[list[Event]], None]) -> list[Stored]:
    """One statement in autocommit, the sender answered, then the trailing hooks in their own
    transaction: a plate read whose camera holds the barrier costs one round trip, not three."""
    inserted = _insert(list(first.values()), now)  # atomic on its own: one INSERT … RETURNING
    results = _results(batch, inserted)
    if on_commit is not None:
        on_commit(results)
    events = [_event(inserted[key], m, now) for key, m in first.items() if key in inserted]
    if events:
        trail(events)
    return results


def follow(events: list[Event]) -> None:
    """The after-store hooks of stored events that owe them nothing together (a last-seen time),
    in a transaction of their own."""
    with transaction.atomic():
        for hook in AFTER_STORE:
            hook(events)


def _results(batch: list[Incoming], inserted: dict[tuple[int, str], int]) -> list[Stored]:
    results = []
    seen: set[tuple[int, str]] = set()
    for m in batch:
        key = (m.device_id, m.message_id)
        new = key in inserted and key not in seen
        seen.add(key)
        results.append(Stored(m, inserted[key] if new else None, duplicate=not new))
    return results


_COLUMNS = ("compound_id", "device_id", "type", "at", "received_at", "message_id", "lane", "payload", "evidence")
_CHUNK = 1000  # rows per statement (SQLite binds at most 32,766 parameters)


def _insert(messages: list[Incoming], now: dt.datetime) -> dict[tuple[int, str], int]:
    """Insert what is not stored yet; returns {(device, message id): event id} of the rows inserted."""
    connection = connections[Event.objects.db]
    quote = connection.ops.quote_name
    table = quote(Event._meta.db_table)
    column_of = {f.attname: f.column for f in Event._meta.concrete_fields}
    columns = ", ".join(quote(column_of[c]) for c in _COLUMNS)
    conflict = f"ON CONFLICT ({quote('device_id')}, {quote('message_id')}) DO NOTHING RETURNING id, device_id, message_id"
    inserted: dict[tuple[int, str], int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(messages), _CHUNK):
            chunk = messages[start:start + _CHUNK]
            if connection.vendor == "postgresql":
                # The batch as one JSON document, unpacked by the server: one statement, one round
                # trip, and no per-value adaptation in Python. Identifiers come from the model.
                rows = json.dumps([{"c": m.compound_id, "d": m.device_id, "t": m.type, "a": m.at.isoformat(),
                                    "m": m.message_id, "l": types.lane_of(m.type), "p": m.payload,
                                    "e": m.evidence} for m in chunk])
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT c, d, t, a, %s, m, l, p, e "  # noqa: S608
                    "FROM jsonb_to_recordset(%s::jsonb) AS u(c bigint, d bigint, t text, a timestamptz, m text, "
                    f"l text, p jsonb, e jsonb) {conflict}", [now, rows])
            else:  # SQLite (3.35+ has RETURNING)
                adapt = connection.ops.adapt_datetimefield_value
                received = adapt(now)
                rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
                params: list[Any] = []
                for m in chunk:
                    params += [m.compound_id, m.device_id, m.type, adapt(m.at), received, m.message_id,
                               types.lane_of(m.type), _json(m.payload), _json(m.evidence)]
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {rows} {conflict}", params)  # noqa: S608
            for event_id, device_id, message_id in cursor.fetchall():
                inserted[(device_id, message_id)] = event_id
    return inserted


def _json(value: Any) -> str:
    # Exactly as Django's JSONField writes it: on SQLite, exact lookups compare this text.
    return json.dumps(value)


def _event(event_id: int, m: Incoming, now: dt.datetime) -> Event:
    """The stored row as a model for the after-store hooks, built without another query.

    Filled in directly rather than through Model.__init__ (a fifth of the writer's time at
    5,000 events/s, most of it FK descriptor bookkeeping): every concrete field is set, and
    the state says "loaded from this database", exactly what `from_db` would produce. Event
    has no init signals."""
    event = Event.__new__(Event)
    event.__dict__.update(id=event_id, compound_id=m.compound_id, device_id=m.device_id, type=m.type, at=m.at,
                          received_at=now, message_id=m.message_id, lane=types.lane_of(m.type), payload=m.payload,
                          evidence=m.evidence)
    state = event._state = ModelState()
    state.adding, state.db = False, Event.objects.db
    return event


def dead_letter(*, source: str, reason: str, raw: str | bytes = "", detail: str = "",
                headers: dict[str, str] | None = None, device_id: int | None = None,
                compound_id: int | None = None) -> DeadLetter:
    """Keep a message we could not use, with why; never raises for the message's content."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    raw = raw.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    safe_headers = {k: v for k, v in (headers or {}).items() if k.lower() not in ("authorization", "cookie")}
    return DeadLetter.objects.create(received_at=timezone.now(), source=source[:40], reason=reason[:200],
                                     detail=detail[:2000], raw=raw[:RAW_LIMIT], headers=safe_headers,
                                     device_id=device_id, compound_id=compound_id)


def dead_letters(items: list[dict[str, Any]]) -> None:
    """Keep many unusable messages at once (same fields as `dead_letter`): one INSERT."""
    rows = []
    now = timezone.now()
    for item in items:
        raw = item.get("raw", "")
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        raw = raw.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
        headers = {k: v for k, v in (item.get("headers") or {}).items() if k.lower() not in ("authorization", "cookie")}
        rows.append(DeadLetter(received_at=now, source=item["source"][:40], reason=item["reason"][:200],
                               detail=item.get("detail", "")[:2000], raw=raw[:RAW_LIMIT], headers=headers,
                               device_id=item.get("device_id"), compound_id=item.get("compound_id")))
    DeadLetter.objects.bulk_create(rows)
