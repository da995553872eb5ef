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
