"""The batching writer acknowledges only after commit, and keeps life-safety apart."""

import asyncio

import pytest
from django.utils import timezone

from linli.devices import services as devices
from linli.devices.models import DeviceType
from linli.events import types
from linli.events.models import Event
from linli.events.pipeline import Incoming
from linli.events.writer import EventWriter

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_burst_is_stored_in_few_batches_and_every_sender_hears_back(district):
    meter = devices.register_device(actor=district.admin, compound=district.a.compound,
                                    device_type=DeviceType.objects.get(code="water-meter-nbiot"), serial="WM-1",
                                    name="水表")
    messages = [Incoming(meter.pk, meter.compound_id, types.WATER_READING, f"r{i}", timezone.now(), {"m3": i})
                for i in range(300)] + [Incoming(meter.pk, meter.compound_id, types.WATER_READING, "r7",
                                                 timezone.now(), {"m3": 7})]

    async def run():
        writer = EventWriter(max_batch=100, max_wait_s=0.01)
        await writer.start()
        try:
            results = await writer.submit_many(messages)
        finally:
            await writer.stop()
        return results, writer.lanes["normal"].batches

    results, batches = asyncio.run(run())
    assert sum(1 for r in results if not r.duplicate) == 300
    assert results[-1].duplicate
    assert Event.objects.filter(device=meter).count() == 300
    assert batches <= 10


def test_a_plate_read_is_answered_while_a_slow_batch_of_telemetry_is_still_being_stored(district, monkeypatch):
    """The camera holds the barrier until we answer: its read must not queue behind telemetry.

    PostgreSQL only: SQLite has one writer at a time, so there the lanes take turns."""
    import time

    from django.db import connection

    from linli.events import pipeline

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: lanes cannot overtake one another there")
    kinds = {t.code: t for t in DeviceType.objects.all()}
    meter = devices.register_device(actor=district.admin, compound=district.a.compound,
                                    device_type=kinds["water-meter-nbiot"], serial="WM-2", name="水表")
    camera = devices.register_device(actor=district.admin, compound=district.a.compound,
                                     device_type=kinds["lpr-alarminfoplate"], serial="LPR-1", name="东门车牌相机")

    def slow_telemetry(events):
        if any(e.type == types.WATER_READING for e in events):
            time.sleep(0.6)  # a big batch with rules to evaluate

    monkeypatch.setattr(pipeline, "AFTER_STORE", [slow_telemetry])

    async def run():
        writer = EventWriter(max_batch=100, max_wait_s=0.0)
        await writer.start()
        try:
            loop = asyncio.get_running_loop()
            readings = loop.create_task(writer.submit_many(
                [Incoming(meter.pk, meter.compound_id, types.WATER_READING, f"w{i}", timezone.now(), {"m3": i})
                 for i in range(50)]))
            await asyncio.sleep(0.05)  # the telemetry batch is being stored
            started = loop.time()
            read = await writer.submit(Incoming(camera.pk, camera.compound_id, types.PLATE_READ, "plate:1",
                                                timezone.now(), {"plate": "鲁B12345"}))
            answered_in = loop.time() - started
            overtook = not readings.done()
            await readings
            return read, answered_in, overtook
        finally:
            await writer.stop()

    read, answered_in, overtook = asyncio.run(run())
    assert not read.duplicate and overtook and answered_in < 0.3
    assert Event.objects.filter(device=meter).count() == 50


def test_senders_hear_back_at_commit_not_after_slow_commit_hooks(district, monkeypatch):
    """What apps do after the commit (live feed, waking the notification sender) cannot delay acks."""
    import time

    from django.db import transaction

    from linli.events import pipeline

    meter = devices.register_device(actor=district.admin, compound=district.a.compound,
                                    device_type=DeviceType.objects.get(code="water-meter-nbiot"), serial="WM-3",
                                    name="水表")
    monkeypatch.setattr(pipeline, "AFTER_STORE", [lambda events: transaction.on_commit(lambda: time.sleep(0.6))])

    async def run():
        writer = EventWriter(max_wait_s=0.0)
        await writer.start()
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            stored = await writer.submit(Incoming(meter.pk, meter.compound_id, types.WATER_READING, "w1",
                                                  timezone.now(), {"m3": 1}))
            return stored, loop.time() - started
        finally:
            await writer.stop()

    stored, answered_in = asyncio.run(run())
    assert not stored.duplicate and answered_in < 0.4
    assert Event.objects.filter(device=meter, message_id="w1").exists()


def test_the_events_of_one_report_are_stored_together_in_the_most_urgent_lane(district):
    """An NB-IoT report with a smoke alarm and a battery reading: one life-safety transaction."""
    detector = devices.register_device(actor=district.admin, compound=district.a.compound,
                                       device_type=DeviceType.objects.get(code="smoke-nbiot"), serial="SD-9",
                                       name="烟感")
    report = [Incoming(detector.pk, detector.compound_id, types.SMOKE_ALARM, "nb:1:smoke", timezone.now(),
                       {"state": "alarm"}),
              Incoming(detector.pk, detector.compound_id, types.TELEMETRY, "nb:1:telemetry", timezone.now(),
                       {"battery_v": 3.1})]

    async def run():
        writer = EventWriter()
        await writer.start()
        try:
            await writer.submit_many(report)
        finally:
            await writer.stop()
        return {name: lane.batches for name, lane in writer.lanes.items()}

    batches = asyncio.run(run())
    assert batches == {"life_safety": 1, "gate": 0, "normal": 0}
    assert Event.objects.filter(device=detector).count() == 2


def _camera(district, serial):
    return devices.register_device(actor=district.admin, compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="lpr-alarminfoplate"), serial=serial,
                                   name="东门车牌相机")


def test_a_plate_reads_trailing_hooks_run_in_the_normal_lane_after_the_answer(district, monkeypatch):
    """The gate lane's thread is free for the next camera as soon as a read is stored: the read's
    last-seen update (a hook that owes the event nothing) follows in the normal lane's thread."""
    import threading

    from linli.devices.health import forget_seen
    from linli.devices.models import DeviceState
    from linli.events import pipeline

    forget_seen()
    camera = _camera(district, "LPR-7")
    ran_in: list[str] = []

    def note_thread(events):
        ran_in.append(threading.current_thread().name)

    note_thread.atomic_with_store = lambda batch: False  # owes the events nothing: the fast path
    monkeypatch.setattr(pipeline, "AFTER_STORE", [*pipeline.AFTER_STORE, note_thread])

    async def run():
        writer = EventWriter()
        await writer.start()
        try:
            return await writer.submit(Incoming(camera.pk, camera.compound_id, types.PLATE_READ, "plate:7",
                                                timezone.now(), {"plate": "鲁B12345"}))
        finally:
            await writer.stop()  # drains what the urgent lanes handed on

    stored = asyncio.run(run())
    assert not stored.duplicate
    assert len(ran_in) == 1 and ran_in[0].startswith("linli-writer-normal")
    assert DeviceState.objects.get(device=camera).last_seen_at is not None


def test_a_plate_read_is_answered_while_another_cameras_read_still_waits_on_the_database(district, monkeypatch):
    """Two gate threads: one slow round trip does not hold up the next camera (PostgreSQL; on
    SQLite's single writer the gate lane keeps one thread)."""
    import time

    from django.db import connection

    from linli.events import pipeline

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: one gate thread there")
    slow_camera, camera = _camera(district, "LPR-8"), _camera(district, "LPR-9")
    insert = pipeline._insert

    def slow_insert(messages, now):
        if any(m.message_id == "slow" for m in messages):
            time.sleep(0.6)  # a round trip held up (a lock, a busy server)
        return insert(messages, now)

    monkeypatch.setattr(pipeline, "_insert", slow_insert)

    async def run():
        writer = EventWriter()
        await writer.start()
        try:
            loop = asyncio.get_running_loop()
            slow = loop.create_task(writer.submit(Incoming(slow_camera.pk, slow_camera.compound_id,
                                                           types.PLATE_READ, "slow", timezone.now(), {})))
            await asyncio.sleep(0.05)
            started = loop.time()
            read = await writer.submit(Incoming(camera.pk, camera.compound_id, types.PLATE_READ, "fast",
                                                timezone.now(), {"plate": "鲁B54321"}))
            answered_in, overtook = loop.time() - started, not slow.done()
            return read, answered_in, overtook, await slow
        finally:
            await writer.stop()

    read, answered_in, overtook, slow = asyncio.run(run())
    assert overtook and answered_in < 0.3
    assert not read.duplicate and not slow.duplicate
    assert Event.objects.filter(type=types.PLATE_READ, message_id__in=["slow", "fast"]).count() == 2
