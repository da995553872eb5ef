"""Late fees: one line per overdue bill per day, capped, on the ledger; a second run that day adds nothing."""

from __future__ import annotations

import datetime as dt

from linli.billing import ledger, payments
from linli.billing.models import BillLine, JournalEntry
from linli.billing.services import assess_late_fees
from linli.billing.tests.conftest import bill_of, billed

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _day(day: int, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, 9, 0, tzinfo=SHANGHAI)


def test_late_fees_are_assessed_once_per_bill_per_day(district):
    a = district.a
    billed(a, late_fee_bp_per_day=5)  # 0.05% a day; due 2026-11-16
    assert assess_late_fees(_day(16, 11)) == 0  # due today: not late yet
    assert assess_late_fees(_day(17, 11)) == 2
    assert assess_late_fees(_day(17, 11).replace(hour=22)) == 0  # same day again
    bill = bill_of(a)
    assert bill.late_fees_fen == 6  # 11678 × 0.0005 = 5.839 → 6
    assert bill.lines.filter(kind="late_fee").count() == 1
    assert assess_late_fees(_day(18, 11)) == 2
    assert bill_of(a).late_fees_fen == 12
    assert JournalEntry.objects.filter(kind="late_fee").count() == 4
    assert ledger.balance(a.compound.pk, "receivable", house_id=a.house.pk) == 11678 + 12


def test_late_fees_stop_at_the_cap_and_when_the_charges_are_paid(district):
    a = district.a
    billed(a, late_fee_bp_per_day=100, late_fee_cap_bp=250)  # 1% a day, at most 2.5% of the charges
    for day in range(17, 25):
        assess_late_fees(_day(day, 11))
    assert bill_of(a).late_fees_fen == 292  # round(11678 × 0.025) = 292
    payments.record_cash_payment(actor=a.users["cashier"], bills=[bill_of(a, a.other_house)], amount_fen=12150)
    before = BillLine.objects.filter(bill=bill_of(a, a.other_house), kind="late_fee").count()
    assess_late_fees(_day(1))
    assert BillLine.objects.filter(bill=bill_of(a, a.other_house), kind="late_fee").count() == before


def test_a_fee_item_without_late_fees_never_charges_them(district):
    billed(district.a)
    assert assess_late_fees(_day(31)) == 0
    assert not BillLine.objects.filter(kind="late_fee").exists()
