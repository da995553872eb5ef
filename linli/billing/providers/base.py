"""The interface every online payment provider implements, and what it hands back.

Billing (services) speaks only this: it creates an order for a payment it has recorded, turns
a provider's notification into a verified `PaymentNotice` (or a `NotificationRejected` naming
why), and asks the provider for an order's state when a notification never came. Amounts are
integer fen everywhere; a provider converts at its edge (Alipay speaks yuan strings).

A payer may pay less than the order total when a coupon or red packet covers the rest: the order
total is what must match ours; what the payer paid and who funded the rest are recorded.
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
    """A provider's word on one order, verified (signature, our merchant and app ids) and decoded.

    `amount_fen` is the order total (WeChat Pay `amount.total`, Alipay `total_amount`): the one
    amount that must equal ours. The payer may have paid less (`payer_fen`) when a coupon or red
    packet covered the rest; `merchant_discount_fen` is the part of that discount the merchant
    funds itself, which the provider settles less (WeChat Pay NOCASH coupons; Alipay's
    `total_amount - receipt_amount`). `funding` lists the provider's discount or fund lines as
    `{"kind", "amount_fen", "ref"}` for the record.
    """

    provider: str  # "wechatpay" | "alipay"
    out_trade_no: str
    transaction_id: str  # the provider's own id for the payment
    status: str  # PaymentStatus
    amount_fen: int  # the order total, as the provider reports it
    merchant_id: str  # WeChat mchid / Alipay seller or app id, as reported: checked against ours
    paid_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the decoded resource, for the record (no secrets)
    payer_fen: int | None = None  # what the payer paid; None: not reported (taken as the whole total)
    merchant_discount_fen: int = 0
    funding: tuple[dict[str, Any], ...] = ()

    @property
    def discount_fen(self) -> int:
        return 0 if self.payer_fen is None else self.amount_fen - self.payer_fen


class NotificationRejected(Exception):
    """The notification is not to be believed: bad or missing signature, stale timestamp, wrong
    merchant, undecryptable resource. `reason` is a short code safe to store and log;
    `unverified` says it could not be shown to come from the provider at all (signature, key,
    timestamp, sealed resource) rather than being the provider's word on something not ours."""

    def __init__(self, reason: str, detail: str = "", *, unverified: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.unverified = unverified


class NotificationAnswer:
    """How we answer a notification, as the HTTP status a provider whose retry rule reads the
    status gets (WeChat Pay resends on any 4xx or 5xx; Alipay reads only the body)."""

    ACCEPTED = 204
    REFUSED = 400  # the provider's word, but not ours to act on: merchant, app, order, amount
    UNVERIFIED = 401  # not shown to be the provider's: signature, key, timestamp, sealed resource
    UNAVAILABLE = 503  # our own trouble (the database): nothing was written, send it again later


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

    def notification_answer(self, outcome: int) -> tuple[int, dict[str, str], bytes]:
        """The HTTP status, headers and body the provider expects back for a NotificationAnswer
        (so it stops resending when accepted, and sends again later otherwise)."""
        ...

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        """The order's state at the provider (for notifications that never came); None if unknown."""
        ...
