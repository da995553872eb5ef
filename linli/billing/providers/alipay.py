"""Alipay Open Platform (支付宝开放平台, public-key mode, RSA2): mobile-web (wap) and desktop (page)
orders, asynchronous notifications, trade query, refund and close.

Requests are the sorted `k=v&…` string of all non-empty parameters but `sign`, signed
SHA256withRSA with the app private key. Notifications are verified with Alipay's public key over
every parameter they carry but `sign` and `sign_type`, empty ones included (as Alipay's SDKs
build it); synchronous answers over the exact JSON text of their `<method>_response` node.
Alipay speaks yuan strings ("12.34"); Linli speaks integer fen: `yuan_to_fen` / `fen_to_yuan`
convert exactly at this edge. `total_amount` is the order total; `buyer_pay_amount` what the
payer paid after red packets and coupons (`fund_bill_list`); `receipt_amount` what Alipay
settles to us.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import urllib.parse
import urllib.request
from typing import Any
from zoneinfo import ZoneInfo

from linli.billing.money import fen_from_yuan, yuan
from linli.billing.providers.base import (
    NotificationAnswer,
    NotificationRejected,
    PaymentNotice,
    PaymentOrder,
    PaymentStatus,
    ProviderError,
)
from linli.billing.providers.http import (
    HttpAnswer,
    exchange,
    load_private_key,
    load_public_key,
    overload_reason,
    sign_sha256,
    verify_sha256,
)

log = logging.getLogger("linli.billing")

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Alipay's times are Beijing time without an offset

ORDER_METHODS = {
    "wap": ("alipay.trade.wap.pay", "QUICK_WAP_WAY"),
    "page": ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
}

TRADE_STATUSES = {
    "TRADE_SUCCESS": PaymentStatus.SUCCESS,
    "TRADE_FINISHED": PaymentStatus.SUCCESS,  # paid, and the refund period is over
    "WAIT_BUYER_PAY": PaymentStatus.NOT_PAID,
    "TRADE_CLOSED": PaymentStatus.CLOSED,
}

SUCCESS_CODE = "10000"
# "Service unavailable" and the business gateway's own trouble: Alipay asks to retry these.
RETRY_CODES = ("20000",)
RETRY_SUB_CODES = ("ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "isp.unknow-error")
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"

# Notification rejection reasons (NotificationRejected.reason).
MISSING_SIGNATURE = "missing_signature"
UNSUPPORTED_SIGN_TYPE = "unsupported_sign_type"
BAD_SIGNATURE = "bad_signature"
MALFORMED_BODY = "malformed_body"
WRONG_APP = "wrong_app"
WRONG_MERCHANT = "wrong_merchant"
UNKNOWN_TRADE_STATE = "unknown_trade_state"
BAD_AMOUNT = "bad_amount"

def fen_to_yuan(fen: int) -> str:
    """12345 → "123.45", exactly (integer arithmetic, never float)."""
    if not isinstance(fen, int) or isinstance(fen, bool) or fen < 0:
        raise ValueError("amount in fen must be a non-negative integer")
    return yuan(fen)


yuan_to_fen = fen_from_yuan  # Alipay's amounts are yuan strings; refused, never rounded


def signing_string(params: dict[str, str], exclude: tuple[str, ...] = ("sign",), *, keep_empty: bool = False) -> str:
    """The sorted `k=v&…` string of the parameters, values as they are (not encoded): the
    non-empty ones for what we sign, all of them (`keep_empty`) for what Alipay signed."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items())
                    if k not in exclude and (keep_empty or v not in ("", None)))


class AlipayProvider:
    """Alipay for one app (app_id) collecting for one seller (the 2088… partner id)."""

    name = "alipay"

    def __init__(self, app_id: str, seller_id: str, app_private_key_pem: str, alipay_public_key_pem: str,
                 gateway: str = "https://openapi.alipay.com/gateway.do", *, return_url: str = "",
                 timeout_s: float = 10.0, tries: int = 3, backoff_s: float = 0.5):
        self.app_id = app_id
        self.seller_id = seller_id
        self.gateway = gateway
        self.return_url = return_url
        self.timeout_s = timeout_s
        self.tries = tries
        self.backoff_s = backoff_s
        self._app_key = load_private_key(app_private_key_pem)
        self._alipay_key = load_public_key(alipay_public_key_pem)

    def __repr__(self) -> str:  # never the keys
        return f"AlipayProvider(app_id={self.app_id!r}, seller_id={self.seller_id!r})"

    # ---- orders ---------------------------------------------------------------------------

    def create_order(self, order: PaymentOrder, *, return_url: str = "") -> dict[str, Any]:
        """A wap/page order is placed by the payer's browser: we return the signed gateway URL
        (`pay_url`) it is sent to; Alipay shows its cashier page there and afterwards sends the
        browser to `return_url` (default: the provider's own)."""
        if order.scene not in ORDER_METHODS:
            raise ProviderError(f"alipay:unsupported_scene:{order.scene}", retry=False)
        if order.amount_fen <= 0:
            raise ProviderError("alipay:amount_not_positive", retry=False)
        method, product_code = ORDER_METHODS[order.scene]
        biz: dict[str, Any] = {
            "out_trade_no": order.out_trade_no,
            "total_amount": fen_to_yuan(order.amount_fen),
            "subject": order.description,
            "product_code": product_code,
        }
        if order.expires_at is not None:
            biz["time_expire"] = order.expires_at.astimezone(SHANGHAI).strftime(TIME_FORMAT)
        params = self._signed_params(method, biz, notify_url=order.notify_url, return_url=return_url)
        return {"pay_url": f"{self.gateway}?{urllib.parse.urlencode(params)}"}

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        node = self._call("alipay.trade.query", {"out_trade_no": out_trade_no}, tolerate=(TRADE_NOT_EXIST,))
        if node.get("code") != SUCCESS_CODE:
            return None  # Alipay knows no trade until the payer has opened the cashier page
        try:
            return self._notice({**node, "seller_id": node.get("seller_id") or self.seller_id},
                                paid_at_field="send_pay_date")
        except NotificationRejected as exc:
            raise ProviderError(f"alipay:{exc.reason}", retry=False) from None

    def close_order(self, out_trade_no: str) -> None:
        """Close an unpaid trade; a trade Alipay never saw (cashier not opened) has nothing to close."""
        self._call("alipay.trade.close", {"out_trade_no": out_trade_no}, tolerate=(TRADE_NOT_EXIST,))

    def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, reason: str = "",
               ) -> dict[str, Any]:
        """Refund part or all of a paid trade; the same `out_refund_no` is the same refund.
        Returns {provider, out_refund_no, refund_id, status, amount_fen}; "processing" means Alipay
        moved no money in this call (e.g. a repeat), to be confirmed by a refund query."""
        if refund_fen <= 0:
            raise ProviderError("alipay:bad_refund_amount", retry=False)
        biz = {"out_trade_no": out_trade_no, "refund_amount": fen_to_yuan(refund_fen),
               "out_request_no": out_refund_no}
        if reason:
            biz["refund_reason"] = reason
        node = self._call("alipay.trade.refund", biz)
        return {
            "provider": self.name,
            "out_refund_no": out_refund_no,
            "refund_id": str(node.get("trade_no", "")),
            "status": "success" if node.get("fund_change") == "Y" else "processing",
            "amount_fen": refund_fen,
        }

    # ---- notifications --------------------------------------------------------------------

    def parse_notification(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        """Verify a form-encoded asynchronous notification and check it is for our app and seller."""
        params = _form(body)
        if not params.get("sign"):
            raise NotificationRejected(MISSING_SIGNATURE, unverified=True)
        if params.get("sign_type", "RSA2") != "RSA2":
            raise NotificationRejected(UNSUPPORTED_SIGN_TYPE, params["sign_type"][:16], unverified=True)
        message = signing_string(params, exclude=("sign", "sign_type"), keep_empty=True).encode()
        if not verify_sha256(self._alipay_key, message, params["sign"]):
            raise NotificationRejected(BAD_SIGNATURE, unverified=True)
        if params.get("app_id") != self.app_id:
            raise NotificationRejected(WRONG_APP, params.get("app_id", "")[:32])
        return self._notice({k: v for k, v in params.items() if k != "sign"}, paid_at_field="gmt_payment")

    def notification_answer(self, outcome: int) -> tuple[int, dict[str, str], bytes]:
        """Alipay stops resending only on the plain body `success`; it reads the body, not the status."""
        accepted = outcome == NotificationAnswer.ACCEPTED
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"success" if accepted else b"failure"

    # ---- internals ------------------------------------------------------------------------

    def _notice(self, fields: dict[str, Any], *, paid_at_field: str) -> PaymentNotice:
        if fields.get("seller_id") != self.seller_id:
            raise NotificationRejected(WRONG_MERCHANT, str(fields.get("seller_id", ""))[:32])
        status = TRADE_STATUSES.get(str(fields.get("trade_status", "")))
        if status is None:
            raise NotificationRejected(UNKNOWN_TRADE_STATE, str(fields.get("trade_status", ""))[:32])
        try:
            total = yuan_to_fen(str(fields["total_amount"]))
            payer = yuan_to_fen(str(fields["buyer_pay_amount"])) if fields.get("buyer_pay_amount") else None
            received = yuan_to_fen(str(fields["receipt_amount"])) if fields.get("receipt_amount") else total
            refunded = yuan_to_fen(str(fields["refund_fee"])) if fields.get("refund_fee") else 0
        except (KeyError, ValueError):
            raise NotificationRejected(BAD_AMOUNT) from None
        if (payer is not None and payer > total) or received > total:
            raise NotificationRejected(BAD_AMOUNT, "above the total")
        if refunded > 0 and status in (PaymentStatus.SUCCESS, PaymentStatus.CLOSED):
            # A partial refund keeps TRADE_SUCCESS, a full one closes the trade; both were paid.
            status = PaymentStatus.REFUNDED
        if not fields.get("out_trade_no"):
            raise NotificationRejected(MALFORMED_BODY, "no out_trade_no")
        return PaymentNotice(
            provider=self.name,
            out_trade_no=str(fields["out_trade_no"]),
            transaction_id=str(fields.get("trade_no", "")),
            status=status,
            amount_fen=total,
            merchant_id=str(fields["seller_id"]),
            paid_at=_parse_time(fields.get(paid_at_field)),
            raw=dict(fields),
            payer_fen=payer,
            merchant_discount_fen=total - received,
            funding=_fund_bills(fields.get("fund_bill_list")),
        )

    def _signed_params(self, method: str, biz: dict[str, Any], *, notify_url: str = "",
                       return_url: str = "") -> dict[str, str]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": dt.datetime.now(SHANGHAI).strftime(TIME_FORMAT),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify_url:
            params["notify_url"] = notify_url
        if (return_url or self.return_url) and method in ("alipay.trade.wap.pay", "alipay.trade.page.pay"):
            params["return_url"] = return_url or self.return_url
        params["sign"] = sign_sha256(self._app_key, signing_string(params).encode())
        return params

    def _call(self, method: str, biz: dict[str, Any], *, tolerate: tuple[str, ...] = ()) -> dict[str, Any]:
        """One synchronous gateway call; returns the `<method>_response` node once its signature
        is verified. Business refusals raise ProviderError unless their sub_code is tolerated."""
        node_name = method.replace(".", "_") + "_response"

        def build() -> urllib.request.Request:
            data = urllib.parse.urlencode(self._signed_params(method, biz)).encode()
            return urllib.request.Request(self.gateway, data=data, method="POST",  # noqa: S310
                                          headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
                                                   "Accept": "application/json", "User-Agent": "linli"})

        answer = exchange(build, provider=self.name, tries=self.tries, backoff_s=self.backoff_s,
                          timeout_s=self.timeout_s, retry_reason=_retry_reason)
        if answer.status != 200:
            raise ProviderError(f"alipay:{answer.status}", retry=False)
        try:
            text = answer.body.decode("utf-8")
            document = json.loads(text)
        except ValueError:
            raise ProviderError("alipay:malformed_answer", retry=False) from None
        found = _response_node(text, node_name) if isinstance(document, dict) else None
        if found is None:
            error = document.get("error_response") if isinstance(document, dict) else None
            error = error if isinstance(error, dict) else {}
            # Gateway-level refusals (bad app id, bad signature) are not always signed: never acted on.
            raise ProviderError(f"alipay:{error.get('code', 'no_code')}:{error.get('sub_code', '')}", retry=False)
        node, raw = found
        if not verify_sha256(self._alipay_key, raw.encode(), str(document.get("sign", ""))):
            log.warning("alipay %s: answer failed Alipay signature verification", method)
            raise ProviderError("alipay:bad_response_signature", retry=False)
        code = str(node.get("code", ""))
        if code != SUCCESS_CODE and node.get("sub_code") not in tolerate:
            raise ProviderError(f"alipay:{code or 'no_code'}:{node.get('sub_code', '')}", retry=False)
        return node


def _retry_reason(provider: str, answer: HttpAnswer) -> str | None:
    reason = overload_reason(provider, answer)
    if reason is not None or answer.status != 200:
        return reason
    for key, node in answer.json().items():
        worth_retrying = isinstance(node, dict) and (
            str(node.get("code")) in RETRY_CODES or node.get("sub_code") in RETRY_SUB_CODES)
        if key.endswith("_response") and worth_retrying:
            return f"{provider}:{node.get('code')}:{node.get('sub_code', '')}"
    return None


def _response_node(text: str, node_name: str) -> tuple[dict[str, Any], str] | None:
    """The node's value and its exact JSON text as Alipay sent it: the signature covers those
    bytes, so re-serialising the parsed value would not verify."""
    marker = re.compile(rf'"{re.escape(node_name)}"\s*:\s*')
    match = marker.search(text)
    if match is None:
        return None
    try:
        value, end = json.JSONDecoder().raw_decode(text, match.end())
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return value, text[match.end():end]


def _form(body: bytes) -> dict[str, str]:
    """Decode a notification body in the charset it declares (utf-8 unless it says otherwise)."""
    declared = re.search(rb"(?:^|&)charset=([A-Za-z0-9_-]{1,20})", body)
    charset = declared.group(1).decode() if declared else "utf-8"
    try:
        pairs = urllib.parse.parse_qsl(body.decode(charset), keep_blank_values=True, strict_parsing=True,
                                       encoding=charset, errors="strict")
    except (LookupError, ValueError):
        raise NotificationRejected(MALFORMED_BODY) from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise NotificationRejected(MALFORMED_BODY, "repeated parameter")
    return params


def _fund_bills(value: Any) -> tuple[dict[str, Any], ...]:
    """How the trade was paid, for the record: notifications carry `fund_bill_list` as a JSON string
    of {fundChannel, amount}, trade queries as an array of {fund_channel, amount}. Lines that do not
    read are left out; no amount that decides anything comes from here."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    lines = []
    for bill in value if isinstance(value, list) else []:
        if not isinstance(bill, dict):
            continue
        try:
            fen = yuan_to_fen(str(bill.get("amount", "")))
        except ValueError:
            continue
        channel = bill.get("fundChannel") or bill.get("fund_channel") or ""
        lines.append({"kind": str(channel)[:32], "amount_fen": fen, "ref": ""})
    return tuple(lines)


def _parse_time(value: Any) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
