"""The double-entry ledger's tables: accounts per compound, append-only journal entries and postings."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel


class AccountKind(models.TextChoices):
    RECEIVABLE = "receivable", _("应收账款")
    PREPAID = "prepaid", _("预收款")
    PROPERTY_INCOME = "property_income", _("物业服务收入")
    PUBLIC_REVENUE = "public_revenue", _("公共收益")
    MAINTENANCE_FUND = "maintenance_fund", _("专项维修资金")
    CASH = "cash", _("库存现金")
    BANK = "bank", _("银行存款")
    CLEARING_WECHATPAY = "clearing_wechatpay", _("待清算-微信支付")
    CLEARING_ALIPAY = "clearing_alipay", _("待清算-支付宝")


# The accounts owners may read (公共收益公示, 维修资金公示).
DISCLOSED_KINDS = (AccountKind.PUBLIC_REVENUE, AccountKind.MAINTENANCE_FUND)
# Accounts whose balance is a credit (what we owe or earned); the rest are assets, a debit balance.
CREDIT_NORMAL = (AccountKind.PREPAID, AccountKind.PROPERTY_INCOME, AccountKind.PUBLIC_REVENUE,
                 AccountKind.MAINTENANCE_FUND)


class EntryKind(models.TextChoices):
    BILL = "bill", _("开账")
    LATE_FEE = "late_fee", _("滞纳金")
    PAYMENT = "payment", _("收款")
    PREPAID_APPLIED = "prepaid_applied", _("预收款抵扣")
    REFUND = "refund", _("退款")
    FUND_MOVEMENT = "fund_movement", _("公共收益/维修资金收支")
    REVERSAL = "reversal", _("冲正")


class AppendOnly(models.Model):
    """Rows that are never changed or deleted once written: a correction is a reversing entry."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("ledger rows are append-only; post a reversing entry instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ledger rows are append-only; post a reversing entry instead")


class LedgerAccount(ScopedModel):
    """Ledger account — 会计科目: one per compound and kind, created on first use."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=AccountKind.choices)

    class Meta:
        ordering = ["compound_id", "kind"]
        constraints = [models.UniqueConstraint(fields=["compound", "kind"], name="ledger_account_per_compound")]

    def __str__(self) -> str:
        return f"{self.compound_id}:{self.kind}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        # Owners read the disclosed accounts of their own compound, nothing else.
        return Q(compound__in=grant.compounds, kind__in=DISCLOSED_KINDS)


class JournalEntry(AppendOnly, ScopedModel):
    """Journal entry — 记账凭证: postings that sum to zero, written once under a unique key."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    memo = models.CharField(max_length=200)
    # What caused it, e.g. ("billing.bill", "42"): a reference, not a foreign key, so any app can post.
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=40, blank=True)
    # The same business fact can only ever be posted once (a replayed notice, a job run twice).
    idempotency_key = models.CharField(max_length=120, unique=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["compound", "at"]), models.Index(fields=["source_type", "source_id"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.idempotency_key}"


class Posting(AppendOnly, ScopedModel):
    """Posting — 分录: one line of an entry; debit positive, credit negative, integer fen."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    amount_fen = models.BigIntegerField()
    # The house's sub-ledger (receivable and prepaid are kept per house).
    house = models.ForeignKey("places.House", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["entry_id", "id"]
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="posting_not_zero")]
        indexes = [models.Index(fields=["account", "house"])]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.amount_fen}"
