"""A plate read whose camera holds the barrier is stored in one statement and answered before
anything that may trail it; whatever a hook owes the event (a rule's run, a status change, an
ack) still commits with it."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.devices import services as devices
from linli.devices.health import forget_seen
from linli.devices.models import DeviceState, DeviceType
from linli.events import types
from linli.events.models import Event
from linli.events.pipeline import Incoming, store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def camera(district):
    forget_seen()
    return devices.register_device(actor=district.a.users["property_manager"], compound=district.a.compound,
                                   device_type=DeviceType.objects.get(code="lpr-alarminfoplate"),
                                   serial="LPR-0001", name="东门入口相机")


def _read(device, message_id, event_type=types.PLATE_READ, payload=None):
    return Incoming(device_id=device.pk, compound_id=device.compound_id, type=event_type, message_id=message_id,
                    at=timezone.now() - dt.timedelta(seconds=1),
                    payload=payload or {"plate": "鲁B12345", "direction": "in"})


def _store_noting_the_answer(batch):
    answered = {}
    with CaptureQueriesContext(connection) as queries:
        def on_commit(results):
            # Writes only: the rule cache may check its version (a read, at most once a second).
            answered["statements"] = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
            answered["in_transaction"] = connection.in_atomic_block
            answered["results"] = results

        store(batch, on_commit=on_commit)
    return answered, [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]


def test_a_plate_read_is_answered_after_its_one_insert_and_before_the_last_seen_update(camera):
    answered, statements = _store_noting_the_answer([_read(camera, "p1")])
    assert len(answered["statements"]) == 1 and answered["statements"][0].startswith("INSERT")
    assert answered["in_transaction"] is False
    assert [r.duplicate for r in answered["results"]] == [False]
    # The device's last-seen time follows, after the answer.
    assert any(s.startswith("UPDATE") for s in statements[1:])
    assert DeviceState.objects.get(device=camera).last_seen_at is not None
    assert Event.objects.filter(device=camera, message_id="p1").count() == 1


def test_a_resent_plate_read_on_the_fast_path_is_still_stored_once(camera):
    store([_read(camera, "p2")], on_commit=lambda results: None)
    answered, _ = _store_noting_the_answer([_read(camera, "p2"), _read(camera, "p3")])
    assert [r.duplicate for r in answered["results"]] == [True, False]
    assert Event.objects.filter(device=camera).count() == 2


def test_a_status_message_changes_the_device_in_the_same_transaction_as_its_event(camera):
    answered, _ = _store_noting_the_answer([_read(camera, "s1", types.STATUS, {"online": True, "fault": True})])
    assert answered["in_transaction"] is False  # answered at commit, after the hooks
    assert len(answered["statements"]) > 1  # the status change ran before the answer
    assert DeviceState.objects.get(device=camera).fault is True


def test_with_a_rule_on_plate_reads_the_rule_runs_before_the_answer(camera, district):
    from linli.automations import services as rules
    from linli.automations.engine import RULES
    from linli.automations.models import RuleRun

    rules.create_rule(actor=district.a.users["property_manager"], compound=district.a.compound,
                      name="入口车牌提醒", definition={
                          "trigger": {"event_type": types.PLATE_READ},
                          "actions": [{"do": "raise_alarm", "type": "plate_watch", "severity": "warning",
                                                   "title": "布控车辆"}]})
    RULES.checked = 0.0  # the cache checks its version at most once a second
    answered, _ = _store_noting_the_answer([_read(camera, "r1")])
    assert len(answered["statements"]) > 1
    assert RuleRun.objects.filter(event__message_id="r1").exists()
