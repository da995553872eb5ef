"""Billing writes: fee items, meter readings, bill runs, late fees and the public funds' movements.

Payments, prepaid balances and refunds are in `linli.billing.payments`. Every bill and late fee
posts to the ledger in the same transaction: Dr receivable (the house) / Cr the fee item's income
account (property income, public revenue or the maintenance fund).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing import ledger
from linli.billing.charges import Period, round_fen, split_exactly
from linli.billing.models import (
    DISCLOSED_KINDS,
    MONTHLY_KINDS,
    AccountKind,
    Bill,
    BillLine,
    BillRun,
    BillStatus,
    EntryKind,
    FeeItem,
    FeeKind,
    JournalEntry,
    LineKind,
    MeterReading,
)
from linli.core.errors import Conflict
from linli.core.services import (
    bulk_create_audited,
    field_error,
    require,
    require_in_compound,
    save_changes,
    save_new,
    service,
)

FEE_ITEM_FIELDS = ("name", "kind", "unit_price_fen", "amount_fen", "meter_kind", "income_account", "due_days",
                   "late_fee_bp_per_day", "late_fee_cap_bp", "reminder_every_days", "active")
# A tariff's kind and money flow are fixed once bills exist; a new fee item is the way to change them.
FEE_ITEM_CHANGEABLE = ("name", "unit_price_fen", "amount_fen", "due_days", "late_fee_bp_per_day",
                       "late_fee_cap_bp", "reminder_every_days", "active")


@service
def create_fee_item(*, actor: Any, compound: Any, name: str, kind: str, unit_price_fen: int | None = None,
                    amount_fen: int | None = None, meter_kind: str = "",
                    income_account: str = AccountKind.PROPERTY_INCOME, due_days: int = 15,
                    late_fee_bp_per_day: int = 0, late_fee_cap_bp: int = 10000, reminder_every_days: int = 7,
                    active: bool = True) -> FeeItem:
    require_in_compound(actor, FeeItem, "add", compound.pk)
    return save_new(FeeItem(compound=compound, name=name, kind=kind, unit_price_fen=unit_price_fen,
                            amount_fen=amount_fen, meter_kind=meter_kind, income_account=income_account,
                            due_days=due_days, late_fee_bp_per_day=late_fee_bp_per_day,
                            late_fee_cap_bp=late_fee_cap_bp, reminder_every_days=reminder_every_days,
                            active=active))


@service
def change_fee_item(*, actor: Any, fee_item: FeeItem, changes: dict[str, Any]) -> FeeItem:
    require(actor, fee_item, "change")
    for name in changes:
        if name not in FEE_ITEM_CHANGEABLE:
            raise field_error(name, _("该字段不能修改"))
    return save_changes(fee_item, changes)


@service
def record_meter_reading(*, actor: Any, house: Any, meter_kind: str, read_on: dt.date,
                         value: Decimal | str) -> MeterReading:
    require(actor, house, "view")
    require_in_compound(actor, MeterReading, "add", house.compound_id)
    return save_new(MeterReading(compound_id=house.compound_id, house=house, meter_kind=meter_kind,
                                 read_on=read_on, value=Decimal(str(value))), exclude=("compound",))


@dataclass
class RunResult:
    """What a bill run did: `created` is False when this fee item and period were billed before."""

    run: BillRun
    created: bool
    bills: list[Bill] = field(default_factory=list)

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return self.run.skipped


@dataclass(frozen=True)
class Charge:
    house_id: int
    amount_fen: int
    description: str
    quantity: Decimal | None = None
    unit_price_fen: int | None = None


@service
def run_bills(*, actor: Any, compound: Any, fee_item: FeeItem, period: str | tuple[dt.date, dt.date] | Period,
              houses: Sequence[Any] | None = None) -> RunResult:
    """Bill every house of the compound (or `houses`: parking passes its renters) once for the period.

    Running the same fee item and period again creates nothing and returns the earlier run.
    Houses that cannot be billed (no area for an area-based fee, no meter readings) are listed
    in the run's `skipped`, never billed 0.
    """
    require_in_compound(actor, BillRun, "add", compound.pk)
    if fee_item.compound_id != compound.pk:
        raise field_error("fee_item", _("收费项目不属于该小区"))
    if not fee_item.active:
        raise field_error("fee_item", _("收费项目已停用"))
    if fee_item.kind == FeeKind.ONE_OFF:
        raise field_error("fee_item", _("一次性收费项目不能批量开账"))
    period = Period.of(period)
    if fee_item.kind in MONTHLY_KINDS and period.whole_months() is None:
        raise field_error("period", _("按月收费的账期须为整月"))
    earlier = BillRun.objects.filter(fee_item=fee_item, period_start=period.start, period_end=period.end).first()
    if earlier is not None:
        return RunResult(earlier, created=False)
    now = timezone.now()
    run = BillRun(compound=compound, fee_item=fee_item, period_start=period.start, period_end=period.end, at=now,
                  by=actor)
    try:
        save_new(run, check_constraints=False)
    except Conflict:  # a concurrent run of the same fee item and period got there first
        return RunResult(BillRun.objects.get(fee_item=fee_item, period_start=period.start, period_end=period.end),
                         created=False)
    from linli.places.models import House

    targets = House.objects.filter(compound=compound).order_by("id")
    if houses is not None:
        targets = targets.filter(pk__in=[h.pk for h in houses])
    charges, skipped = _charges(fee_item, period, list(targets))
    bills = _issue(run, fee_item, period, charges, now)
    save_changes(run, {"billed": len(bills), "total_fen": sum(c.amount_fen for c in charges), "skipped": skipped})
    return RunResult(run, created=True, bills=bills)


def _charges(fee_item: FeeItem, period: Period, houses: list[Any]) -> tuple[list[Charge], list[dict[str, Any]]]:
    label = f"{fee_item.name} {period}"
    months = period.whole_months() or 0
    charges: list[Charge] = []
    skipped: list[dict[str, Any]] = []
    kind = fee_item.kind
    needs_area = kind in (FeeKind.PER_AREA_MONTHLY, FeeKind.SHARED_BY_AREA)
    billable = []
    for house in houses:
        if needs_area and not house.built_area:
            skipped.append({"house_id": house.pk, "reason": "no_area"})
        else:
            billable.append(house)
    if kind == FeeKind.PER_AREA_MONTHLY:
        price = fee_item.unit_price_fen or 0
        for house in billable:
            quantity = Decimal(house.built_area) * months
            charges.append(Charge(house.pk, round_fen(quantity * price), label, quantity, price))
    elif kind in (FeeKind.FIXED_MONTHLY, FeeKind.PARKING_RENT):
        for house in billable:
            charges.append(Charge(house.pk, (fee_item.amount_fen or 0) * months, label, Decimal(months),
                                  fee_item.amount_fen))
    elif kind in (FeeKind.SHARED_BY_AREA, FeeKind.SHARED_BY_HOUSEHOLD):
        weights = {h.pk: (Decimal(h.built_area) if kind == FeeKind.SHARED_BY_AREA else Decimal(1)) for h in billable}
        for house_id, amount in split_exactly(fee_item.amount_fen or 0, weights).items():
            charges.append(Charge(house_id, amount, label, weights[house_id]))
    elif kind == FeeKind.METERED:
        charges, more = _metered(fee_item, period, billable, label)
        skipped += more
    nothing_due = [c for c in charges if c.amount_fen <= 0]
    skipped += [{"house_id": c.house_id, "reason": "nothing_due"} for c in nothing_due]
    return [c for c in charges if c.amount_fen > 0], skipped


def _metered(fee_item: FeeItem, period: Period, houses: list[Any],
             label: str) -> tuple[list[Charge], list[dict[str, Any]]]:
    """Consumption = the last reading within the period − the last reading before it."""
    readings: dict[int, list[MeterReading]] = {}
    for r in MeterReading.objects.filter(house__in=[h.pk for h in houses], meter_kind=fee_item.meter_kind,
                                         read_on__lte=period.end).order_by("read_on"):
        readings.setdefault(r.house_id, []).append(r)
    charges, skipped = [], []
    price = fee_item.unit_price_fen or 0
    for house in houses:
        rows = readings.get(house.pk, [])
        before = [r for r in rows if r.read_on < period.start]
        within = [r for r in rows if r.read_on >= period.start]
        if not before or not within:
            skipped.append({"house_id": house.pk, "reason": "no_reading"})
            continue
        used = within[-1].value - before[-1].value
        if used < 0:
            skipped.append({"house_id": house.pk, "reason": "meter_went_back"})
            continue
        charges.append(Charge(house.pk, round_fen(used * price), label, used, price))
    return charges, skipped


def _issue(run: BillRun, fee_item: FeeItem, period: Period, charges: list[Charge], now: dt.datetime) -> list[Bill]:
    due_on = period.start + dt.timedelta(days=fee_item.due_days)
    bills = bulk_create_audited(Bill, [
        Bill(compound_id=run.compound_id, house_id=c.house_id, fee_item=fee_item, run=run, period_start=period.start,
             period_end=period.end, due_on=due_on, charges_fen=c.amount_fen, issued_at=now) for c in charges
    ])
    bulk_create_audited(BillLine, [
        BillLine(compound_id=run.compound_id, bill=bill, kind=LineKind.CHARGE, description=c.description[:120],
                 quantity=c.quantity, unit_price_fen=c.unit_price_fen, amount_fen=c.amount_fen)
        for bill, c in zip(bills, charges, strict=True)
    ])
    receivable = ledger.account(run.compound_id, AccountKind.RECEIVABLE)
    income = ledger.account(run.compound_id, fee_item.income_account)
    for bill in bills:
        ledger.post(compound_id=run.compound_id, kind=EntryKind.BILL, memo=_("开账 %(item)s") % {"item": fee_item.name},
                    lines=[ledger.Line(receivable, bill.charges_fen, bill.house_id),
                           ledger.Line(income, -bill.charges_fen)],
                    idempotency_key=f"bill:{bill.pk}", source=("billing.bill", bill.pk), at=now)
    return bills


def bill_status(paid_fen: int, amount_fen: int) -> str:
    if paid_fen >= amount_fen:
        return BillStatus.PAID
    return BillStatus.PARTIALLY_PAID if paid_fen > 0 else BillStatus.OPEN


def assess_late_fees(now: dt.datetime | None = None) -> int:
    """Job (system write): one late-fee line per overdue bill per day, capped; returns how many.

    Charged on the unpaid part of the charges (payments settle charges before late fees), never
    on earlier late fees. Running it twice on the same day adds nothing: a late-fee line is unique
    per bill and day, and the journal key is too.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    candidates = list(Bill.objects.filter(status__in=(BillStatus.OPEN, BillStatus.PARTIALLY_PAID), due_on__lt=today,
                                          fee_item__late_fee_bp_per_day__gt=0).values_list("pk", flat=True))
    assessed = 0
    for pk in candidates:
        with transaction.atomic():
            if _assess_one(pk, today, now):
                assessed += 1
    return assessed


def _assess_one(bill_pk: int, today: dt.date, now: dt.datetime) -> bool:
    bill = Bill.objects.select_for_update().select_related("fee_item").get(pk=bill_pk)
    fee_item = bill.fee_item
    if bill.status == BillStatus.PAID or bill.lines.filter(kind=LineKind.LATE_FEE, on_day=today).exists():
        return False
    unpaid_charges = max(0, bill.charges_fen - bill.paid_fen)
    cap = round_fen(Decimal(bill.charges_fen) * fee_item.late_fee_cap_bp / 10000)
    amount = min(round_fen(Decimal(unpaid_charges) * fee_item.late_fee_bp_per_day / 10000), cap - bill.late_fees_fen)
    if amount <= 0:
        return False
    save_new(BillLine(compound_id=bill.compound_id, bill=bill, kind=LineKind.LATE_FEE, on_day=today,
                      description=_("滞纳金 %(day)s") % {"day": today.isoformat()}, quantity=Decimal(unpaid_charges),
                      amount_fen=amount), exclude=("compound",))
    late_fees = bill.late_fees_fen + amount
    save_changes(bill, {"late_fees_fen": late_fees,
                        "status": bill_status(bill.paid_fen, bill.charges_fen + late_fees)})
    ledger.post(compound_id=bill.compound_id, kind=EntryKind.LATE_FEE, memo=_("滞纳金"),
                lines=[ledger.line(bill.compound_id, AccountKind.RECEIVABLE, amount, bill.house_id),
                       ledger.line(bill.compound_id, fee_item.income_account, -amount)],
                idempotency_key=f"late_fee:{bill.pk}:{today.isoformat()}", source=("billing.bill", bill.pk), at=now)
    return True


@service
def record_fund_movement(*, actor: Any, compound: Any, fund: str, amount_fen: int, spending: bool, memo: str,
                         at: dt.datetime | None = None) -> JournalEntry:
    """Income to or spending from the public revenue or the maintenance fund, through the bank account
    (advertising income, a lift repair paid from the maintenance fund)."""
    require_in_compound(actor, JournalEntry, "add", compound.pk)
    if fund not in DISCLOSED_KINDS:
        raise field_error("fund", _("只能记入公共收益或专项维修资金"))
    if amount_fen <= 0:
        raise field_error("amount_fen", _("金额必须大于零"))
    if not memo.strip():
        raise field_error("memo", _("请填写摘要"))
    if spending and amount_fen > ledger.balance(compound.pk, fund):
        raise field_error("amount_fen", _("支出超过该账户余额"))
    sign = 1 if spending else -1
    return ledger.post(compound_id=compound.pk, kind=EntryKind.FUND_MOVEMENT, memo=memo,
                       lines=[ledger.line(compound.pk, fund, sign * amount_fen),
                              ledger.line(compound.pk, AccountKind.BANK, -sign * amount_fen)],
                       idempotency_key=f"fund:{uuid.uuid4().hex}", at=at)


ONE_OFF_FEE_NAME = "有偿服务"  # the compound's fee item for one-off charges, created on first use


def _one_off_fee_item(compound_id: int) -> FeeItem:
    found = FeeItem.objects.filter(compound_id=compound_id, kind=FeeKind.ONE_OFF).order_by("pk").first()
    if found is not None:
        return found
    try:
        return save_new(FeeItem(compound_id=compound_id, name=ONE_OFF_FEE_NAME, kind=FeeKind.ONE_OFF, amount_fen=0,
                                income_account=AccountKind.PROPERTY_INCOME), exclude=("compound",),
                        check_constraints=False)
    except Conflict:  # created concurrently
        return FeeItem.objects.get(compound_id=compound_id, name=ONE_OFF_FEE_NAME)


def charge_once(*, compound_id: int, house: Any, description: str, amount_fen: int, source: str,
                due_on: dt.date | None = None) -> Bill:
    """System write: a one-off charge to a house (a paid repair), billed once per `source`
    (e.g. "workorder:123"): a bill with one line, posted Dr receivable (the house) / Cr property
    income like a bill run. Calling it again for the same source returns the first bill."""
    source = (source or "").strip()
    if not source or len(source) > 80:
        raise field_error("source", _("来源标识无效"))
    if amount_fen is None or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise field_error("amount_fen", _("金额必须大于零"))
    if house is None or house.compound_id != compound_id:
        raise field_error("house", _("房屋不属于该小区"))
    description = (description or "").strip()[:120]
    if not description:
        raise field_error("description", _("请填写收费说明"))
    earlier = Bill.objects.filter(source=source).first()
    if earlier is not None:
        return earlier
    now = timezone.now()
    today = timezone.localtime(now).date()
    with transaction.atomic():
        fee_item = _one_off_fee_item(compound_id)
        try:
            bill = save_new(Bill(compound_id=compound_id, house_id=house.pk, fee_item=fee_item, period_start=today,
                                 period_end=today, due_on=due_on or today + dt.timedelta(days=fee_item.due_days),
                                 charges_fen=amount_fen, issued_at=now, source=source),
                            exclude=("compound", "house", "fee_item"), check_constraints=False)
        except Conflict:  # the same source charged concurrently: that bill stands
            return Bill.objects.get(source=source)
        save_new(BillLine(compound_id=compound_id, bill=bill, kind=LineKind.CHARGE, description=description,
                          quantity=Decimal(1), unit_price_fen=amount_fen, amount_fen=amount_fen),
                 exclude=("compound", "bill"))
        ledger.post(compound_id=compound_id, kind=EntryKind.BILL, memo=_("收费 %(what)s") % {"what": description},
                    lines=[ledger.line(compound_id, AccountKind.RECEIVABLE, amount_fen, house.pk),
                           ledger.line(compound_id, fee_item.income_account, -amount_fen)],
                    idempotency_key=f"bill:{bill.pk}", source=("billing.bill", bill.pk), at=now)
    return bill
