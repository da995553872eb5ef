"""Tenancies: registration into the real population, the residency that ends with the lease, who may
let a house, and listings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.accounts import services as accounts
from linli.billing.models import Bill
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.testing import add_billing_and_work_orders
from linli.notices import selectors as notices
from linli.notices import services as notice_services
from linli.people.models import Person, Residency
from linli.places.models import House
from linli.rentals import services
from linli.rentals.models import ListingStatus, Tenancy, TenancyStatus
from linli.rentals.testing import TENANT_PHONES, tenant_id_number

pytestmark = pytest.mark.django_db


def _register(d, actor=None, house=None, *, tag="a", start=dt.date(2024, 1, 1), end=dt.date(2099, 12, 31), **kw):
    return services.register_tenancy(actor=actor or d.a.users["property_manager"], house=house or d.a.house,
                                     tenant_name="王租客", id_type="mainland_id", id_number=tenant_id_number(tag),
                                     phone=TENANT_PHONES[tag], lease_start=start, lease_end=end, rent_fen=150000,
                                     **kw)


def test_a_tenancy_adds_a_tenant_residency_that_ends_with_the_lease(district):
    d = district
    end = dt.date(2030, 6, 30)
    tenancy = _register(d, end=end)
    tenant = tenancy.tenant
    assert tenant.compound == d.a.compound and tenant.id_masked != tenant_id_number("a")
    assert tenant.id_number_plain() == tenant_id_number("a")
    assert tenancy.landlord == d.a.owner
    residency = tenancy.residency
    assert (residency.person, residency.house, residency.role, residency.since) == (
        tenant, d.a.house, "tenant", dt.date(2024, 1, 1))
    assert residency.until is None  # current while the lease runs
    assert House.objects.get(pk=d.a.house.pk).occupancy == "rented"
    assert services.end_expired_tenancies(today=end) == 0
    assert services.end_expired_tenancies(today=end + dt.timedelta(days=1)) == 1
    assert services.end_expired_tenancies(today=end + dt.timedelta(days=30)) == 0
    residency.refresh_from_db()
    tenancy.refresh_from_db()
    assert residency.until == end and tenancy.status == TenancyStatus.ENDED and tenancy.ended_on == end


def test_after_the_lease_ends_the_tenant_no_longer_reaches_the_houses_bills_or_notices(district):
    d = district
    add_billing_and_work_orders(d)
    today = timezone.localdate()
    tenancy = _register(d, start=today - dt.timedelta(days=365), end=today)
    tenant = accounts.create_resident_account(actor=d.admin, person=tenancy.tenant)
    manager = d.a.users["property_manager"]
    notice = notice_services.publish_notice(actor=manager, notice=notice_services.draft_notice(
        actor=manager, compound=d.a.compound, title="电梯年检", body="本周五年检。", building=d.a.building))
    assert set(tenant.scope().grants[0].houses.values_list("id", flat=True)) == {d.a.house.pk}
    assert Bill.objects.restrict(tenant).filter(house=d.a.house).exists()
    assert list(notices.notices_for(tenant)) == [notice]
    # The lease's last day is today; the job of the day after closes the residency.
    assert services.end_expired_tenancies(today=today + dt.timedelta(days=1)) == 1
    tenant = type(tenant).objects.get(pk=tenant.pk)  # a new request: the scope is built again
    assert list(tenant.scope().grants[0].houses) == []
    assert not House.objects.restrict(tenant).exists()
    assert not Bill.objects.restrict(tenant).exists()
    assert list(notices.notices_for(tenant)) == []
    # The tenant's own registration stays theirs to see.
    assert list(Tenancy.objects.restrict(tenant)) == [tenancy]


def test_an_owner_registers_a_tenant_but_a_non_owner_resident_cannot_register_for_someone_elses_house(district):
    d = district
    family = accounts.create_resident_account(actor=d.admin, person=d.a.family)
    with pytest.raises(Forbidden):
        _register(d, actor=family)  # lives there, but does not own it
    with pytest.raises(NotFound):
        _register(d, actor=d.a.users["resident"], house=d.a.other_house)  # not theirs: not even visible
    with pytest.raises(Forbidden):
        _register(d, actor=d.a.users["guard"])
    assert not Tenancy.objects.exists() and not Person.objects.filter(name="王租客").exists()
    tenancy = _register(d, actor=d.a.users["resident"])
    assert tenancy.landlord == d.a.owner and tenancy.registered_by == d.a.users["resident"]
    assert tenancy.residency.verified_by is None  # an owner's registration awaits staff verification


def test_the_same_tenant_is_found_by_id_number_and_not_registered_twice(district):
    d = district
    first = _register(d)
    with pytest.raises(ValidationError) as err:
        _register(d, house=d.a.other_house)  # the other house has no owner on file
    assert "house" in err.value.message_dict
    with pytest.raises(Conflict):
        _register(d)
    Residency.objects.create(compound=d.a.compound, person=d.b.owner, house=d.a.other_house, role="owner",
                             since=dt.date(2020, 1, 1))
    again = _register(d, house=d.a.other_house)
    assert again.tenant_id == first.tenant_id
    assert Person.objects.filter(id_digest=first.tenant.id_digest).count() == 1


def test_bad_leases_are_refused_naming_the_field(district):
    d = district
    for kwargs, field in (({"start": dt.date(2025, 1, 1), "end": dt.date(2024, 1, 1)}, "lease_end"),
                          ({"purpose": "warehouse"}, "purpose")):
        with pytest.raises(ValidationError) as err:
            _register(d, **kwargs)
        assert field in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.register_tenancy(actor=d.a.users["property_manager"], house=d.a.house, tenant_name="王租客",
                                  id_type="mainland_id", id_number="370281199001011230", phone="13600136001",
                                  lease_start=dt.date(2024, 1, 1), lease_end=dt.date(2025, 1, 1), rent_fen=1)
    assert "id_number" in err.value.message_dict
    assert not Tenancy.objects.exists()


def test_ending_a_tenancy_early(district):
    d = district
    today = timezone.localdate()
    tenancy = _register(d, start=today - dt.timedelta(days=100), end=today + dt.timedelta(days=200))
    manager = d.a.users["property_manager"]
    later = services.end_tenancy(actor=manager, tenancy=tenancy, on=today + dt.timedelta(days=10))
    assert later.status == TenancyStatus.ACTIVE and later.lease_end == today + dt.timedelta(days=10)
    assert Residency.objects.get(pk=tenancy.residency_id).until is None
    with pytest.raises(ValidationError) as err:
        services.end_tenancy(actor=manager, tenancy=later, on=today + dt.timedelta(days=11))
    assert "on" in err.value.message_dict
    with pytest.raises(Forbidden):
        services.end_tenancy(actor=d.a.users["grid_worker"], tenancy=later, on=today - dt.timedelta(days=1))
    ended = services.end_tenancy(actor=d.a.users["resident"], tenancy=later, on=today - dt.timedelta(days=1))
    assert ended.status == TenancyStatus.ENDED
    assert Residency.objects.get(pk=tenancy.residency_id).until == today - dt.timedelta(days=1)


def test_a_listing_is_let_by_the_tenancy_that_names_it(district):
    d = district
    owner = d.a.users["resident"]
    listing = services.create_listing(actor=owner, house=d.a.house, rent_fen=200000, deposit_fen=400000,
                                      available_from=dt.date(2024, 1, 1), description="精装修")
    with pytest.raises(Conflict):
        services.create_listing(actor=owner, house=d.a.house, rent_fen=1, available_from=dt.date(2024, 1, 1))
    with pytest.raises(NotFound):
        services.create_listing(actor=owner, house=d.a.other_house, rent_fen=1, available_from=dt.date(2024, 1, 1))
    with pytest.raises(Forbidden):
        services.withdraw_listing(actor=accounts.create_resident_account(actor=d.admin, person=d.a.family),
                                  listing=listing)
    tenancy = _register(d, actor=owner, listing=listing)
    listing.refresh_from_db()
    assert tenancy.listing == listing and listing.status == ListingStatus.LET
    with pytest.raises(ValidationError) as err:
        services.withdraw_listing(actor=owner, listing=listing)
    assert "status" in err.value.message_dict
