"""Retention: each event type goes when its time is up, with its pictures; what an open alarm
still needs stays; the purge works in batches, writes one audit entry, and a dry run writes nothing."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from linli.alarms.models import Alarm, AlarmStatus
from linli.alarms.services import raise_alarm
from linli.core.audit import verify_chain
from linli.core.models import AuditEntry
from linli.events import media, retention, types
from linli.events.models import DeadLetter, Event

NOW = dt.datetime(2026, 6, 1, 4, 0, tzinfo=dt.UTC)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"
SHANGHAI = retention.MEDIA_DATE_TZ


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def picture(at: dt.datetime) -> str:
    ref = f"events/{at.astimezone(SHANGHAI):%Y/%m/%d}/{uuid.uuid4().hex}.jpg"
    media.save(ref, JPEG)
    return ref


def stored(side, event_type: str, age_days: float, *, pictures: int = 0, received_days: float | None = None) -> Event:
    at = days_ago(age_days)
    refs = [picture(at) for _ in range(pictures)]
    return Event.objects.create(compound=side.compound, device=side.device, type=event_type, at=at,
                                received_at=days_ago(age_days if received_days is None else received_days),
                                message_id=uuid.uuid4().hex, payload={},
                                evidence=[{"kind": "image", "ref": r} for r in refs])


def alive(*events: Event) -> list[bool]:
    return [Event.objects.filter(pk=e.pk).exists() for e in events]


def exists(ref: str) -> bool:
    try:
        media.read(ref)
    except media.MediaMissing:
        return False
    return True


@pytest.fixture
def a(district, disk_media):
    return district.a


def test_each_type_goes_when_its_time_is_up_and_not_before(a):
    heartbeat_old, heartbeat_new = stored(a, types.HEARTBEAT, 8), stored(a, types.HEARTBEAT, 6)
    telemetry_old, telemetry_new = stored(a, types.TELEMETRY, 31), stored(a, types.TELEMETRY, 29)
    plate_old, plate_new = stored(a, types.PLATE_READ, 181), stored(a, types.PLATE_READ, 179)
    door_old = stored(a, types.DOOR_ACCESS, 181)
    smoke_two_years, smoke_four_years = stored(a, types.SMOKE_ALARM, 730), stored(a, types.SMOKE_ALARM, 4 * 365)
    report = retention.purge(now=NOW)
    assert alive(heartbeat_old, telemetry_old, plate_old, door_old, smoke_four_years) == [False] * 5
    assert alive(heartbeat_new, telemetry_new, plate_new, smoke_two_years) == [True] * 4
    assert report.events == {types.HEARTBEAT: 1, types.TELEMETRY: 1, types.PLATE_READ: 1, types.DOOR_ACCESS: 1,
                             types.SMOKE_ALARM: 1}


def test_a_device_clock_years_behind_does_not_get_fresh_records_deleted(a):
    wrong_clock = stored(a, types.HEARTBEAT, 3 * 365, received_days=1)
    retention.purge(now=NOW)
    assert alive(wrong_clock) == [True]


def test_settings_override_the_table_in_either_form(a, settings):
    heartbeat, plate = stored(a, types.HEARTBEAT, 3), stored(a, types.PLATE_READ, 40)
    settings.EVENT_RETENTION_DAYS = "device.heartbeat=2, parking.plate_read=365"
    retention.purge(now=NOW)
    assert alive(heartbeat, plate) == [False, True]
    settings.EVENT_RETENTION_DAYS = '{"parking.plate_read": 30}'
    retention.purge(now=NOW)
    assert alive(plate) == [False]


def test_types_outside_the_table_follow_the_star_entry_on_the_full_run(a, settings):
    vendor = stored(a, "vendor.custom_reading", 20)
    settings.EVENT_RETENTION_DAYS = {"*": 10}
    retention.purge(now=NOW, full=False)  # the hourly run walks only the index ranges of named types
    assert alive(vendor) == [True]
    retention.purge(now=NOW)
    assert alive(vendor) == [False]


@pytest.mark.parametrize("raw", ["device.heartbeat", "device.heartbeat=0", "device.heartbeat=seven",
                                 "no.such_type=3", '{"device.heartbeat": true}', '{"device.heartbeat": 1.5}',
                                 "{not json", '["device.heartbeat", 3]', "device.heartbeat=999999"])
def test_a_retention_setting_that_is_unclear_is_refused(raw):
    with pytest.raises(ImproperlyConfigured, match="LINLI_EVENT_RETENTION_DAYS"):
        retention.parse_days(raw)


def test_the_pictures_of_purged_events_go_with_them(a, disk_media):
    old = stored(a, types.PLATE_READ, 200, pictures=2)
    fresh = stored(a, types.PLATE_READ, 10, pictures=1)
    old_refs, fresh_ref = [e["ref"] for e in old.evidence], fresh.evidence[0]["ref"]
    report = retention.purge(now=NOW)
    assert [exists(r) for r in old_refs] == [False, False] and exists(fresh_ref)
    assert report.media == 2
    day_folder = disk_media / old_refs[0].rsplit("/", 1)[0]
    assert not day_folder.exists()  # emptied day folders go too


def test_an_open_alarm_keeps_its_first_event_and_a_closed_one_lets_go(a):
    kept = stored(a, types.SMOKE_ALARM, 4 * 365, pictures=1)
    released = stored(a, types.GAS_ALARM, 4 * 365)
    open_alarm, _ = raise_alarm(compound_id=a.compound.pk, source="smoke-1", type="smoke", severity="critical",
                                title="烟感报警", event_id=kept.pk)
    closed, _ = raise_alarm(compound_id=a.compound.pk, source="gas-1", type="gas", severity="critical",
                            title="燃气报警", event_id=released.pk)
    Alarm.objects.filter(pk=closed.pk).update(status=AlarmStatus.RESOLVED)
    report = retention.purge(now=NOW)
    assert alive(kept, released) == [True, False]
    assert exists(kept.evidence[0]["ref"])
    assert report.kept_for_alarms == 1
    closed.refresh_from_db()
    assert closed.first_event_id is None  # the link is cleared, the alarm itself stays
    open_alarm.refresh_from_db()
    assert open_alarm.first_event_id == kept.pk


def test_a_picture_an_alarm_lists_as_evidence_outlives_its_event(a):
    event = stored(a, types.INTRUSION, 4 * 365, pictures=1)
    ref = event.evidence[0]["ref"]
    alarm, _ = raise_alarm(compound_id=a.compound.pk, source="fence-1", type="fence", severity="major",
                           title="翻越围栏", evidence=event.evidence)
    Alarm.objects.filter(pk=alarm.pk).update(status=AlarmStatus.RESOLVED)
    retention.purge(now=NOW)
    assert alive(event) == [False] and exists(ref)


def test_the_purge_works_in_batches(a):
    heartbeats = [stored(a, types.HEARTBEAT, 10 + i) for i in range(10)]
    report = retention.purge(now=NOW, batch_size=3, pause_s=0)
    assert report.events == {types.HEARTBEAT: 10}
    assert report.batches == 4  # 3 + 3 + 3 + 1
    assert not any(alive(*heartbeats))


def test_dead_letters_are_kept_thirty_days(a):
    old = DeadLetter.objects.create(received_at=days_ago(31), source="http:linli", reason="bad")
    fresh = DeadLetter.objects.create(received_at=days_ago(29), source="http:linli", reason="bad")
    report = retention.purge(now=NOW)
    assert report.dead_letters == 1
    assert list(DeadLetter.objects.filter(pk__in=[old.pk, fresh.pk]).values_list("pk", flat=True)) == [fresh.pk]


def test_one_audit_entry_per_run_with_the_counts(a):
    for _ in range(3):
        stored(a, types.HEARTBEAT, 30)
    before = AuditEntry.objects.count()
    retention.purge(now=NOW)
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert len(entries) == 1
    entry = entries[0]
    assert entry.action == "delete" and entry.object_type == "events.event" and entry.user_id is None
    assert entry.after["events"] == {types.HEARTBEAT: 3} and entry.after["events_total"] == 3
    assert entry.context["source"] == "retention"
    assert verify_chain().ok
    retention.purge(now=NOW)  # nothing due: no entry
    assert AuditEntry.objects.count() == before + 1


def test_a_dry_run_counts_and_writes_nothing(a):
    old = stored(a, types.PLATE_READ, 200, pictures=1)
    DeadLetter.objects.create(received_at=days_ago(40), source="http:linli", reason="bad")
    orphan = picture(days_ago(2))
    os.utime(media.media_storage().path(orphan), (days_ago(2).timestamp(),) * 2)
    audit_before, letters_before = AuditEntry.objects.count(), DeadLetter.objects.count()
    report = retention.purge(now=NOW, dry_run=True)
    assert (report.events, report.media, report.dead_letters, report.orphans) == (
        {types.PLATE_READ: 1}, 1, 1, 1)
    assert alive(old) == [True] and exists(old.evidence[0]["ref"]) and exists(orphan)
    assert AuditEntry.objects.count() == audit_before and DeadLetter.objects.count() == letters_before


def _aged(ref: str, days: float) -> str:
    stamp = days_ago(days).timestamp()
    os.utime(media.media_storage().path(ref), (stamp, stamp))
    return ref


def test_orphan_pictures_older_than_a_day_are_swept(a, disk_media):
    referenced = stored(a, types.PLATE_READ, 3, pictures=1).evidence[0]["ref"]
    _aged(referenced, 3)
    orphan = _aged(picture(days_ago(3)), 3)  # written, then the event was refused or a duplicate
    young_orphan = _aged(picture(days_ago(0.2)), 0.2)  # its event may still be on its way to the database
    folder = disk_media / orphan.rsplit("/", 1)[0]
    interrupted = folder / f"{media.TEMP_PREFIX}abc"
    interrupted.write_bytes(b"half")
    os.utime(interrupted, (days_ago(3).timestamp(),) * 2)
    ancient_orphan = _aged(picture(days_ago(4 * 365)), 4 * 365)  # past the longest retention
    middle_aged = _aged(picture(days_ago(100)), 100)  # neither recent nor past every retention: not scanned
    report = retention.purge(now=NOW)
    assert [exists(r) for r in (referenced, orphan, young_orphan, ancient_orphan, middle_aged)] == [
        True, False, True, False, True]
    assert not interrupted.exists()
    assert report.orphans == 3
    retention.purge(now=NOW, full=False)  # the hourly run does not sweep
    assert exists(middle_aged)


def test_the_purge_command(a, capsys):
    from linli import cli

    heartbeat = stored(a, types.HEARTBEAT, 30)
    real_age = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)  # the command purges as of now
    Event.objects.filter(pk=heartbeat.pk).update(at=real_age, received_at=real_age)
    cli.main(["purge-events", "--dry-run"])
    out = capsys.readouterr().out
    assert "dry run" in out and "device.heartbeat: 1" in out
    assert Event.objects.filter(type=types.HEARTBEAT).count() == 1
    cli.main(["purge-events"])
    assert Event.objects.filter(type=types.HEARTBEAT).count() == 0


def test_the_gateway_runs_the_purge():
    from linli.gateway.app import builtin_ingresses

    assert retention.start_purge_job in builtin_ingresses()


def test_purging_in_the_gateway_runs_in_its_own_thread(transactional_db, district, disk_media):
    import asyncio

    old = stored(district.a, types.HEARTBEAT, 8)
    real_age = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)  # the job purges as of now
    Event.objects.filter(pk=old.pk).update(at=real_age, received_at=real_age)

    async def run_once() -> None:
        stop = await retention.start_purge_job(None, every_s=0.05)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not await asyncio.to_thread(lambda: Event.objects.filter(pk=old.pk).exists()):
                break
        await stop()

    asyncio.run(run_once())
    assert not Event.objects.filter(pk=old.pk).exists()
