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
