"""Overdue reminders: one per period after the compound's first reminder time, at most the maximum,
safe to run twice, catching up after a pause with one reminder (not a burst)."""

import datetime as dt

from linli.notify.models import Notification
from linli.parcels import services
from linli.parcels.models import Parcel


def _reminders(parcel):
    return Notification.objects.filter(source=f"parcel:{parcel.pk}", dedupe_key__contains=":reminder:").count()


def test_the_reminder_comes_once_per_period_and_stops_after_the_max(district, parcel):
    t0 = parcel.registered_at
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=47, minutes=59)) == 0
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=48)) == 1
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=48)) == 0  # run twice: nothing more
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=71)) == 0
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=72)) == 1
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=96)) == 1
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=120)) == 0  # three is the default maximum
    assert services.remind_overdue(now=t0 + dt.timedelta(days=30)) == 0
    parcel.refresh_from_db()
    assert parcel.reminders_sent == 3 and _reminders(parcel) == 3


def test_a_job_that_was_down_sends_one_reminder_and_the_next_a_period_later(district, parcel):
    t0 = parcel.registered_at
    assert services.remind_overdue(now=t0 + dt.timedelta(days=5)) == 1
    assert services.remind_overdue(now=t0 + dt.timedelta(days=5, hours=23)) == 0
    assert services.remind_overdue(now=t0 + dt.timedelta(days=6)) == 1


def test_a_collected_or_returned_parcel_gets_no_reminder(district, parcel, guard):
    services.confirm_pickup(actor=district.a.users["resident"], parcel=parcel)
    returned = services.register_parcel(actor=guard, house=district.a.house)
    services.return_to_courier(actor=guard, parcel=returned, reason="拒收")
    assert services.remind_overdue(now=parcel.registered_at + dt.timedelta(days=3)) == 0


def test_the_compounds_policy_sets_the_period_and_the_maximum(district, parcel):
    manager = district.a.users["property_manager"]
    services.set_policy(actor=manager, compound=district.a.compound, first_reminder_hours=4, reminder_every_hours=2,
                        max_reminders=1)
    other = services.register_parcel(actor=district.b.users["guard"], house=district.b.house)
    t0 = parcel.registered_at
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=4)) == 1  # side b keeps the 48 hours
    assert services.remind_overdue(now=t0 + dt.timedelta(hours=10)) == 0
    assert Parcel.objects.get(pk=other.pk).reminders_sent == 0


def test_only_a_manager_sets_the_policy(district):
    import pytest

    from linli.core.errors import Forbidden

    with pytest.raises(Forbidden):
        services.set_policy(actor=district.a.users["guard"], compound=district.a.compound, max_reminders=5)
