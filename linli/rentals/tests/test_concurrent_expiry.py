"""The tenancy expiry job run by several workers at once ends each lease once, and catches up on
every lease that ended while no worker ran."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.core.models import AuditEntry
from linli.core.testing import at_once
from linli.people.models import Residency
from linli.places import services as places
from linli.rentals import services
from linli.rentals.models import Tenancy, TenancyStatus
from linli.rentals.testing import TENANT_PHONES, tenant_id_number

THREADS = 4


@pytest.mark.django_db(transaction=True)
def test_leases_that_ended_while_the_job_was_down_end_once_when_workers_run_it_together(district):
    a = district.a
    manager = a.users["property_manager"]
    today = timezone.localdate()
    ends = [today + dt.timedelta(days=10), today + dt.timedelta(days=40)]
    for i, (tag, end) in enumerate(zip("ab", ends, strict=True)):
        house = places.create_house(actor=district.admin, unit=a.unit, number=f"70{i}", floor=6, built_area="60.00")
        Residency.objects.create(compound=a.compound, person=a.owner, house=house, role="owner",
                                 since=dt.date(2015, 1, 1))
        services.register_tenancy(actor=manager, house=house, tenant_name=f"租客{tag}", id_type="mainland_id",
                                  id_number=tenant_id_number(tag), phone=TENANT_PHONES[tag],
                                  lease_start=dt.date(2024, 1, 1), lease_end=end, rent_fen=100000)
    ended = at_once(lambda _: services.end_expired_tenancies(today=today + dt.timedelta(days=100)),
                    list(range(THREADS)))
    assert sum(ended) == 2
    assert [(t.status, t.ended_on, t.residency.until) for t in Tenancy.objects.order_by("lease_end")] == [
        (TenancyStatus.ENDED, end, end) for end in ends]
    assert AuditEntry.objects.filter(object_type="rentals.tenancy", action="update", actor="tenancy-expiry").count() == 2
