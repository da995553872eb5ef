"""The interface every online payment provider implements, and what it hands back.

Billing (services) speaks only this: it creates an order for a payment it has recorded, turns
a provider's notification into a verified `PaymentNotice` (or a `NotificationRejected` naming
why), and asks the provider for an order's state when a notification never came. Amounts are
integer fen everywhere; a provider converts at its edge (Alipay speaks yuan strings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol


class PaymentStatus:
    SUCCESS = "success"  # paid: credit it
    NOT_PAID = "not_paid"  # created, not (yet) paid
    CLOSED = "closed"  # closed or revoked before payment
    REFUNDED = "refunded"  # paid, then (partly) refunded at the provider


@dataclass(frozen=True)
class PaymentOrder:
    """What we ask a provider to collect. `out_trade_no` is ours and unique; the provider keeps it."""

    out_trade_no: str
    amount_fen: int
    description: str  # no personal data: it shows on the payer's statement and in provider logs
    notify_url: str
    payer_openid: str = ""  # WeChat JSAPI / mini-program: the payer's openid for our app id
    expires_at: dt.datetime | None = None
    scene: str = "jsapi"  # jsapi | h5 | native (WeChat); wap | page (Alipay)


@dataclass(frozen=True)
class PaymentNotice:
    """A provider's word on one order, verified (signature, our merchant and app ids) and decoded."""

    provider: str  # "wechatpay" | "alipay"
    out_trade_no: str
    transaction_id: str  # the provider's own id for the payment
    status: str  # PaymentStatus
    amount_fen: int  # what the payer paid, as the provider reports it
    merchant_id: str  # WeChat mchid / Alipay seller or app id, as reported: checked against ours
    paid_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the decoded resource, for the record (no secrets)


class NotificationRejected(Exception):
    """The notification is not to be believed: bad or missing signature, stale timestamp, wrong
    merchant, undecryptable resource. `reason` is a short code safe to store and log."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class ProviderError(Exception):
    """The provider could not be reached or refused a request; `retry` says whether trying again may help."""

    def __init__(self, reason: str, *, retry: bool):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class PaymentProvider(Protocol):
    name: str

    def create_order(self, order: PaymentOrder) -> dict[str, Any]:
        """Place the order; returns what the payer's client needs to pay (JSAPI parameters
        signed for the mini-program / H5 page, a code URL for native…)."""
        ...

    def parse_notification(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        """Verify and decode one notification exactly as received; raises NotificationRejected."""
        ...

    def notification_answer(self, accepted: bool) -> tuple[int, dict[str, str], bytes]:
        """The HTTP status, headers and body the provider expects back (so it stops resending
        when accepted)."""
        ...

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        """The order's state at the provider (for notifications that never came); None if unknown."""
        ...
