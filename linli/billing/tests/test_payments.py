"""Payments: online notices credit once and only when they are ours; cash; prepaid; closing; reconciling."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.billing import ledger, payments, selectors
from linli.billing.models import Allocation, Bill, JournalEntry, Payment, Reconciliation
from linli.billing.payments import PaymentRefused, StatementRow
from linli.billing.providers.base import PaymentStatus as NoticeStatus
from linli.billing.tests.conftest import bill_of, billed, notice
from linli.core.errors import Forbidden, NotFound


def _started(side, provider="wechatpay"):
    billed(side)
    return payments.start_payment(actor=side.users["resident"], bills=[bill_of(side)], provider=provider)


def test_a_resident_starts_a_payment_for_their_own_bill_at_its_outstanding_amount(district):
    a = district.a
    payment = _started(a)
    assert payment.status == "created"
    assert payment.amount_fen == 11678
    assert payment.house_id == a.house.pk
    assert 6 <= len(payment.out_trade_no) <= 32 and payment.out_trade_no.isalnum()
    with pytest.raises(NotFound):  # the neighbour's bill
        payments.start_payment(actor=a.users["resident"], bills=[bill_of(a, a.other_house)])
    with pytest.raises(NotFound):
        payments.start_payment(actor=district.b.users["cashier"], bills=[bill_of(a)])
    assert Payment.objects.count() == 1


def test_a_paid_notice_settles_the_bill_and_posts_clearing_against_receivable(district, merchants):
    a = district.a
    payment = _started(a)
    result = payments.credit_payment(notice(payment))
    assert result.credited
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.transaction_id
    bill = bill_of(a)
    assert (bill.status, bill.paid_fen) == ("paid", 11678)
    assert ledger.balance(a.compound.pk, "clearing_wechatpay") == 11678
    assert ledger.balance(a.compound.pk, "receivable", house_id=a.house.pk) == 0


def test_a_replayed_payment_notification_credits_once(district, merchants):
    payment = _started(district.a)
    first = payments.credit_payment(notice(payment))
    again = payments.credit_payment(notice(payment))
    assert first.credited and not again.credited
    assert again.payment.pk == first.payment.pk and again.payment.status == "paid"
    assert JournalEntry.objects.filter(kind="payment").count() == 1
    assert Allocation.objects.count() == 1


@pytest.mark.parametrize("tampered", [
    {"amount_fen": 1}, {"amount_fen": 11679}, {"merchant_id": "1900000999"}, {"provider": "alipay"},
    {"out_trade_no": "LLUNKNOWN000001"},
])
def test_a_tampered_amount_or_merchant_id_is_refused_and_nothing_changes(district, merchants, tampered):
    payment = _started(district.a)
    entries = JournalEntry.objects.count()
    with pytest.raises(PaymentRefused):
        payments.credit_payment(notice(payment, **tampered))
    payment.refresh_from_db()
    assert payment.status == "created" and payment.transaction_id == ""
    assert bill_of(district.a).paid_fen == 0
    assert JournalEntry.objects.count() == entries


def test_no_merchant_configured_refuses_every_notice(district, settings):
    settings.BILLING_MERCHANTS = {}
    payment = _started(district.a)
    with pytest.raises(PaymentRefused):
        payments.credit_payment(notice(payment))
    assert Payment.objects.get().status == "created"


def test_a_notice_that_is_not_a_success_changes_nothing(district, merchants):
    payment = _started(district.a)
    for status in (NoticeStatus.NOT_PAID, NoticeStatus.CLOSED):
        assert not payments.credit_payment(notice(payment, status=status)).credited
    assert Payment.objects.get().status == "created"
    assert not JournalEntry.objects.filter(kind="payment").exists()


def test_a_second_provider_transaction_for_a_paid_order_is_refused(district, merchants):
    payment = _started(district.a)
    payments.credit_payment(notice(payment))
    with pytest.raises(PaymentRefused):
        payments.credit_payment(notice(payment, transaction_id="4200000000OTHER"))
    assert JournalEntry.objects.filter(kind="payment").count() == 1


def test_a_cashier_takes_cash_above_the_bill_and_the_rest_becomes_prepaid_that_pays_the_next_bill(district):
    a = district.a
    cashier = a.users["cashier"]
    billed(a)
    payment = payments.record_cash_payment(actor=cashier, bills=[bill_of(a)], amount_fen=20000, method="cash")
    assert payment.status == "paid"
    assert bill_of(a).status == "paid"
    assert payments.prepaid_balance(a.house) == 20000 - 11678
    assert selectors.prepaid_balance(a.users["resident"], a.house) == 20000 - 11678
    assert ledger.balance(a.compound.pk, "cash") == 20000
    billed(a, period="2026-12", name="物业费12月")
    december = Bill.objects.get(house=a.house, period_start=dt.date(2026, 12, 1))
    used = payments.apply_prepaid(actor=a.users["resident"], house=a.house)
    december.refresh_from_db()
    assert used == 20000 - 11678
    assert (december.status, december.paid_fen) == ("partially_paid", 8322)
    assert payments.prepaid_balance(a.house) == 0
    assert payments.apply_prepaid(actor=cashier, house=a.house) == 0


def test_only_cashiers_and_managers_record_cash(district):
    a = district.a
    billed(a)
    for user in (a.users["resident"], a.users["customer_service"], a.users["technician"]):
        with pytest.raises((Forbidden, NotFound)):
            payments.record_cash_payment(actor=user, bills=[bill_of(a)], amount_fen=100)
    payments.record_cash_payment(actor=a.users["property_manager"], bills=[bill_of(a)], amount_fen=100,
                                 method="transfer")
    assert ledger.balance(a.compound.pk, "bank") == 100
    assert bill_of(a).status == "partially_paid"


def test_unpaid_payments_are_closed_after_a_while_and_a_late_notice_still_credits(district, merchants):
    payment = _started(district.a)
    assert payments.close_unpaid(older_than=dt.timedelta(hours=2)) == 0
    later = payment.created_at + dt.timedelta(hours=3)
    assert payments.close_unpaid(older_than=dt.timedelta(hours=2), now=later) == 1
    assert Payment.objects.get().status == "closed"
    assert payments.credit_payment(notice(payment)).credited  # the money did arrive
    assert Payment.objects.get().status == "paid"


def test_reconciliation_reports_what_is_missing_on_either_side_and_amounts_that_differ(district, merchants):
    a = district.a
    billed(a)
    paid = payments.start_payment(actor=a.users["resident"], bills=[bill_of(a)])
    payments.credit_payment(notice(paid))
    other = payments.start_payment(actor=a.users["cashier"], bills=[bill_of(a, a.other_house)])
    payments.credit_payment(notice(other))
    day = dt.date(2026, 11, 3)
    paid.refresh_from_db()
    other.refresh_from_db()
    clean = payments.reconcile(provider="wechatpay", day=day, statement_rows=[
        StatementRow(p.out_trade_no, p.transaction_id, p.amount_fen) for p in (paid, other)])
    assert clean.matched and clean.differences == {}
    result = payments.reconcile(provider="wechatpay", day=day, statement_rows=[
        StatementRow(paid.out_trade_no, paid.transaction_id, paid.amount_fen - 1),
        StatementRow("LLSTRANGER0000001", "4200000000XYZ", 500)])
    assert not result.matched
    assert result.differences == {
        "missing_at_provider": [other.out_trade_no], "missing_here": ["LLSTRANGER0000001"],
        "amount_mismatch": [{"out_trade_no": paid.out_trade_no, "ours": paid.amount_fen,
                             "theirs": paid.amount_fen - 1}]}
    assert Reconciliation.objects.count() == 2
    assert payments.reconcile(provider="wechatpay", day=dt.date(2026, 11, 4), statement_rows=[]).matched
