"""Reads of billing for a user, always scoped: fee items, bills, payments, prepaid and the monthly
disclosure of the public funds owners may read.

Residents reach their own houses' bills and payments through the same `restrict` as staff
(`Bill.resident_q`, `Payment.resident_q`: the houses of their current residencies)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from linli.billing import ledger
from linli.billing.models import (
    DISCLOSED_KINDS,
    AccountKind,
    Bill,
    BillStatus,
    FeeItem,
    Payment,
    Posting,
    Refund,
)
from linli.core.errors import NotFound
from linli.core.selectors import get_visible
from linli.core.services import compounds_where


def fee_items(user: Any, *, compound_id: int | None = None, active_only: bool = False) -> QuerySet[FeeItem]:
    qs = FeeItem.objects.restrict(user)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if active_only:
        qs = qs.filter(active=True)
    return qs


def bills(user: Any, *, compound_id: int | None = None, house_id: int | None = None, unpaid_only: bool = False,
          status: str = "") -> QuerySet[Bill]:
    qs = Bill.objects.restrict(user).select_related("fee_item", "house")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if unpaid_only:
        qs = qs.exclude(status=BillStatus.PAID)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("house_id", "-period_start", "id")


def bill(user: Any, pk: int) -> Bill:
    return get_visible(Bill.objects.select_related("fee_item", "house").prefetch_related("lines"), user, pk)


def payments(user: Any, *, compound_id: int | None = None, house_id: int | None = None,
             status: str = "") -> QuerySet[Payment]:
    qs = Payment.objects.restrict(user)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def refunds(user: Any, *, compound_id: int | None = None, pending_only: bool = False) -> QuerySet[Refund]:
    qs = Refund.objects.restrict(user).select_related("payment")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if pending_only:
        qs = qs.filter(status="requested")
    return qs


def prepaid_balance(user: Any, house: Any) -> int:
    """The house's prepaid balance in fen, for someone who may see the house and its payments."""
    from linli.places.models import House

    if not House.objects.restrict(user).filter(pk=house.pk).exists() or not _may(user, "billing.view_payment",
                                                                              house.compound_id):
        raise NotFound("house")
    return ledger.balance(house.compound_id, AccountKind.PREPAID, house_id=house.pk)


def _may(user: Any, permission: str, compound_id: int) -> bool:
    from linli.places.models import Compound

    return Compound.objects.filter(compounds_where(user, permission), pk=compound_id).exists()


@dataclass(frozen=True)
class FundMonth:
    """One disclosed account's month (公示): all figures in fen, income and spending both positive."""

    kind: str
    opening_fen: int
    income_fen: int
    spending_fen: int
    closing_fen: int


def monthly_disclosure(user: Any, compound: Any, year: int, month: int) -> dict[str, FundMonth]:
    """Public revenue and the maintenance fund for one calendar month (Asia/Shanghai), for owners."""
    from linli.places.models import Compound

    if not Compound.objects.restrict(user).filter(pk=compound.pk).exists():
        raise NotFound("compound")
    if not _may(user, "billing.view_ledgeraccount", compound.pk):
        raise NotFound("ledgeraccount")
    tz = timezone.get_current_timezone()
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    result = {}
    for kind in DISCLOSED_KINDS:
        postings = Posting.objects.filter(account__compound_id=compound.pk, account__kind=kind)
        # Credit-normal funds: a credit (negative) is income, a debit (positive) is spending.
        before = postings.filter(entry__at__lt=start).aggregate(s=Sum("amount_fen"))["s"] or 0
        month_rows = postings.filter(entry__at__gte=start, entry__at__lt=end).aggregate(
            credit=Sum("amount_fen", filter=Q(amount_fen__lt=0)), debit=Sum("amount_fen", filter=Q(amount_fen__gt=0)))
        income, spending = -(month_rows["credit"] or 0), month_rows["debit"] or 0
        opening = -before
        result[str(kind)] = FundMonth(str(kind), opening, income, spending, opening + income - spending)
    return result
