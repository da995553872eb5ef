"""Event retention: how long each event type is kept, and the purge that deletes what has expired.

The purge deletes expired events in batches (one short transaction each, so the gateway's writer
is never held up for long), their evidence media, dead letters past their time, and orphan media
files no event refers to. It keeps every event an open alarm still points at, and every file an
alarm lists as evidence. One audit entry per run records what went.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import zoneinfo
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils import timezone

from linli.core import audit, hooks
from linli.core.context import ChangeContext, change_context
from linli.core.models import AuditAction
from linli.events import media, types
from linli.events.models import DeadLetter, Event

log = logging.getLogger("linli.events.retention")

OTHER_TYPES = "*"  # the policy key for any type the table does not name
# Days to keep each event type. Figures from ../shared/domain: the Cybersecurity Law (Art. 21(3))
# keeps network logs at least six months, which we apply to plate reads and door access records
# (public-security practice for parking records asks for at least 30 days); safety and elevator
# events back investigations and the annual elevator inspection (TSG T5002), so three years.
DEFAULT_DAYS: dict[str, int] = {
    types.HEARTBEAT: 7,
    types.TELEMETRY: 30,
    types.STATUS: 90,
    types.CONNECTIVITY: 90,  # outages, mean time to repair
    types.COMMAND_ACK: 90,
    types.SPACE_OCCUPANCY: 90,
    types.PLATE_READ: 180,
    types.DOOR_ACCESS: 180,
    types.WATER_READING: 365,
    types.SMOKE_ALARM: 3 * 365,
    types.GAS_ALARM: 3 * 365,
    types.INTRUSION: 3 * 365,
    types.ELEVATOR_ENTRAPMENT: 3 * 365,
    types.ELEVATOR_EBIKE: 3 * 365,
    types.ELEVATOR_FIGHT: 3 * 365,
    OTHER_TYPES: 180,
}
MAX_DAYS = 100 * 365

MEDIA_ROOT_FOLDER = "events"  # evidence refs are events/YYYY/MM/DD/<name> (devices/adapters/base.py)
MEDIA_DATE_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")  # the date in a ref is the event's local date
ORPHAN_GRACE = dt.timedelta(days=1)  # a file younger than this may belong to a message being stored
RECENT_FOLDER_DAYS = 8  # day folders this recent are checked for orphans on every full run
PAUSE_BETWEEN_BATCHES_S = 0.02  # lets the writer take the (SQLite) write lock between batches
PURGE_EVERY_S = 3600.0
FULL_RUN_EVERY = dt.timedelta(days=1)
_PURGE_LOCK_KEY = 7_351_002  # PostgreSQL advisory lock: one purge at a time across gateways


def parse_days(raw: str | dict[str, Any] | None) -> dict[str, int]:
    """Overrides from settings: a dict, JSON text, or "type=days,type=days"; refuses anything unclear."""
    if not raw:
        return {}
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ImproperlyConfigured(f"LINLI_EVENT_RETENTION_DAYS: not valid JSON ({exc.msg})") from exc
        else:
            pairs = {}
            for item in filter(None, (part.strip() for part in text.split(","))):
                name, sep, days = item.partition("=")
                if not sep:
                    raise ImproperlyConfigured(f"LINLI_EVENT_RETENTION_DAYS: expected type=days, got {item!r}")
                pairs[name.strip()] = days.strip()
            raw = pairs
    if not isinstance(raw, dict):
        raise ImproperlyConfigured("LINLI_EVENT_RETENTION_DAYS: expected an object of type → days")
    out = {}
    for name, days in raw.items():
        if name != OTHER_TYPES and name not in types.ALL:
            raise ImproperlyConfigured(f"LINLI_EVENT_RETENTION_DAYS: unknown event type {name!r}")
        whole = f"LINLI_EVENT_RETENTION_DAYS: {name} needs a whole number of days"
        if isinstance(days, bool) or (isinstance(days, float) and not days.is_integer()):
            raise ImproperlyConfigured(whole)
        try:
            value = int(days)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(whole) from exc
        if not 1 <= value <= MAX_DAYS:
            raise ImproperlyConfigured(f"LINLI_EVENT_RETENTION_DAYS: {name} must be 1 to {MAX_DAYS} days")
        out[name] = value
    return out


def policy() -> dict[str, int]:
    """Days to keep each event type (and `OTHER_TYPES`): the defaults with the settings' overrides."""
    return {**DEFAULT_DAYS, **parse_days(getattr(settings, "EVENT_RETENTION_DAYS", ""))}


def dead_letter_days() -> int:
    days = int(getattr(settings, "DEAD_LETTER_RETENTION_DAYS", 30))
    if not 1 <= days <= MAX_DAYS:
        raise ImproperlyConfigured(f"LINLI_DEAD_LETTER_RETENTION_DAYS must be 1 to {MAX_DAYS} days")
    return days


# What must outlive its retention: the apps above `events` that own these facts register here.
EVENT_HOLDS = hooks.declare("events.retention.event_holds", "() -> QuerySet of event ids", """
Events the purge keeps whatever their age (an open alarm's first event): each registrant answers
a queryset of event ids, read when the purge runs.
""")
MEDIA_HOLDS = hooks.declare("events.retention.media_holds", "() -> set[str]", """
Media references the purge keeps whatever their age (evidence copied onto alarms, open or
closed), read when the purge runs.
""")


def refs_of(evidence_lists: Iterable[Any]) -> Iterable[str]:
    for evidence in evidence_lists:
        for item in evidence if isinstance(evidence, list) else ():
            ref = item.get("ref") if isinstance(item, dict) else None
            if isinstance(ref, str) and ref:
                yield ref


@dataclass
class PurgeReport:
    dry_run: bool
    started: dt.datetime
    events: dict[str, int] = field(default_factory=dict)  # per type
    kept_for_alarms: int = 0
    dead_letters: int = 0
    media: int = 0
    orphans: int = 0
    batches: int = 0
    seconds: float = 0.0
    longest_batch_s: float = 0.0  # the longest transaction: how long the writer could have waited
    skipped: str = ""  # why nothing ran (another purge holds the lock)

    def note_batch(self, seconds: float) -> None:
        self.batches += 1
        self.longest_batch_s = max(self.longest_batch_s, round(seconds, 3))

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    def summary(self) -> dict[str, Any]:
        return {"events": dict(sorted(self.events.items())), "events_total": self.total_events,
                "kept_for_open_alarms": self.kept_for_alarms, "dead_letters": self.dead_letters,
                "media_files": self.media, "orphan_files": self.orphans, "batches": self.batches,
                "seconds": self.seconds, "longest_batch_s": self.longest_batch_s}


class _PurgeRun:
    """What the audit entry is about: the run, not any one event (counts, never one row per event)."""

    _meta = Event._meta
    compound_id = None

    def __init__(self, started: dt.datetime):
        self.pk = f"retention-purge-{started:%Y%m%dT%H%M%SZ}"

    def __str__(self) -> str:
        return "event retention purge"


def purge(*, now: dt.datetime | None = None, dry_run: bool = False, batch_size: int | None = None,
          full: bool = True, pause_s: float = PAUSE_BETWEEN_BATCHES_S) -> PurgeReport:
    """Delete what has expired; with `dry_run`, only count it. `full` adds the daily work: types
    outside the table and the orphan-file sweep (both scan more than an index range)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.EVENT_PURGE_BATCH
    days = policy()
    report = PurgeReport(dry_run=dry_run, started=now)
    clock = time.perf_counter()
    if not _try_lock():
        report.skipped = "another purge is running"
        return report
    try:
        with change_context(ChangeContext(source="retention", actor="retention-purge")):
            kept_refs = set().union(*(hold() for hold in MEDIA_HOLDS))
            for event_type, keep_days in sorted(days.items()):
                if event_type == OTHER_TYPES:
                    continue
                expired = Event.objects.filter(type=event_type)
                _purge_expired(expired, event_type, now - dt.timedelta(days=keep_days), report, kept_refs,
                               batch_size, pause_s)
            if full:
                listed = [t for t in days if t != OTHER_TYPES]
                others = Event.objects.exclude(type__in=listed)
                _purge_expired(others, OTHER_TYPES, now - dt.timedelta(days=days[OTHER_TYPES]), report, kept_refs,
                               batch_size, pause_s)
            _purge_dead_letters(now - dt.timedelta(days=dead_letter_days()), report, batch_size, pause_s)
            if full:
                _sweep_orphans(now, max(days.values()), report, kept_refs)
            report.seconds = round(time.perf_counter() - clock, 3)
            if not dry_run and (report.total_events or report.dead_letters or report.media or report.orphans):
                with transaction.atomic():
                    audit.record([audit.Change(AuditAction.DELETE, _PurgeRun(now), None, report.summary())])
    finally:
        _unlock()
    if report.total_events or report.dead_letters or report.orphans:
        log.info("retention purge%s: %s", " (dry run)" if dry_run else "", report.summary())
    return report


def _purge_expired(events: QuerySet, label: str, cutoff: dt.datetime, report: PurgeReport, kept_refs: set[str],
                   batch_size: int, pause_s: float) -> None:
    # Both times past the cutoff: a device clock set years back must not get fresh records deleted.
    expired = events.filter(at__lt=cutoff, received_at__lt=cutoff)
    held = [hold() for hold in EVENT_HOLDS]
    for ids in held:
        report.kept_for_alarms += expired.filter(pk__in=ids).count()
        expired = expired.exclude(pk__in=ids)
    if report.dry_run:
        count = expired.count()
        if count:
            report.events[label] = report.events.get(label, 0) + count
            evidence = expired.exclude(evidence=[]).values_list("evidence", flat=True).order_by()
            report.media += sum(1 for ref in refs_of(evidence.iterator(chunk_size=2000)) if ref not in kept_refs)
        return
    while True:
        # In `at` order along the (type, at) index: cheap when nothing is due.
        rows = list(expired.order_by("at").values_list("pk", "evidence")[:batch_size])
        if not rows:
            return
        ids = [pk for pk, _ in rows]
        refs = [ref for ref in refs_of(ev for _, ev in rows) if ref not in kept_refs]
        # Pictures first (Decree 799: delete images when their time is up), then the rows: a crash in
        # between leaves expired rows without pictures, which the next run deletes, never orphan files.
        report.media += media.delete(refs)
        started = time.perf_counter()
        with transaction.atomic():
            batch = Event.objects.filter(pk__in=ids)
            for ids_held in held:
                batch = batch.exclude(pk__in=ids_held)
            deleted = _delete_events(list(batch.values_list("pk", flat=True)))
        report.note_batch(time.perf_counter() - started)
        report.events[label] = report.events.get(label, 0) + deleted
        if len(rows) < batch_size:
            return
        if pause_s:
            time.sleep(pause_s)


def _delete_events(ids: list[int]) -> int:
    """Delete these events, clearing the links that point at them (alarms, rule runs and timers
    say SET_NULL). Done as one UPDATE per link and one DELETE: Django's collector would first load
    every row, payloads included, and hold the write lock about three times as long."""
    if not ids:
        return 0
    links = [rel for rel in get_candidate_relations_to_delete(Event._meta) if rel.on_delete is not models.DO_NOTHING]
    if any(rel.on_delete is not models.SET_NULL for rel in links):
        # A link that cascades or protects needs the collector's care.
        return Event.objects.filter(pk__in=ids).delete()[1].get(Event._meta.label, 0)
    for rel in links:
        rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": ids}).update(**{rel.field.name: None})
    return Event.objects.filter(pk__in=ids)._raw_delete(Event.objects.db)


def _purge_dead_letters(cutoff: dt.datetime, report: PurgeReport, batch_size: int, pause_s: float) -> None:
    expired = DeadLetter.objects.filter(received_at__lt=cutoff)
    if report.dry_run:
        report.dead_letters = expired.count()
        return
    while True:
        ids = list(expired.order_by("received_at").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        started = time.perf_counter()
        with transaction.atomic():
            report.dead_letters += DeadLetter.objects.filter(pk__in=ids).delete()[0]
        report.note_batch(time.perf_counter() - started)
        if len(ids) < batch_size:
            return
        if pause_s:
            time.sleep(pause_s)


def _sweep_orphans(now: dt.datetime, longest_days: int, report: PurgeReport, kept_refs: set[str]) -> None:
    """Remove files no event refers to: pictures of messages that were refused or were duplicates
    after their files were written, and temporary files of interrupted writes.

    Day folders of the last days are checked (where nearly all orphans land), and those older than
    the longest retention (where only alarm-held files should remain). A file is an orphan only
    when it is older than a day and no event dated that day (±1 day) lists it.
    """
    today = now.astimezone(MEDIA_DATE_TZ).date()
    for day, prefix in _day_folders():
        age = (today - day).days
        if age > RECENT_FOLDER_DAYS and age <= longest_days + 1:
            continue
        old_enough = [f for f in media.listing(prefix) if f.modified < now - ORPHAN_GRACE]
        if not old_enough:
            continue
        start = dt.datetime.combine(day, dt.time(), tzinfo=MEDIA_DATE_TZ)
        dated = (Event.objects.filter(at__gte=start - dt.timedelta(days=1), at__lt=start + dt.timedelta(days=2))
                 .exclude(evidence=[]).values_list("evidence", flat=True).order_by())
        referenced = set(refs_of(dated.iterator(chunk_size=2000))) | kept_refs
        orphans = [f.ref for f in old_enough if f.ref not in referenced]
        if not orphans:
            continue
        report.orphans += len(orphans)
        if not report.dry_run:
            media.delete(orphans)


def _day_folders() -> Iterable[tuple[dt.date, str]]:
    for year in media.folders(MEDIA_ROOT_FOLDER):
        for month in media.folders(f"{MEDIA_ROOT_FOLDER}/{year}"):
            for day in media.folders(f"{MEDIA_ROOT_FOLDER}/{year}/{month}"):
                try:
                    date = dt.date(int(year), int(month), int(day))
                except ValueError:
                    continue  # not ours: left alone
                yield date, f"{MEDIA_ROOT_FOLDER}/{year}/{month}/{day}"


def _try_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: one machine, one gateway
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [_PURGE_LOCK_KEY])
        return bool(cur.fetchone()[0])


def _unlock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [_PURGE_LOCK_KEY])


async def start_purge_job(context: Any, every_s: float = PURGE_EVERY_S) -> Callable[[], Awaitable[None]]:
    """The gateway's purge: hourly (cheap when nothing is due), with the full run once a day."""
    from linli.core.runtime import start_periodic

    policy()  # a bad LINLI_EVENT_RETENTION_DAYS stops the gateway at start, not an hour later
    dead_letter_days()
    last_full: list[dt.datetime] = []

    def work() -> None:
        now = timezone.now()
        full = not last_full or now - last_full[0] >= FULL_RUN_EVERY
        report = purge(now=now, full=full)
        if full and not report.skipped:
            last_full[:] = [now]

    return await start_periodic("event-retention", every_s, work)
