"""Refunds need a second person; an approved refund runs the payment backwards as far as it reaches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from linli.billing import ledger, payments
from linli.billing.models import Bill, JournalEntry
from linli.billing.tests.conftest import bill_of, billed
from linli.core.errors import Forbidden


def _cash(side, amount=20000):
    billed(side)
    return payments.record_cash_payment(actor=side.users["cashier"], bills=[bill_of(side)], amount_fen=amount)


def test_a_refund_needs_a_second_person_to_approve_it(district):
    a = district.a
    manager = a.users["property_manager"]
    payment = _cash(a)
    refund = payments.request_refund(actor=manager, payment=payment, amount_fen=1000, reason="多收")
    with pytest.raises(Forbidden):
        payments.approve_refund(actor=manager, refund=refund)
    with pytest.raises(Forbidden):  # a cashier may ask, never approve
        payments.approve_refund(actor=a.users["cashier"], refund=refund)
    refund.refresh_from_db()
    assert refund.status == "requested"
    assert not JournalEntry.objects.filter(kind="refund").exists()
    other_manager = district.b.users["property_manager"]
    with pytest.raises(Exception):  # noqa: B017 - NotFound: another company's manager cannot even see it
        payments.approve_refund(actor=other_manager, refund=refund)


def test_an_approved_refund_takes_back_prepaid_first_then_reopens_the_bill(district):
    a = district.a
    payment = _cash(a)  # 11678 on the bill, 8322 prepaid
    refund = payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=10000, reason="退多缴")
    payments.approve_refund(actor=a.users["property_manager"], refund=refund)
    refund.refresh_from_db()
    assert refund.status == "approved" and refund.decided_by == a.users["property_manager"]
    assert payments.prepaid_balance(a.house) == 0
    bill = bill_of(a)
    assert (bill.status, bill.paid_fen) == ("partially_paid", 11678 - 1678)
    assert ledger.balance(a.compound.pk, "cash") == 10000
    assert ledger.balance(a.compound.pk, "receivable", house_id=a.house.pk) == 1678
    assert ledger.balance(a.compound.pk, "property_income") == 11678 + 12150  # the income stays


def test_a_refund_cannot_exceed_what_was_paid_less_earlier_refunds(district):
    a = district.a
    payment = _cash(a)
    with pytest.raises(ValidationError):
        payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=20001, reason="x")
    first = payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=15000, reason="x")
    with pytest.raises(ValidationError):  # the pending one counts
        payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=5001, reason="x")
    payments.reject_refund(actor=a.users["property_manager"], refund=first)
    whole = payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=20000, reason="x")
    payments.approve_refund(actor=a.users["property_manager"], refund=whole)
    assert bill_of(a).status == "open"
    assert ledger.balance(a.compound.pk, "cash") == 0
    with pytest.raises(ValidationError):
        payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=1, reason="x")


def test_prepaid_already_spent_on_another_bill_cannot_be_refunded(district):
    a = district.a
    payment = _cash(a)
    billed(a, period="2026-12", name="物业费12月")
    payments.apply_prepaid(actor=a.users["cashier"], house=a.house)
    with pytest.raises(ValidationError):
        payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=11679, reason="x")
    refund = payments.request_refund(actor=a.users["cashier"], payment=payment, amount_fen=11678, reason="x")
    payments.approve_refund(actor=a.users["property_manager"], refund=refund)
    november = Bill.objects.get(house=a.house, period_start=dt.date(2026, 11, 1))
    december = Bill.objects.get(house=a.house, period_start=dt.date(2026, 12, 1))
    assert november.status == "open"
    assert december.paid_fen == 20000 - 11678
