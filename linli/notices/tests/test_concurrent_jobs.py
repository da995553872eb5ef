"""The notice publisher run by several workers at once publishes and announces each notice once.

Each thread has its own connection: on PostgreSQL the row locks (skip locked) keep the runs apart;
on SQLite every write transaction starts IMMEDIATE, which serialises them the same way.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from linli.notices import services
from linli.notices.models import Notice, NoticeStatus
from linli.notify.models import Notification

THREADS = 4


@pytest.mark.django_db(transaction=True)
def test_scheduled_notices_are_published_once_when_workers_run_the_publisher_at_the_same_time(district):
    a = district.a
    manager = a.users["property_manager"]
    at = timezone.now() + dt.timedelta(minutes=5)
    for i in range(5):
        services.publish_notice(actor=manager, notice=services.draft_notice(
            actor=manager, compound=a.compound, title=f"计划通知{i}", body="正文", publish_at=at))
    start = threading.Barrier(THREADS)
    published: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait()
            published.append(services.publish_due(now=at + dt.timedelta(seconds=1)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert sum(published) == 5
    assert Notice.objects.filter(status=NoticeStatus.PUBLISHED).count() == 5
    assert Notification.objects.filter(source__startswith="notice:").count() == 5
