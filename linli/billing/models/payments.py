"""Payments, how they were allocated to bills, refunds and provider reconciliations."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from linli.billing.models.fees import Bill
from linli.core.scope import Grant, ScopedModel


class Provider(models.TextChoices):
    WECHATPAY = "wechatpay", _("微信支付")
    ALIPAY = "alipay", _("支付宝")
    CASH = "cash", _("现金")
    TRANSFER = "transfer", _("银行转账")


ONLINE_PROVIDERS = (Provider.WECHATPAY, Provider.ALIPAY)


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("待支付")
    PAID = "paid", _("已支付")
    CLOSED = "closed", _("已关闭")


class Payment(ScopedModel):
    """Payment — 缴费: money for one house's bills; anything above them becomes prepaid (预收款).

    `amount_fen` is the order total, which settles the bills. Online, the payer may have paid less
    (`payer_fen`) when a coupon or red packet (优惠) covered `discount_fen`; of that,
    `merchant_discount_fen` is funded by the merchant itself and so not settled by the provider.
    `funding` keeps the provider's coupon or fund lines ({"kind", "amount_fen", "ref"}).
    """

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="+")
    out_trade_no = models.CharField(max_length=32, unique=True)  # ours, sent to the provider
    provider = models.CharField(max_length=10, choices=Provider.choices)
    amount_fen = models.BigIntegerField()
    payer_fen = models.BigIntegerField(null=True, blank=True)  # online, once paid
    discount_fen = models.BigIntegerField(default=0)
    merchant_discount_fen = models.BigIntegerField(default=0)
    funding = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=PaymentStatus.choices, default=PaymentStatus.CREATED)
    transaction_id = models.CharField(max_length=64, blank=True)  # the provider's id for it
    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    note = models.CharField(max_length=200, blank=True)
    bills = models.ManyToManyField(Bill, through="PaymentBill", related_name="payments")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "transaction_id"], condition=~Q(transaction_id=""),
                                    name="provider_transaction_once"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(discount_fen__gte=0, discount_fen__lte=F("amount_fen"), merchant_discount_fen__gte=0,
                            merchant_discount_fen__lte=F("amount_fen"))
                & (Q(payer_fen__isnull=True) | Q(payer_fen=F("amount_fen") - F("discount_fen"))),
                name="payment_discount_within_total"),
        ]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["provider", "paid_at"])]

    def __str__(self) -> str:
        return self.out_trade_no

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class PaymentBill(ScopedModel):
    """The bills a payment was started for (it settles them in this order)."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="+")
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["payment_id", "position"]
        constraints = [models.UniqueConstraint(fields=["payment", "bill"], name="payment_bill_once")]

    def __str__(self) -> str:
        return f"{self.payment_id}->{self.bill_id}"


class Allocation(ScopedModel):
    """Allocation — 核销: money put on a bill (positive) or taken back by a refund (negative).

    `payment` is empty when the house's prepaid balance paid the bill; `bill` is empty for the
    part of a payment that went to the prepaid balance.
    """

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="allocations")
    bill = models.ForeignKey(Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    refund = models.ForeignKey("Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    amount_fen = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="allocation_not_zero")]

    def __str__(self) -> str:
        return f"{self.payment_id}->{self.bill_id}:{self.amount_fen}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")


class Refund(ScopedModel):
    """Refund — 退款: requested by one person, approved or rejected by another."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_fen = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.payment_id}:{self.amount_fen}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(payment__house__in=grant.houses)


class Reconciliation(models.Model):
    """Reconciliation — 对账: our paid payments of one day against the provider's statement.

    A merchant account serves every compound, so this is not scoped to one; staff reach it
    through the lead's API with a platform permission.
    """

    provider = models.CharField(max_length=10, choices=Provider.choices)
    day = models.DateField()
    at = models.DateTimeField()
    ours = models.PositiveIntegerField()  # paid payments we hold for the day
    theirs = models.PositiveIntegerField()  # rows on the statement
    matched = models.BooleanField()
    # {"missing_at_provider": [...], "missing_here": [...], "amount_mismatch": [...], ...}
    differences = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-day", "-id"]

    def __str__(self) -> str:
        return f"{self.provider}@{self.day}"


class PaymentNotificationRejection(models.Model):
    """A provider notification we did not act on — 支付通知拒收记录: why, and what came with it.

    Kept for the people who look into a payment that was never credited. Only the headers that
    carry no secret are stored (no signature, no body: the body names the payer's account).
    """

    provider = models.CharField(max_length=10, choices=Provider.choices)
    reason = models.CharField(max_length=40)  # NotificationRejected / PaymentRefused reason code
    detail = models.CharField(max_length=120, blank=True)
    out_trade_no = models.CharField(max_length=64, blank=True)  # when the notification was readable
    headers = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["provider", "at"])]

    def __str__(self) -> str:
        return f"{self.provider}:{self.reason}@{self.at}"
