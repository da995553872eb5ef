"""`linli worker` runs the durable business jobs: an overdue work order escalates on time even
when every process was down while it fell due, and a worker killed and started again escalates
each level exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from django.db import connection
from django.utils import timezone

from linli.worker.app import resolve
from linli.worker.jobs import JOBS, Job

WAIT_S = 40


def test_every_job_names_a_function_and_runs_at_least_once_a_minute_or_so():
    for job in JOBS:
        assert callable(resolve(job))
        assert 0 < job.every_s <= 3600


def test_a_job_with_a_wrong_target_stops_the_worker_at_start():
    with pytest.raises(RuntimeError, match="not a function"):
        resolve(Job("nothing", "linli.worker.jobs:NO_SUCH_FUNCTION", 1.0))


def _url_of_test_database() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(settings, log):
    env = {**os.environ, "DATABASE_URL": _url_of_test_database(), "REDIS_URL": "",
           "SECRET_KEY": settings.SECRET_KEY, "LINLI_FIELD_KEY": settings.FIELD_ENCRYPTION_KEY,
           "LINLI_DATA_DIR": str(settings.DATA_DIR)}
    return subprocess.Popen([sys.executable, "-m", "linli", "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log)


def _wait_for_level(order, level: int, worker, log) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        order.refresh_from_db()
        if order.escalation_level >= level:
            return
        assert worker.poll() is None, _tail(log)
        time.sleep(0.2)
    raise AssertionError(f"level {order.escalation_level} after {WAIT_S} s; worker log: {_tail(log)}")


def _tail(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]


@pytest.mark.django_db(transaction=True)
def test_an_overdue_work_order_escalates_on_time_after_every_process_was_restarted(settings):
    from linli.core.testing import build_district
    from linli.workorders import services as workorders
    from linli.workorders.models import WorkOrder, WorkOrderStep

    district = build_district()
    a = district.a
    category = workorders.create_category(actor=a.users["property_manager"], compound=a.compound, code="leak",
                                          kind="repair", name="漏水", deadline_minutes=60, warning_minutes=0,
                                          dispatch_mode="assign", escalation_levels=3,
                                          escalation_interval_minutes=30)
    order = workorders.submit(actor=a.users["resident"], compound=a.compound, category=category,
                              title="厨房水管漏水", house=a.house)
    # Every process was down while the deadline passed: the first level fell due 10 minutes ago,
    # the second is 20 minutes away.
    overdue = timezone.now() - dt.timedelta(minutes=10)
    WorkOrder.objects.filter(pk=order.pk).update(deadline_at=overdue, next_escalation_at=overdue)
    with tempfile.TemporaryFile() as log:
        worker = _start_worker(settings, log)
        try:
            _wait_for_level(order, 1, worker, log)
        finally:
            worker.send_signal(signal.SIGKILL)  # no clean stop: the timers live in the database
            worker.wait(timeout=10)
        assert order.next_escalation_at == overdue + dt.timedelta(minutes=30)
        # The second level falls due while no worker runs; the next worker catches up once.
        WorkOrder.objects.filter(pk=order.pk).update(next_escalation_at=timezone.now() - dt.timedelta(seconds=1))
        worker = _start_worker(settings, log)
        try:
            _wait_for_level(order, 2, worker, log)
        finally:
            worker.terminate()
            worker.wait(timeout=10)
    order.refresh_from_db()
    assert order.escalation_level == 2
    assert WorkOrderStep.objects.filter(work_order=order, action="escalate").count() == 2
