"""Escalation with simulated time: unacknowledged alarms and missed arrival deadlines go up
property → community → street, read from the rows alone (so a restart changes nothing)."""

import datetime as dt

import pytest
from django.utils import timezone

from linli.alarms import escalation
from linli.alarms import services as alarms
from linli.alarms.models import Alarm


def _raise(district, type="smoke", severity="critical", deadline_at=None):
    alarm, _ = alarms.raise_alarm(compound_id=district.a.compound.pk, source=f"test:{type}", type=type,
                                  severity=severity, title="测试告警", deadline_at=deadline_at)
    return alarm


def test_an_unacknowledged_critical_alarm_climbs_one_level_per_five_minutes_up_to_the_street(district):
    alarm = _raise(district)
    raised = alarm.raised_at
    assert escalation.escalate_due(raised + dt.timedelta(minutes=4, seconds=59)) == []
    assert escalation.escalate_due(raised + dt.timedelta(minutes=5)) == [alarm.pk]
    alarm.refresh_from_db()
    assert alarm.escalation_level == 1 and alarm.escalated_at == raised + dt.timedelta(minutes=5)
    assert escalation.escalate_due(raised + dt.timedelta(minutes=9)) == []  # the community has its own 5 minutes
    assert escalation.escalate_due(raised + dt.timedelta(minutes=10)) == [alarm.pk]
    assert escalation.escalate_due(raised + dt.timedelta(hours=5)) == []  # the street is the top
    alarm.refresh_from_db()
    assert alarm.escalation_level == 2
    assert [c.text for c in alarm.comments.all()] == ["超时未确认，已升级至社区", "超时未确认，已升级至街道"]


def test_an_acknowledged_alarm_does_not_escalate_and_warnings_never_do(district):
    critical = _raise(district)
    alarms.acknowledge(actor=district.a.users["guard"], alarm=critical)
    warning = _raise(district, type="litter", severity="warning")
    later = timezone.now() + dt.timedelta(hours=3)
    assert escalation.escalate_due(later) == []
    assert Alarm.objects.get(pk=critical.pk).escalation_level == 0
    assert Alarm.objects.get(pk=warning.pk).escalation_level == 0


def test_a_missed_arrival_deadline_escalates_even_when_acknowledged_and_arriving_stops_it(district):
    now = timezone.now()
    late = _raise(district, type="entrapment", deadline_at=now + dt.timedelta(minutes=30))
    alarms.acknowledge(actor=district.a.users["guard"], alarm=late)
    on_time = _raise(district, type="entrapment2", deadline_at=now + dt.timedelta(minutes=30))
    alarms.acknowledge(actor=district.a.users["guard"], alarm=on_time)
    alarms.arrive(actor=district.a.users["technician"], alarm=on_time, note="维保已到场")
    assert escalation.escalate_due(now + dt.timedelta(minutes=29)) == []
    assert escalation.escalate_due(now + dt.timedelta(minutes=31)) == [late.pk]
    late.refresh_from_db()
    assert late.escalation_level == 1 and late.details["deadline_missed"]
    assert late.comments.last().text == "超过到场时限，已升级至社区"
    assert escalation.escalate_due(now + dt.timedelta(minutes=45)) == []  # one escalation per deadline
    on_time.refresh_from_db()
    assert on_time.escalation_level == 0 and on_time.arrived_at is not None


def test_arrival_is_recorded_once_and_only_on_open_alarms(district):
    alarm = _raise(district)
    guard = district.a.users["guard"]
    alarms.arrive(actor=guard, alarm=alarm)
    with pytest.raises(Exception, match="已记录到场"):
        alarms.arrive(actor=guard, alarm=Alarm.objects.get(pk=alarm.pk))


@pytest.mark.django_db(transaction=True)
def test_the_change_hook_hears_of_an_alarm_only_after_it_committed(district):
    heard = []

    def hear(alarm, what):
        heard.append((alarm.pk, what))

    with alarms.ON_CHANGE.added(hear):
        from django.db import transaction

        with transaction.atomic():
            alarm = _raise(district)
            assert heard == []
        assert heard == [(alarm.pk, "raised")]
        alarms.acknowledge(actor=district.a.users["guard"], alarm=alarm)
        assert heard[-1] == (alarm.pk, "acknowledged")
