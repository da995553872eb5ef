"""Fee items, meter readings, bill runs and bills: what a house owes and why."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.billing.models.ledger import AccountKind
from linli.core.scope import Grant, ScopedModel


class FeeKind(models.TextChoices):
    PER_AREA_MONTHLY = "per_area_monthly", _("按面积月收")
    FIXED_MONTHLY = "fixed_monthly", _("固定月费")
    METERED = "metered", _("按表计量")
    SHARED_BY_AREA = "shared_by_area", _("按面积公摊")
    SHARED_BY_HOUSEHOLD = "shared_by_household", _("按户公摊")
    PARKING_RENT = "parking_rent", _("车位租金")
    ONE_OFF = "one_off", _("一次性收费")


MONTHLY_KINDS = (FeeKind.PER_AREA_MONTHLY, FeeKind.FIXED_MONTHLY, FeeKind.PARKING_RENT)
INCOME_ACCOUNTS = (AccountKind.PROPERTY_INCOME, AccountKind.PUBLIC_REVENUE, AccountKind.MAINTENANCE_FUND)


class FeeItem(ScopedModel):
    """Fee item — 收费项目: a tariff a manager sets; prices are integer fen, rounding half up per line.

    per_area_monthly: `unit_price_fen` per m² of built area per month; metered: `unit_price_fen` per
    unit of `meter_kind` consumed; fixed_monthly and parking_rent: `amount_fen` per month;
    shared_by_area / shared_by_household: `amount_fen` is the cycle's total, split over houses.
    """

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=20, choices=FeeKind.choices)
    unit_price_fen = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)])
    amount_fen = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)])
    meter_kind = models.CharField(max_length=20, blank=True)  # water, electricity, gas…
    income_account = models.CharField(max_length=24, choices=[(k.value, k.label) for k in INCOME_ACCOUNTS],
                                      default=AccountKind.PROPERTY_INCOME)
    due_days = models.PositiveSmallIntegerField(default=15)  # after the cycle starts
    # Late fee per overdue day, in basis points of the outstanding charges; 0 = none. The cap is in
    # basis points of the bill's charges (10000 = never more than the charges themselves).
    late_fee_bp_per_day = models.PositiveIntegerField(default=0)
    late_fee_cap_bp = models.PositiveIntegerField(default=10000)
    # Overdue bills remind the household at most once per this many days; 0 = never.
    reminder_every_days = models.PositiveSmallIntegerField(default=7)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["compound_id", "name"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="fee_item_name_in_compound")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        needs_price = self.kind in (FeeKind.PER_AREA_MONTHLY, FeeKind.METERED)
        if needs_price and self.unit_price_fen is None:
            raise ValidationError({"unit_price_fen": _("该收费方式需要单价")})
        if not needs_price and self.amount_fen is None:
            raise ValidationError({"amount_fen": _("该收费方式需要金额")})
        if self.kind == FeeKind.METERED and not self.meter_kind:
            raise ValidationError({"meter_kind": _("按表计量需要表计类型")})


class MeterReading(ScopedModel):
    """Meter reading — 抄表读数: a house's meter of one kind, read on a day."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="+")
    meter_kind = models.CharField(max_length=20)
    read_on = models.DateField()
    value = models.DecimalField(max_digits=14, decimal_places=3, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["house_id", "meter_kind", "read_on"]
        constraints = [models.UniqueConstraint(fields=["house", "meter_kind", "read_on"],
                                               name="one_reading_per_meter_and_day")]

    def __str__(self) -> str:
        return f"{self.house_id}:{self.meter_kind}@{self.read_on}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class BillRun(ScopedModel):
    """Bill run — 批量开账: one fee item billed for one period, once."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    fee_item = models.ForeignKey(FeeItem, on_delete=models.PROTECT, related_name="runs")
    period_start = models.DateField()
    period_end = models.DateField()  # inclusive
    at = models.DateTimeField()
    by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    billed = models.PositiveIntegerField(default=0)
    total_fen = models.BigIntegerField(default=0)
    # Houses left out and why: [{"house_id": 1, "reason": "no_area"}].
    skipped = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [models.UniqueConstraint(fields=["fee_item", "period_start", "period_end"],
                                               name="one_run_per_fee_item_and_period")]

    def __str__(self) -> str:
        return f"{self.fee_item_id}:{self.period_start}..{self.period_end}"


class BillStatus(models.TextChoices):
    OPEN = "open", _("未缴")
    PARTIALLY_PAID = "partially_paid", _("部分缴纳")
    PAID = "paid", _("已缴清")


class Bill(ScopedModel):
    """Bill — 账单: what one house owes for one fee item and period, late fees included."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="+")
    fee_item = models.ForeignKey(FeeItem, on_delete=models.PROTECT, related_name="bills")
    # Empty for a one-off charge (a paid repair), which names its `source` instead.
    run = models.ForeignKey(BillRun, null=True, blank=True, on_delete=models.PROTECT, related_name="bills")
    period_start = models.DateField()
    period_end = models.DateField()
    due_on = models.DateField()
    charges_fen = models.BigIntegerField()  # the fee itself, without late fees
    late_fees_fen = models.BigIntegerField(default=0)
    paid_fen = models.BigIntegerField(default=0)  # net of refunds
    status = models.CharField(max_length=16, choices=BillStatus.choices, default=BillStatus.OPEN)
    issued_at = models.DateTimeField()
    # What a one-off charge is for, e.g. "workorder:123": charged once per source.
    source = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["house_id", "period_start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["fee_item", "house", "period_start", "period_end"],
                                    condition=Q(source=""), name="one_bill_per_house_fee_item_and_period"),
            models.UniqueConstraint(fields=["source"], condition=~Q(source=""), name="one_bill_per_source"),
            models.CheckConstraint(condition=Q(paid_fen__gte=0) & Q(paid_fen__lte=models.F("charges_fen")
                                                                    + models.F("late_fees_fen")),
                                   name="bill_paid_within_amount"),
        ]
        indexes = [models.Index(fields=["compound", "status", "due_on"]), models.Index(fields=["house", "status"])]

    def __str__(self) -> str:
        return f"{self.house_id}:{self.fee_item_id}:{self.period_start}"

    @property
    def amount_fen(self) -> int:
        return self.charges_fen + self.late_fees_fen

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.paid_fen

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class LineKind(models.TextChoices):
    CHARGE = "charge", _("费用")
    LATE_FEE = "late_fee", _("滞纳金")


class BillLine(ScopedModel):
    """Bill line — 账单明细: a charge with how it was computed, or one day's late fee."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=10, choices=LineKind.choices, default=LineKind.CHARGE)
    description = models.CharField(max_length=120)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)  # m², units, months
    unit_price_fen = models.BigIntegerField(null=True, blank=True)
    amount_fen = models.BigIntegerField(validators=[MinValueValidator(0)])
    on_day = models.DateField(null=True, blank=True)  # the day a late fee was assessed for

    class Meta:
        ordering = ["bill_id", "id"]
        constraints = [models.UniqueConstraint(fields=["bill", "on_day"], condition=Q(kind="late_fee"),
                                               name="one_late_fee_per_bill_and_day")]

    def __str__(self) -> str:
        return f"{self.bill_id}:{self.description}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(bill__house__in=grant.houses)
