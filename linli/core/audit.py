"""Writing and verifying the audit log (等保 2.0: complete and tamper-evident).

Each entry's hash covers its content and the previous entry's hash, so an edited or
removed entry breaks the chain from that point on. Services call `record_*` inside
their transaction; a chain lock keeps concurrent writers in order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections, models, transaction
from django.utils import timezone

from linli.core.context import current_context
from linli.core.models import AuditAction, AuditEntry

GENESIS = "0" * 64
_maintenance = False
_CHAIN_LOCK_KEY = 7_351_001  # PostgreSQL advisory lock id for the audit chain


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model) -> dict[str, Any]:
    """Field values for the audit log; sealed personal fields appear only masked."""
    hidden = set(getattr(instance, "audit_exclude", ()))
    data: dict[str, Any] = {}
    for f in instance._meta.concrete_fields:
        # auto_now stamps change on every save and would make every diff non-empty.
        if f.name in hidden or getattr(f, "auto_now", False):
            continue
        key = f.attname
        data[key] = _jsonable(f.value_from_object(instance))
    return data


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[dict | None, dict | None]:
    """Only the fields that changed, on both sides."""
    if before is None or after is None:
        return before, after
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


@dataclass(frozen=True)
class Change:
    action: str
    instance: models.Model
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def audit_locked() -> int:
    """The SQLite trigger guard: 1 (refuse changes) unless a maintenance window is open."""
    return 0 if _maintenance else 1


@contextlib.contextmanager
def maintenance_window(using: str = "default") -> Iterator[None]:
    """Let the audit table be emptied (test database flushes; a future, audited retention purge)."""
    global _maintenance
    conn = connections[using]
    _maintenance = True
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('linli.audit_maintenance', 'on', false)")
    try:
        yield
    finally:
        _maintenance = False
        _head.marker = None  # the table may have changed under us: read the head again
        if conn.vendor == "postgresql":
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('linli.audit_maintenance', '', false)")


def _entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "user_id": entry.user_id,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "compound_id": entry.compound_id,
        "region_path": entry.region_path,
        "before": entry.before,
        "after": entry.after,
        "context": entry.context,
    }


class _Head(threading.local):
    """The chain head this thread's open transaction wrote last, with the marker that proves it.

    Once a transaction holds the chain lock and appended, the head is what it wrote: a second
    entry in the same transaction (an alarm, then its notifications) needs neither the lock nor
    the look-up again, two round trips each on the life-safety path. The proof is a no-op
    on_commit callback: Django drops it when the savepoint around the write is rolled back (and
    with it our entry and, if taken there, the lock), and when the transaction ends."""

    marker: Any = None
    value: str = ""


_head = _Head()


def _known_head() -> str | None:
    marker = _head.marker
    if marker is None:
        return None
    pending = transaction.get_connection().run_on_commit
    return _head.value if any(func is marker for _sids, func, _robust in pending) else None


def _remember_head(value: str) -> None:
    def marker() -> None:  # never does anything: its presence is the proof
        return None

    transaction.on_commit(marker)
    _head.marker, _head.value = marker, value


def _lock_chain() -> str:
    known = _known_head()
    if known is not None:
        return known
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite runs IMMEDIATE transactions, so the writer already holds the only write lock.
    last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS


def _place_of(instance: models.Model) -> tuple[int | None, str]:
    place = getattr(instance, "audit_place", None)
    if callable(place):
        return place()
    return getattr(instance, "compound_id", None), ""


def record(changes: Sequence[Change]) -> list[AuditEntry]:
    """Append entries for `changes`; must run inside the service's transaction."""
    if not changes:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit entries are written inside the change's transaction")
    ctx = current_context()
    now = timezone.now()
    prev = _lock_chain()
    entries = []
    for change in changes:
        compound_id, region_path = _place_of(change.instance)
        before, after = diff(change.before, change.after)
        entry = AuditEntry(
            at=now,
            user_id=ctx.user_id,
            actor=ctx.actor,
            action=change.action,
            object_type=change.instance._meta.label_lower,
            object_id=str(change.instance.pk),
            object_repr=str(change.instance)[:200],
            compound_id=compound_id,
            region_path=region_path,
            before=_jsonable(before),
            after=_jsonable(after),
            context=ctx.as_json(),
            prev_hash=prev,
        )
        entry.hash = prev = _entry_hash(entry.prev_hash, _hashed_fields(entry))
        entries.append(entry)
    written = AuditEntry.objects.bulk_create(entries, batch_size=2000)
    _remember_head(prev)
    return written


def record_created(instances: Iterable[models.Model]) -> list[AuditEntry]:
    return record([Change(AuditAction.CREATE, i, None, snapshot(i)) for i in instances])


def record_updated(instance: models.Model, before: dict[str, Any]) -> list[AuditEntry]:
    after = snapshot(instance)
    if diff(before, after) == ({}, {}):
        return []
    return record([Change(AuditAction.UPDATE, instance, before, after)])


def record_deleted(instance: models.Model, before: dict[str, Any]) -> list[AuditEntry]:
    return record([Change(AuditAction.DELETE, instance, before, None)])


def record_access(action: str, instance: models.Model, detail: dict[str, Any]) -> list[AuditEntry]:
    """A reveal or export of personal data: who looked at what, never the value itself."""
    return record([Change(action, instance, None, detail)])


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head: str
    broken_at: int | None = None
    reason: str = ""


def verify_chain(batch: int = 5000) -> ChainReport:
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            return ChainReport(True, checked, prev)
        for entry in rows:
            if entry.prev_hash != prev:
                return ChainReport(False, checked, prev, entry.id, "link to the previous entry is broken")
            if _entry_hash(entry.prev_hash, _hashed_fields(entry)) != entry.hash:
                return ChainReport(False, checked, prev, entry.id, "entry content does not match its hash")
            prev = entry.hash
            checked += 1
            last_id = entry.id
