"""Payments, prepaid balances and refunds, and the provider-side jobs (crediting, closing, reconciling).

Accounting:
- A payment debits where the money is — clearing_wechatpay / clearing_alipay until the provider
  settles, cash, or bank for transfers — and credits the house's receivable for what it settles
  of the bills (charges before late fees, bills in the order they were chosen) and the house's
  prepaid (预收款) for anything above them.
- Prepaid paying a bill: Dr prepaid / Cr receivable, both on the house.
- An approved refund is the payment run backwards as far as it reaches: first the part of this
  payment that went to prepaid (as far as the house's prepaid balance still holds it: Dr
  prepaid), then its bills, most recently settled first (Dr receivable; the bills are unpaid
  again by that much). The income stays recognised: the house owes the bill again. The credit
  goes to the same clearing, cash or bank account the payment came in through. A refund that
  would need prepaid already spent on other bills is refused.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing import ledger
from linli.billing.models import (
    ONLINE_PROVIDERS,
    AccountKind,
    Allocation,
    Bill,
    BillStatus,
    EntryKind,
    Payment,
    PaymentBill,
    PaymentStatus,
    Provider,
    Reconciliation,
    Refund,
    RefundStatus,
)
from linli.billing.providers.base import PaymentNotice
from linli.billing.providers.base import PaymentStatus as NoticeStatus
from linli.billing.services import bill_status
from linli.core.errors import Forbidden
from linli.core.services import (
    bulk_create_audited,
    field_error,
    require,
    require_in_compound,
    save_changes,
    save_new,
    service,
)

# Where the money sits once paid, per way of paying.
MONEY_ACCOUNT = {
    Provider.WECHATPAY: AccountKind.CLEARING_WECHATPAY,
    Provider.ALIPAY: AccountKind.CLEARING_ALIPAY,
    Provider.CASH: AccountKind.CASH,
    Provider.TRANSFER: AccountKind.BANK,
}


class PaymentRefused(Exception):
    """A provider's notice we will not act on; `reason` is a short code safe to log and store,
    `detail` a few words for the record (never logged)."""

    def __init__(self, reason: str, out_trade_no: str = "", detail: str = ""):
        super().__init__(f"{reason}: {out_trade_no}")
        self.reason = reason
        self.out_trade_no = out_trade_no
        self.detail = detail


@dataclass(frozen=True)
class CreditResult:
    payment: Payment
    credited: bool  # True only for the one notice that marked it paid


def new_out_trade_no() -> str:
    # Provider limits: 6-32 characters of letters and digits; no personal data.
    return f"LL{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(7).upper()}"


def _locked_bills(bills: Sequence[Bill]) -> list[Bill]:
    order = {b.pk: i for i, b in enumerate(bills)}
    locked = list(Bill.objects.select_for_update().filter(pk__in=order).order_by("pk"))
    return sorted(locked, key=lambda b: order[b.pk])


def _one_house(bills: Sequence[Bill]) -> tuple[int, int]:
    if not bills:
        raise field_error("bills", _("请选择要缴纳的账单"))
    houses = {(b.compound_id, b.house_id) for b in bills}
    if len(houses) != 1:
        raise field_error("bills", _("一次只能缴纳同一房屋的账单"))
    return houses.pop()


@service
def start_payment(*, actor: Any, bills: Sequence[Bill], provider: str = Provider.WECHATPAY) -> Payment:
    """Record an online payment for the bills' outstanding amount, in `created`; the caller then
    asks the provider for the order. A resident may pay only their own house's bills."""
    if provider not in ONLINE_PROVIDERS:
        raise field_error("provider", _("不支持的支付方式"))
    compound_id, house_id = _one_house(bills)
    for bill in bills:
        require(actor, bill, "view")
    require_in_compound(actor, Payment, "add", compound_id)
    bills = _locked_bills(bills)
    if any(b.outstanding_fen <= 0 for b in bills):
        raise field_error("bills", _("所选账单中有已缴清的账单"))
    payment = save_new(Payment(compound_id=compound_id, house_id=house_id, out_trade_no=new_out_trade_no(),
                               provider=provider, amount_fen=sum(b.outstanding_fen for b in bills),
                               created_at=timezone.now(), started_by=actor), exclude=("compound", "house"))
    bulk_create_audited(PaymentBill, [PaymentBill(compound_id=compound_id, payment=payment, bill=b, position=i)
                                      for i, b in enumerate(bills)])
    return payment


def _settle(payment: Payment, bills: Sequence[Bill], at: dt.datetime) -> None:
    """Put the payment on the bills (charges first, in order), the rest on the house's prepaid; post it."""
    left = payment.amount_fen
    allocations = []
    for bill in _locked_bills(bills):
        take = min(left, bill.outstanding_fen)
        if take <= 0:
            continue
        paid = bill.paid_fen + take
        save_changes(bill, {"paid_fen": paid, "status": bill_status(paid, bill.amount_fen)})
        allocations.append(Allocation(compound_id=payment.compound_id, house_id=payment.house_id, payment=payment,
                                      bill=bill, amount_fen=take, at=at))
        left -= take
    if left:
        allocations.append(Allocation(compound_id=payment.compound_id, house_id=payment.house_id, payment=payment,
                                      amount_fen=left, at=at))
    bulk_create_audited(Allocation, allocations)
    c, h = payment.compound_id, payment.house_id
    ledger.post(compound_id=c, kind=EntryKind.PAYMENT, memo=_("收款 %(no)s") % {"no": payment.out_trade_no},
                lines=[ledger.line(c, MONEY_ACCOUNT[Provider(payment.provider)], payment.amount_fen),
                       ledger.line(c, AccountKind.RECEIVABLE, -(payment.amount_fen - left), h),
                       ledger.line(c, AccountKind.PREPAID, -left, h)],
                idempotency_key=f"payment:{payment.pk}", source=("billing.payment", payment.pk), at=at)


def credit_payment(notice: PaymentNotice) -> CreditResult:
    """System write for a verified provider notice or query result; idempotent and safe to run
    concurrently: the payment row is locked, so exactly one notice credits it.

    Refused (PaymentRefused, nothing changed): an unknown out_trade_no, another provider or
    merchant than ours, an order total other than ours, or a second provider transaction for a
    paid order. The order total is what must match: a payer who paid less because a coupon or red
    packet covered the rest has paid the bill, and what they paid and the discount are recorded.
    A notice that is not SUCCESS changes nothing. A paid payment answers the same again.
    A payment our close job closed is still credited when the money did arrive.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(out_trade_no=notice.out_trade_no).first()
        if payment is None:
            raise PaymentRefused("unknown_order", notice.out_trade_no)
        ours = getattr(settings, "BILLING_MERCHANTS", {}).get(notice.provider, "")
        if notice.provider != payment.provider or not ours or notice.merchant_id != ours:
            raise PaymentRefused("merchant_mismatch", notice.out_trade_no)
        if notice.status != NoticeStatus.SUCCESS:  # "not paid yet" answers may carry no amount
            return CreditResult(payment, credited=False)
        if notice.amount_fen != payment.amount_fen:
            raise PaymentRefused("amount_mismatch", notice.out_trade_no,
                                 f"total {notice.amount_fen}, ours {payment.amount_fen}")
        if not (0 <= notice.discount_fen <= payment.amount_fen and 0 <= notice.merchant_discount_fen <= payment.amount_fen):
            raise PaymentRefused("bad_amount", notice.out_trade_no, "discount outside the total")
        if payment.status == PaymentStatus.PAID:
            if payment.transaction_id != notice.transaction_id:
                raise PaymentRefused("transaction_mismatch", notice.out_trade_no)
            return CreditResult(payment, credited=False)
        at = notice.paid_at or timezone.now()
        save_changes(payment, {"status": PaymentStatus.PAID, "transaction_id": notice.transaction_id,
                               "paid_at": at, "closed_at": None,
                               "payer_fen": payment.amount_fen - notice.discount_fen,
                               "discount_fen": notice.discount_fen,
                               "merchant_discount_fen": notice.merchant_discount_fen,
                               "funding": [dict(line) for line in notice.funding]})
        chosen = PaymentBill.objects.filter(payment=payment).order_by("position").values_list("bill_id", flat=True)
        _settle(payment, [Bill(pk=pk) for pk in chosen], at)
        return CreditResult(payment, credited=True)


@service
def record_cash_payment(*, actor: Any, bills: Sequence[Bill], amount_fen: int, method: str = Provider.CASH,
                        note: str = "", house: Any = None) -> Payment:
    """A cashier takes cash or a bank transfer for the bills; above their outstanding goes to prepaid.
    With no bills and a `house`, the whole amount is a prepaid top-up."""
    if method not in (Provider.CASH, Provider.TRANSFER):
        raise field_error("method", _("只能登记现金或银行转账"))
    if amount_fen is None or amount_fen <= 0:
        raise field_error("amount_fen", _("金额必须大于零"))
    if bills:
        compound_id, house_id = _one_house(bills)
        for bill in bills:
            require(actor, bill, "view")
    elif house is not None:
        require(actor, house, "view")
        compound_id, house_id = house.compound_id, house.pk
    else:
        raise field_error("bills", _("请选择要缴纳的账单或房屋"))
    require_in_compound(actor, Payment, "record", compound_id)
    now = timezone.now()
    payment = save_new(Payment(compound_id=compound_id, house_id=house_id, out_trade_no=new_out_trade_no(),
                               provider=method, amount_fen=amount_fen, status=PaymentStatus.PAID, created_at=now,
                               paid_at=now, started_by=actor, note=note[:200]), exclude=("compound", "house"))
    bulk_create_audited(PaymentBill, [PaymentBill(compound_id=compound_id, payment=payment, bill=b, position=i)
                                      for i, b in enumerate(bills)])
    _settle(payment, bills, now)
    return payment


def prepaid_balance(house: Any) -> int:
    """What the house has paid ahead (a credit balance on its prepaid sub-ledger), in fen."""
    return ledger.balance(house.compound_id, AccountKind.PREPAID, house_id=house.pk)


@service
def apply_prepaid(*, actor: Any, house: Any, bills: Sequence[Bill] | None = None) -> int:
    """Pay the house's open bills (or `bills`, in that order) from its prepaid balance; returns fen used."""
    from linli.places.models import House

    require(actor, house, "view")
    require_in_compound(actor, Payment, "add", house.compound_id)
    # One writer per house at a time, so two applications cannot both spend the same balance.
    House.objects.select_for_update().filter(pk=house.pk).first()
    if bills is None:
        bills = list(Bill.objects.filter(house=house).exclude(status=BillStatus.PAID).order_by("due_on", "pk"))
    elif any(b.house_id != house.pk for b in bills):
        raise field_error("bills", _("只能抵扣本房屋的账单"))
    left = prepaid_balance(house)
    now = timezone.now()
    used = 0
    allocations = []
    for bill in _locked_bills(bills):
        take = min(left - used, bill.outstanding_fen)
        if take <= 0:
            continue
        paid = bill.paid_fen + take
        save_changes(bill, {"paid_fen": paid, "status": bill_status(paid, bill.amount_fen)})
        allocations.append(Allocation(compound_id=house.compound_id, house_id=house.pk, bill=bill, amount_fen=take,
                                      at=now))
        used += take
    if not used:
        return 0
    bulk_create_audited(Allocation, allocations)
    c, h = house.compound_id, house.pk
    ledger.post(compound_id=c, kind=EntryKind.PREPAID_APPLIED, memo=_("预收款抵扣"),
                lines=[ledger.line(c, AccountKind.PREPAID, used, h), ledger.line(c, AccountKind.RECEIVABLE, -used, h)],
                idempotency_key=f"prepaid:{allocations[0].pk}", source=("billing.allocation", allocations[0].pk),
                at=now)
    return used


def _refundable(payment: Payment, exclude: Refund | None = None) -> int:
    """What may still be refunded: paid, less refunds approved or pending, and less prepaid
    this payment brought in that the house has since spent."""
    refunds = payment.refunds.filter(status__in=(RefundStatus.REQUESTED, RefundStatus.APPROVED))
    if exclude is not None:
        refunds = refunds.exclude(pk=exclude.pk)
    pending = refunds.filter(status=RefundStatus.REQUESTED).aggregate(s=Sum("amount_fen"))["s"] or 0
    net = payment.allocations.aggregate(s=Sum("amount_fen"))["s"] or 0  # approved refunds are negative here
    to_prepaid = payment.allocations.filter(bill__isnull=True).aggregate(s=Sum("amount_fen"))["s"] or 0
    from linli.places.models import House

    house = House.objects.get(pk=payment.house_id)
    unspent = max(0, min(to_prepaid, prepaid_balance(house)))
    return max(0, net - to_prepaid + unspent - pending)


@service
def request_refund(*, actor: Any, payment: Payment, amount_fen: int, reason: str) -> Refund:
    require(actor, payment, "view")
    require_in_compound(actor, Refund, "add", payment.compound_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.PAID:
        raise field_error("payment", _("只有已支付的款项可以退款"))
    if not reason.strip():
        raise field_error("reason", _("请填写退款原因"))
    if amount_fen is None or amount_fen <= 0:
        raise field_error("amount_fen", _("金额必须大于零"))
    if amount_fen > _refundable(payment):
        raise field_error("amount_fen", _("退款金额超过可退金额"))
    return save_new(Refund(compound_id=payment.compound_id, payment=payment, amount_fen=amount_fen,
                           reason=reason[:200], requested_by=actor, requested_at=timezone.now()),
                    exclude=("compound",))


def _decide(actor: Any, refund: Refund) -> Refund:
    require(actor, refund, "approve")
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundStatus.REQUESTED:
        raise field_error("status", _("该退款已处理"))
    return refund


@service
def approve_refund(*, actor: Any, refund: Refund) -> Refund:
    """Approve and book it; the approver must be someone other than the requester."""
    refund = _decide(actor, refund)
    if refund.requested_by_id == actor.pk:
        raise Forbidden(_("退款须由申请人以外的人审批"))
    from linli.places.models import House

    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    house = House.objects.select_for_update().get(pk=payment.house_id)
    if refund.amount_fen > _refundable(payment, exclude=refund):
        raise field_error("amount_fen", _("退款金额超过可退金额"))
    now = timezone.now()
    to_prepaid = payment.allocations.filter(bill__isnull=True).aggregate(s=Sum("amount_fen"))["s"] or 0
    from_prepaid = min(refund.amount_fen, max(0, min(to_prepaid, prepaid_balance(house))))
    left = refund.amount_fen - from_prepaid
    allocations = []
    if from_prepaid:
        allocations.append(Allocation(compound_id=payment.compound_id, house_id=house.pk, payment=payment,
                                      refund=refund, amount_fen=-from_prepaid, at=now))
    net_by_bill: dict[int, int] = {}
    for row in payment.allocations.filter(bill__isnull=False).order_by("-id").values("bill_id", "amount_fen"):
        net_by_bill[row["bill_id"]] = net_by_bill.get(row["bill_id"], 0) + row["amount_fen"]
    bills = {b.pk: b for b in _locked_bills([Bill(pk=pk) for pk in net_by_bill])}
    for bill_id, net in net_by_bill.items():  # most recently settled first
        take = min(left, net, bills[bill_id].paid_fen)
        if take <= 0:
            continue
        bill = bills[bill_id]
        paid = bill.paid_fen - take
        save_changes(bill, {"paid_fen": paid, "status": bill_status(paid, bill.amount_fen)})
        allocations.append(Allocation(compound_id=payment.compound_id, house_id=house.pk, payment=payment, bill=bill,
                                      refund=refund, amount_fen=-take, at=now))
        left -= take
    if left:
        raise field_error("amount_fen", _("退款金额超过可退金额"))
    bulk_create_audited(Allocation, allocations)
    c, h = payment.compound_id, house.pk
    ledger.post(compound_id=c, kind=EntryKind.REFUND, memo=_("退款 %(no)s") % {"no": payment.out_trade_no},
                lines=[ledger.line(c, AccountKind.PREPAID, from_prepaid, h),
                       ledger.line(c, AccountKind.RECEIVABLE, refund.amount_fen - from_prepaid, h),
                       ledger.line(c, MONEY_ACCOUNT[Provider(payment.provider)], -refund.amount_fen)],
                idempotency_key=f"refund:{refund.pk}", source=("billing.refund", refund.pk), at=now)
    return save_changes(refund, {"status": RefundStatus.APPROVED, "decided_by": actor, "decided_at": now})


@service
def reject_refund(*, actor: Any, refund: Refund) -> Refund:
    refund = _decide(actor, refund)
    return save_changes(refund, {"status": RefundStatus.REJECTED, "decided_by": actor,
                                 "decided_at": timezone.now()})


def close_unpaid(*, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Job (system write): close online payments created before `now - older_than` and never paid.

    Callers should close the order at the provider as well; a notice that still arrives for a
    closed payment is credited (the money is real)."""
    cutoff = (now or timezone.now()) - older_than
    closed = 0
    for pk in Payment.objects.filter(status=PaymentStatus.CREATED, created_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=pk)
            if payment.status == PaymentStatus.CREATED:
                save_changes(payment, {"status": PaymentStatus.CLOSED, "closed_at": timezone.now()})
                closed += 1
    return closed


@dataclass(frozen=True)
class StatementRow:
    """One line of a provider's daily statement (对账单)."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int


def reconcile(*, provider: str, day: dt.date, statement_rows: Sequence[StatementRow]) -> Reconciliation:
    """Job (system write): our payments paid on `day` (Asia/Shanghai) through `provider` against the
    provider's statement; stores and returns the differences (empty when everything matches)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    ours = {p.out_trade_no: p for p in Payment.objects.filter(
        provider=provider, status=PaymentStatus.PAID, paid_at__gte=start, paid_at__lt=start + dt.timedelta(days=1))}
    theirs = {row.out_trade_no: row for row in statement_rows}
    differences: dict[str, list[Any]] = {
        "missing_at_provider": sorted(set(ours) - set(theirs)),
        "missing_here": sorted(set(theirs) - set(ours)),
        "amount_mismatch": [], "transaction_mismatch": [],
    }
    for no in sorted(set(ours) & set(theirs)):
        mine, row = ours[no], theirs[no]
        if mine.amount_fen != row.amount_fen:
            differences["amount_mismatch"].append({"out_trade_no": no, "ours": mine.amount_fen,
                                                   "theirs": row.amount_fen})
        if mine.transaction_id != row.transaction_id:
            differences["transaction_mismatch"].append({"out_trade_no": no, "ours": mine.transaction_id,
                                                        "theirs": row.transaction_id})
    differences = {k: v for k, v in differences.items() if v}
    with transaction.atomic():
        return save_new(Reconciliation(provider=provider, day=day, at=timezone.now(), ours=len(ours),
                                       theirs=len(theirs), matched=not differences, differences=differences))
