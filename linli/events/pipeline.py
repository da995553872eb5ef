"""Storing device messages: de-duplicate on (device, message id), store, then acknowledge.

`store()` is synchronous and takes a batch: the gateway's single writer calls it from a
thread with everything that arrived since the last commit, and resolves each sender's
acknowledgement only after the transaction committed (at-least-once, end to end).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from linli.events import types
from linli.events.models import DeadLetter, Event

RAW_LIMIT = 8000

# Called inside the batch's transaction with the newly stored events (duplicates excluded).
# Apps above this one register here (automations evaluates its rules) so nothing imports upwards.
AFTER_STORE: list[Callable[[list[Event]], None]] = []


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


def store(batch: list[Incoming]) -> list[Stored]:
    """Store a batch in one transaction; duplicates (also within the batch) are reported, not stored twice."""
    if not batch:
        return []
    now = timezone.now()
    with transaction.atomic():
        keys = {(m.device_id, m.message_id) for m in batch}
        existing = _existing(keys)
        fresh: dict[tuple[int, str], Event] = {}
        for m in batch:
            key = (m.device_id, m.message_id)
            if key in existing or key in fresh:
                continue
            fresh[key] = Event(device_id=m.device_id, compound_id=m.compound_id, type=m.type, at=m.at,
                               received_at=now, message_id=m.message_id, lane=types.lane_of(m.type),
                               payload=m.payload, evidence=m.evidence)
        try:
            with transaction.atomic():
                Event.objects.bulk_create(list(fresh.values()), batch_size=1000)
        except IntegrityError:
            # Another gateway stored some of these between our check and our insert (rare): go row
            # by row so theirs count as duplicates and ours are stored.
            for key, event in list(fresh.items()):
                try:
                    with transaction.atomic():
                        event.pk = None
                        event.save(force_insert=True)
                except IntegrityError:
                    del fresh[key]
        results = []
        seen: set[tuple[int, str]] = set()
        for m in batch:
            key = (m.device_id, m.message_id)
            event = fresh.get(key)
            first = event is not None and key not in seen
            seen.add(key)
            results.append(Stored(m, event.id if first else None, duplicate=not first))
        stored_events = [fresh[(r.incoming.device_id, r.incoming.message_id)] for r in results
                         if not r.duplicate]
        for hook in AFTER_STORE:
            hook(stored_events)
    return results


def _existing(keys: set[tuple[int, str]]) -> set[tuple[int, str]]:
    if not keys:
        return set()
    rows = Event.objects.filter(device_id__in={k[0] for k in keys}, message_id__in={k[1] for k in keys})
    return {k for k in rows.values_list("device_id", "message_id") if k in keys}


def dead_letter(*, source: str, reason: str, raw: str | bytes = "", detail: str = "",
                headers: dict[str, str] | None = None, device_id: int | None = None,
                compound_id: int | None = None) -> DeadLetter:
    """Keep a message we could not use, with why; never raises for the message's content."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    safe_headers = {k: v for k, v in (headers or {}).items() if k.lower() not in ("authorization", "cookie")}
    return DeadLetter.objects.create(received_at=timezone.now(), source=source[:40], reason=reason[:200],
                                     detail=detail[:2000], raw=raw[:RAW_LIMIT], headers=safe_headers,
                                     device_id=device_id, compound_id=compound_id)
