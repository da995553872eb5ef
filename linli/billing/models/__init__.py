"""Billing's tables: the ledger, fee items and bills, payments and refunds."""

from linli.billing.models.fees import (
    MONTHLY_KINDS,
    Bill,
    BillLine,
    BillRun,
    BillStatus,
    FeeItem,
    FeeKind,
    LineKind,
    MeterReading,
)
from linli.billing.models.ledger import (
    CREDIT_NORMAL,
    DISCLOSED_KINDS,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Posting,
)
from linli.billing.models.payments import (
    ONLINE_PROVIDERS,
    Allocation,
    Payment,
    PaymentBill,
    PaymentNotificationRejection,
    PaymentStatus,
    Provider,
    Reconciliation,
    Refund,
    RefundStatus,
)

__all__ = [
    "CREDIT_NORMAL", "DISCLOSED_KINDS", "MONTHLY_KINDS", "ONLINE_PROVIDERS", "AccountKind", "Allocation", "Bill",
    "BillLine", "BillRun", "BillStatus", "EntryKind", "FeeItem", "FeeKind", "JournalEntry", "LedgerAccount",
    "LineKind", "MeterReading", "Payment", "PaymentBill", "PaymentNotificationRejection", "PaymentStatus", "Posting", "Provider",
    "Reconciliation", "Refund", "RefundStatus",
]
