"""The notice publisher run by several workers at once publishes and announces each notice once.

Each thread has its own connection: on PostgreSQL the row locks (skip locked) keep the runs apart;
on SQLite every write transaction starts IMMEDIATE, which serialises them the same way.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.core.testing import at_once
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
    published = at_once(lambda _: services.publish_due(now=at + dt.timedelta(seconds=1)), list(range(THREADS)))
    assert sum(published) == 5
    assert Notice.objects.filter(status=NoticeStatus.PUBLISHED).count() == 5
    assert Notification.objects.filter(source__startswith="notice:").count() == 5
