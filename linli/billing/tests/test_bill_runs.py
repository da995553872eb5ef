"""Fee items and bill runs: every house billed once per period, rounding half up, exact cost splits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from linli.billing import ledger, selectors, services
from linli.billing.charges import Period, split_exactly
from linli.billing.models import Bill, BillRun, JournalEntry
from linli.billing.tests.conftest import billed, property_fee
from linli.core.errors import Forbidden, NotFound
from linli.places import services as places


def test_a_bill_run_bills_every_house_once_and_running_it_again_creates_nothing(district):
    a = district.a
    first = billed(a)
    assert first.created
    assert sorted(b.house_id for b in first.bills) == sorted([a.house.pk, a.other_house.pk])
    again = services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=first.run.fee_item,
                               period="2026-11")
    assert not again.created
    assert again.run.pk == first.run.pk
    assert Bill.objects.count() == 2
    assert BillRun.objects.count() == 1
    assert JournalEntry.objects.filter(kind="bill").count() == 2
    assert not Bill.objects.filter(compound=district.b.compound).exists()


def test_the_per_area_fee_is_rounded_half_up_to_the_fen_per_line(district):
    a = district.a
    billed(a)  # ¥1.35/m²: 86.50 m² → 11677.5 fen → 11678; 90.00 m² → 12150
    bill = Bill.objects.get(house=a.house)
    assert bill.charges_fen == 11678
    assert bill.lines.get().amount_fen == 11678
    assert Bill.objects.get(house=a.other_house).charges_fen == 12150
    assert bill.due_on == dt.date(2026, 11, 16)
    assert ledger.balance(a.compound.pk, "receivable", house_id=a.house.pk) == 11678
    assert ledger.balance(a.compound.pk, "property_income") == 11678 + 12150


def test_a_quarter_bills_three_months_and_a_mid_month_range_is_refused_for_monthly_fees(district):
    a = district.a
    run = billed(a, period=(dt.date(2026, 10, 1), dt.date(2026, 12, 31)))
    assert Bill.objects.get(house=a.other_house).charges_fen == 135 * 90 * 3
    assert run.run.period_end == dt.date(2026, 12, 31)
    with pytest.raises(ValidationError):
        services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=run.run.fee_item,
                           period=(dt.date(2027, 1, 5), dt.date(2027, 2, 4)))


def test_a_house_without_area_is_reported_not_billed_zero(district):
    a = district.a
    bare = places.create_house(actor=district.admin, unit=a.unit, number="503", floor=5, built_area="0")
    run = billed(a)
    assert {"house_id": bare.pk, "reason": "no_area"} in run.skipped
    assert not Bill.objects.filter(house=bare).exists()
    assert run.run.billed == 2


def test_a_shared_cost_split_by_area_sums_exactly_to_the_total(district):
    a = district.a
    places.create_house(actor=district.admin, unit=a.unit, number="601", floor=6, built_area="77.77")
    fee = services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="电梯公摊电费",
                                   kind="shared_by_area", amount_fen=10001)
    run = services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=fee,
                             period="2026-11")
    amounts = [b.charges_fen for b in run.bills]
    assert sum(amounts) == 10001
    assert len(amounts) == 3


def test_the_split_gives_leftover_fen_to_the_largest_remainders_then_the_lower_house():
    assert split_exactly(100, {1: 1, 2: 1, 3: 1}) == {1: 34, 2: 33, 3: 33}
    assert split_exactly(10001, {7: 865, 9: 900}) == {7: 4901, 9: 5100}
    parts = split_exactly(99_999, {i: Decimal(i) / 7 for i in range(1, 40)})
    assert sum(parts.values()) == 99_999


def test_a_shared_cost_by_household_splits_evenly_with_the_remainder_on_the_first_house(district):
    a = district.a
    fee = services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="保洁公摊",
                                   kind="shared_by_household", amount_fen=10001)
    services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=fee, period="2026-11")
    first, second = sorted([a.house, a.other_house], key=lambda h: h.pk)
    assert Bill.objects.get(house=first).charges_fen == 5001
    assert Bill.objects.get(house=second).charges_fen == 5000


def test_a_metered_fee_bills_the_consumption_between_readings(district):
    a = district.a
    manager = a.users["property_manager"]
    fee = services.create_fee_item(actor=manager, compound=a.compound, name="水费", kind="metered",
                                   unit_price_fen=395, meter_kind="water", income_account="property_income")
    services.record_meter_reading(actor=manager, house=a.house, meter_kind="water", read_on=dt.date(2026, 10, 31),
                                  value="120.500")
    services.record_meter_reading(actor=manager, house=a.house, meter_kind="water", read_on=dt.date(2026, 11, 30),
                                  value="132.700")
    run = services.run_bills(actor=manager, compound=a.compound, fee_item=fee, period="2026-11")
    assert Bill.objects.get(house=a.house).charges_fen == 4819  # 12.2 m³ × 395 = 4819
    assert {"house_id": a.other_house.pk, "reason": "no_reading"} in run.skipped


def test_a_fee_item_is_validated_for_its_kind(district):
    a = district.a
    with pytest.raises(ValidationError):
        property_fee(a, unit_price_fen=None)
    with pytest.raises(ValidationError):
        property_fee(a, unit_price_fen=-1)
    with pytest.raises(ValidationError):
        services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="水费",
                                 kind="metered", unit_price_fen=395)
    with pytest.raises(ValidationError):
        services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="月费",
                                 kind="fixed_monthly")
    with pytest.raises(ValidationError):
        Period.of("2026-13")


def test_only_a_manager_of_the_compound_sets_fees_and_runs_bills(district):
    a, b = district.a, district.b
    with pytest.raises(Forbidden):
        services.create_fee_item(actor=a.users["cashier"], compound=a.compound, name="x", kind="fixed_monthly",
                                 amount_fen=100)
    fee = property_fee(a)
    with pytest.raises(NotFound):
        services.run_bills(actor=b.users["property_manager"], compound=a.compound, fee_item=fee, period="2026-11")
    with pytest.raises(Forbidden):
        services.run_bills(actor=a.users["cashier"], compound=a.compound, fee_item=fee, period="2026-11")
    assert not Bill.objects.exists()


def test_a_resident_sees_only_their_own_houses_bills(district):
    a = district.a
    billed(a)
    billed(district.b)
    mine = list(selectors.bills(a.users["resident"]))
    assert [b.house_id for b in mine] == [a.house.pk]
    assert selectors.bills(a.users["cashier"]).count() == 2
    assert selectors.bills(district.city_admin).count() == 4
    with pytest.raises(NotFound):
        selectors.bill(a.users["resident"], Bill.objects.get(house=a.other_house).pk)
    assert selectors.bills(a.users["technician"]).count() == 0
