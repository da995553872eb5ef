"""WeChat Pay API v3 (微信支付 APIv3, direct merchant mode): orders for JSAPI / mini-program, H5
and native (QR code), notifications, order query, close and refund.

Every request is signed with the merchant API key (`Authorization: WECHATPAY2-SHA256-RSA2048 …`);
every answer and notification is verified with the platform public key its `Wechatpay-Serial`
names; notification resources are AEAD_AES_256_GCM-encrypted with the APIv3 key. Amounts are fen:
`amount.total` is the order total, `amount.payer_total` what the payer paid after coupons
(`promotion_detail`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import time
import urllib.parse
import urllib.request
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from linli.billing.money import fen_from_yuan
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
    sign_sha256,
    verify_sha256,
)

log = logging.getLogger("linli.billing")

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
# WeChat Pay asks merchants to refuse notifications whose timestamp is further than this from now
# (a replayed notification with a valid signature is otherwise indistinguishable).
NOTIFICATION_MAX_SKEW_S = 300

ORDER_PATHS = {
    "jsapi": "/v3/pay/transactions/jsapi",
    "h5": "/v3/pay/transactions/h5",
    "native": "/v3/pay/transactions/native",
}

TRADE_STATES = {
    "SUCCESS": PaymentStatus.SUCCESS,
    "REFUND": PaymentStatus.REFUNDED,
    "NOTPAY": PaymentStatus.NOT_PAID,
    "USERPAYING": PaymentStatus.NOT_PAID,
    # Only payment-code (micropay) orders fail this way; nothing was taken, so not paid.
    "PAYERROR": PaymentStatus.NOT_PAID,
    "CLOSED": PaymentStatus.CLOSED,
    "REVOKED": PaymentStatus.CLOSED,
}

REFUND_STATES = {"SUCCESS": "success", "PROCESSING": "processing", "CLOSED": "closed", "ABNORMAL": "abnormal"}

# promotion_detail[].type: CASH (充值型代金券) is funded ahead by WeChat Pay or a third party, and
# WeChat Pay settles the order total; NOCASH (免充值型) is the merchant's own, settled less it.
MERCHANT_FUNDED_COUPONS = ("NOCASH",)

_HEX = re.compile(r"(?:0[xX])?[0-9A-Fa-f]+")

# Notification rejection reasons (NotificationRejected.reason): short, stable, safe to store.
MISSING_HEADERS = "missing_signature_headers"
UNKNOWN_SERIAL = "unknown_serial"
STALE_TIMESTAMP = "stale_timestamp"
BAD_SIGNATURE = "bad_signature"
MALFORMED_BODY = "malformed_body"
UNSUPPORTED_RESOURCE = "unsupported_resource"
UNDECRYPTABLE = "undecryptable_resource"
WRONG_MERCHANT = "wrong_merchant"
WRONG_APP = "wrong_app"
UNKNOWN_TRADE_STATE = "unknown_trade_state"
BAD_AMOUNT = "bad_amount"


class WechatPayProvider:
    """WeChat Pay API v3 for one merchant (mchid) and one app id (official account or mini-program).

    `platform_public_keys` maps a platform certificate serial (or a WeChat Pay public key id,
    `PUB_KEY_ID_…`) to its PEM; keeping the old and the new key during a rotation keeps both
    verifiable. `tries`/`backoff_s` bound the retries inside one call.
    """

    name = "wechatpay"

    def __init__(self, mchid: str, appid: str, merchant_serial_no: str, merchant_private_key_pem: str,
                 api_v3_key: str | bytes, platform_public_keys: dict[str, str],
                 base_url: str = "https://api.mch.weixin.qq.com", *, timeout_s: float = 10.0,
                 tries: int = 3, backoff_s: float = 0.5):
        key = api_v3_key.encode() if isinstance(api_v3_key, str) else api_v3_key
        if len(key) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")
        if not platform_public_keys:
            raise ValueError("at least one platform public key is needed to verify WeChat Pay")
        self.mchid = mchid
        self.appid = appid
        self.merchant_serial_no = merchant_serial_no
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.tries = tries
        self.backoff_s = backoff_s
        self._merchant_key = load_private_key(merchant_private_key_pem)
        self._aead = AESGCM(key)
        self._platform_keys = {serial_key(serial): load_public_key(pem) for serial, pem in platform_public_keys.items()}

    def __repr__(self) -> str:  # never the keys
        return f"WechatPayProvider(mchid={self.mchid!r}, appid={self.appid!r})"

    # ---- orders ---------------------------------------------------------------------------

    def create_order(self, order: PaymentOrder, *, payer_client_ip: str = "") -> dict[str, Any]:
        """Place a JSAPI, H5 or native order. JSAPI returns the signed parameters for
        `wx.requestPayment` / `WeixinJSBridge`; H5 returns `h5_url`; native returns `code_url`.
        H5 orders need the payer's IP (`payer_client_ip`), which WeChat Pay checks."""
        path = ORDER_PATHS.get(order.scene)
        if path is None:
            raise ProviderError(f"wechatpay:unsupported_scene:{order.scene}", retry=False)
        if order.amount_fen <= 0:
            raise ProviderError("wechatpay:amount_not_positive", retry=False)
        payload: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "description": order.description,
            "out_trade_no": order.out_trade_no,
            "notify_url": order.notify_url,
            "amount": {"total": order.amount_fen, "currency": "CNY"},
        }
        if order.expires_at is not None:
            payload["time_expire"] = order.expires_at.astimezone(SHANGHAI).isoformat(timespec="seconds")
        if order.scene == "jsapi":
            if not order.payer_openid:
                raise ProviderError("wechatpay:jsapi_needs_openid", retry=False)
            payload["payer"] = {"openid": order.payer_openid}
        elif order.scene == "h5":
            if not payer_client_ip:
                raise ProviderError("wechatpay:h5_needs_payer_client_ip", retry=False)
            payload["scene_info"] = {"payer_client_ip": payer_client_ip, "h5_info": {"type": "Wap"}}
        answer = self._call("POST", path, payload)
        if order.scene == "jsapi":
            return self.jsapi_parameters(_required(answer, "prepay_id"))
        if order.scene == "h5":
            return {"h5_url": _required(answer, "h5_url")}
        return {"code_url": _required(answer, "code_url")}

    def jsapi_parameters(self, prepay_id: str) -> dict[str, str]:
        """What the JSAPI / mini-program client passes to its payment call, signed with the merchant
        key over `appId\\ntimeStamp\\nnonceStr\\npackage\\n` (the client's WeChat verifies it)."""
        params = {
            "appId": self.appid,
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
        params["paySign"] = sign_sha256(self._merchant_key, message.encode())
        return params

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        """The order's state at WeChat Pay, verified; None when WeChat Pay does not know it."""
        path = f"/v3/pay/transactions/out-trade-no/{_quote(out_trade_no)}?mchid={_quote(self.mchid)}"
        try:
            transaction = self._call("GET", path, not_found_code="ORDER_NOT_EXIST")
        except _NotFound:
            return None
        try:
            return self._notice(transaction)
        except NotificationRejected as exc:
            raise ProviderError(f"wechatpay:{exc.reason}", retry=False) from None

    def close_order(self, out_trade_no: str) -> None:
        """Close an unpaid order so it can no longer be paid (WeChat Pay answers 204)."""
        self._call("POST", f"/v3/pay/transactions/out-trade-no/{_quote(out_trade_no)}/close",
                   {"mchid": self.mchid})

    def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
               reason: str = "", notify_url: str = "") -> dict[str, Any]:
        """Ask for a (partial) refund. Repeating the same `out_refund_no` is the same refund.
        Returns {provider, out_refund_no, refund_id, status (success|processing|closed|abnormal),
        amount_fen}; refunds usually answer "processing" and settle later."""
        if not 0 < refund_fen <= total_fen:
            raise ProviderError("wechatpay:bad_refund_amount", retry=False)
        payload: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        }
        if reason:
            payload["reason"] = reason
        if notify_url:
            payload["notify_url"] = notify_url
        answer = self._call("POST", "/v3/refund/domestic/refunds", payload)
        amount = answer.get("amount") or {}
        return {
            "provider": self.name,
            "out_refund_no": answer.get("out_refund_no", out_refund_no),
            "refund_id": str(answer.get("refund_id", "")),
            "status": REFUND_STATES.get(str(answer.get("status")), "abnormal"),
            "amount_fen": amount.get("refund", refund_fen) if isinstance(amount, dict) else refund_fen,
        }

    # ---- statements (对账单) ---------------------------------------------------------------

    def trade_bill(self, day: dt.date) -> list[dict[str, Any]]:
        """The day's successful payments from the trade bill (交易账单, bill_type ALL):
        [{out_trade_no, transaction_id, amount_fen}]. The file's SHA1 is checked against the signed
        answer that named it. Empty when WeChat Pay has no bill (no trades that day); while it is
        still being made (STATEMENT_CREATING) a ProviderError with retry=True."""
        try:
            answer = self._call("GET", f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL",
                                not_found_code="NO_STATEMENT_EXIST")
        except _NotFound:
            return []
        except ProviderError as exc:
            if exc.reason.endswith(":NO_STATEMENT_EXIST"):
                return []
            if exc.reason.endswith(":STATEMENT_CREATING"):
                raise ProviderError(exc.reason, retry=True) from None
            raise
        url = _required(answer, "download_url")
        body = self._download(url)
        expected = str(answer.get("hash_value", "")).lower()
        if answer.get("hash_type", "SHA1") != "SHA1" or hashlib.sha1(body).hexdigest() != expected:  # noqa: S324
            raise ProviderError("wechatpay:bill_hash_mismatch", retry=True)
        return parse_trade_bill(body.decode("utf-8-sig"))

    def _download(self, url: str) -> bytes:
        """A signed GET of a bill file; WeChat Pay does not sign the file (its hash is checked instead)."""
        parts = urllib.parse.urlsplit(url)
        signed_url = parts.path + (f"?{parts.query}" if parts.query else "")
        if not url.startswith(self.base_url + "/"):
            raise ProviderError("wechatpay:foreign_download_url", retry=False)

        def build() -> urllib.request.Request:
            timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
            message = f"GET\n{signed_url}\n{timestamp}\n{nonce}\n\n".encode()
            authorization = (
                f'{AUTH_SCHEME} mchid="{self.mchid}",nonce_str="{nonce}",'
                f'signature="{sign_sha256(self._merchant_key, message)}",timestamp="{timestamp}",'
                f'serial_no="{self.merchant_serial_no}"'
            )
            return urllib.request.Request(url, method="GET", headers={"Authorization": authorization,  # noqa: S310
                                                                      "User-Agent": "linli"})

        answer = exchange(build, provider=self.name, tries=self.tries, backoff_s=self.backoff_s,
                          timeout_s=self.timeout_s)
        if answer.status != 200:
            raise ProviderError(f"wechatpay:{answer.status}:bill_download", retry=answer.status >= 500)
        return answer.body

    # ---- notifications --------------------------------------------------------------------

    def parse_notification(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        """Verify the platform signature over the raw body, refuse stale or unknown-key ones,
        decrypt the resource and check it names our merchant and app."""
        h = {k.lower(): v for k, v in headers.items()}
        serial, timestamp = h.get("wechatpay-serial", ""), h.get("wechatpay-timestamp", "")
        nonce, signature = h.get("wechatpay-nonce", ""), h.get("wechatpay-signature", "")
        if not (serial and timestamp and nonce and signature):
            raise NotificationRejected(MISSING_HEADERS, unverified=True)
        key = self._platform_keys.get(serial_key(serial))
        if key is None:
            raise NotificationRejected(UNKNOWN_SERIAL, serial[:64], unverified=True)
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            raise NotificationRejected(STALE_TIMESTAMP, "not a number", unverified=True) from None
        if skew > NOTIFICATION_MAX_SKEW_S:
            raise NotificationRejected(STALE_TIMESTAMP, f"{int(skew)}s away", unverified=True)
        if not verify_sha256(key, _signed_message(timestamp, nonce, body), signature):
            raise NotificationRejected(BAD_SIGNATURE, unverified=True)
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            original_type = resource.get("original_type", "")
            algorithm = resource["algorithm"]
            ciphertext = base64.b64decode(resource["ciphertext"])
            aead_nonce = resource["nonce"].encode()
            associated = (resource.get("associated_data") or "").encode()
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise NotificationRejected(MALFORMED_BODY) from None
        if algorithm != "AEAD_AES_256_GCM" or original_type not in ("", "transaction"):
            # Refund notifications (original_type "refund") are not sent here: refunds are asked
            # for without a notify_url and settled by query.
            raise NotificationRejected(UNSUPPORTED_RESOURCE, f"{algorithm}/{original_type}"[:64])
        try:
            transaction = json.loads(self._aead.decrypt(aead_nonce, ciphertext, associated))
        except (InvalidTag, ValueError):
            raise NotificationRejected(UNDECRYPTABLE, unverified=True) from None
        if not isinstance(transaction, dict):
            raise NotificationRejected(MALFORMED_BODY)
        return self._notice(transaction)

    def notification_answer(self, outcome: int) -> tuple[int, dict[str, str], bytes]:
        """204 stops WeChat Pay resending; a 4xx or 5xx with {"code": "FAIL", "message": …} makes it
        send again later. The status says why: 401 not verified, 400 refused, 503 our trouble."""
        if outcome == NotificationAnswer.ACCEPTED:
            return 204, {}, b""
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()
        return outcome, {"Content-Type": "application/json; charset=utf-8"}, body

    # ---- internals ------------------------------------------------------------------------

    def _notice(self, transaction: dict[str, Any]) -> PaymentNotice:
        """A transaction object (decrypted notification or query answer) as a PaymentNotice."""
        if transaction.get("mchid") != self.mchid:
            raise NotificationRejected(WRONG_MERCHANT, str(transaction.get("mchid", ""))[:32])
        if transaction.get("appid") != self.appid:
            raise NotificationRejected(WRONG_APP, str(transaction.get("appid", ""))[:32])
        status = TRADE_STATES.get(str(transaction.get("trade_state", "")))
        if status is None:
            raise NotificationRejected(UNKNOWN_TRADE_STATE, str(transaction.get("trade_state", ""))[:32])
        total, payer, merchant_discount, funding = _amounts(transaction)
        if not transaction.get("out_trade_no"):
            raise NotificationRejected(MALFORMED_BODY, "no out_trade_no")
        return PaymentNotice(
            provider=self.name,
            out_trade_no=str(transaction["out_trade_no"]),
            transaction_id=str(transaction.get("transaction_id", "")),
            status=status,
            amount_fen=total,
            merchant_id=str(transaction["mchid"]),
            paid_at=_parse_time(transaction.get("success_time")),
            raw=transaction,
            payer_fen=payer,
            merchant_discount_fen=merchant_discount,
            funding=funding,
        )

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None, *,
              not_found_code: str = "") -> dict[str, Any]:
        """One signed API call; the answer's platform signature is checked before it is believed."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload is not None else ""
        url = self.base_url + path
        # WeChat Pay signs the absolute path and query as sent, including any prefix in base_url.
        parts = urllib.parse.urlsplit(url)
        signed_url = parts.path + (f"?{parts.query}" if parts.query else "")

        def build() -> urllib.request.Request:
            timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
            message = f"{method}\n{signed_url}\n{timestamp}\n{nonce}\n{body}\n".encode()
            authorization = (
                f'{AUTH_SCHEME} mchid="{self.mchid}",nonce_str="{nonce}",'
                f'signature="{sign_sha256(self._merchant_key, message)}",timestamp="{timestamp}",'
                f'serial_no="{self.merchant_serial_no}"'
            )
            headers = {"Authorization": authorization, "Accept": "application/json", "User-Agent": "linli"}
            if body:
                headers["Content-Type"] = "application/json"
            return urllib.request.Request(url, data=body.encode() or None, method=method,  # noqa: S310
                                          headers=headers)

        answer = exchange(build, provider=self.name, tries=self.tries, backoff_s=self.backoff_s,
                          timeout_s=self.timeout_s)
        verified = self._verify_answer(answer)
        if answer.status >= 400:
            code = str(answer.json().get("code") or "no_code")
            if not verified:
                # Refused either way; an unsigned refusal is reported but never acted upon.
                raise ProviderError(f"wechatpay:{answer.status}:{code}:unverified", retry=False)
            if not_found_code and answer.status == 404 and code == not_found_code:
                raise _NotFound
            raise ProviderError(f"wechatpay:{answer.status}:{code}", retry=False)
        if not verified:
            log.warning("wechatpay %s %s: answer failed platform signature verification", method,
                        path.split("?")[0])
            raise ProviderError("wechatpay:bad_response_signature", retry=False)
        if answer.status == 204 or not answer.body:
            return {}
        result = answer.json()
        if not result:
            raise ProviderError("wechatpay:malformed_answer", retry=False)
        return result

    def _verify_answer(self, answer: HttpAnswer) -> bool:
        h = answer.headers
        key = self._platform_keys.get(serial_key(h.get("wechatpay-serial", "")))
        timestamp, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        signature = h.get("wechatpay-signature", "")
        if key is None or not (timestamp and nonce and signature):
            return False
        return verify_sha256(key, _signed_message(timestamp, nonce, answer.body), signature)


class _NotFound(Exception):
    pass


def serial_key(serial: str) -> int | str:
    """A platform certificate serial is a hex number: WeChat Pay's SDKs compare it as a number
    (`int(serial, 16) == certificate.serial_number`), so its case and leading zeros do not matter.
    A WeChat Pay public key id (`PUB_KEY_ID_…`) is not hex and is compared exactly."""
    serial = serial.strip()
    return int(serial, 16) if _HEX.fullmatch(serial) else serial


def _fen(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _amounts(transaction: dict[str, Any]) -> tuple[int, int | None, int, tuple[dict[str, Any], ...]]:
    """(order total, what the payer paid or None, the merchant-funded part of the discount, the
    coupons as funding lines) of a transaction; refused when they do not add up."""
    amount = transaction.get("amount")
    amount = amount if isinstance(amount, dict) else {}
    total = _fen(amount.get("total"))
    payer = _fen(amount.get("payer_total")) if "payer_total" in amount else None
    if total is None or ("payer_total" in amount and (payer is None or payer > total)):
        raise NotificationRejected(BAD_AMOUNT)
    promotions = transaction.get("promotion_detail") or []
    funding, merchant_discount = [], 0
    for promotion in promotions if isinstance(promotions, list) else []:
        fen = _fen(promotion.get("amount")) if isinstance(promotion, dict) else None
        if fen is None:
            raise NotificationRejected(BAD_AMOUNT, "promotion amount")
        kind = str(promotion.get("type", ""))[:16]
        funding.append({"kind": kind, "amount_fen": fen,
                        "ref": str(promotion.get("coupon_id") or promotion.get("promotion_id") or "")[:32]})
        merchant_discount += fen if kind in MERCHANT_FUNDED_COUPONS else 0
    if merchant_discount > total:
        raise NotificationRejected(BAD_AMOUNT, "promotions above the total")
    return total, payer, merchant_discount, tuple(funding)


def parse_trade_bill(text: str) -> list[dict[str, Any]]:
    """The SUCCESS rows of a trade bill: a CSV whose fields start with a backtick, a header row
    naming the columns, and summary lines after the first line starting with 总交易单数."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    header = [h.strip() for h in lines[0].split(",")]
    try:
        at = {name: header.index(name) for name in ("微信订单号", "商户订单号", "交易状态")}
    except ValueError:
        raise ProviderError("wechatpay:malformed_bill", retry=False) from None
    amount_at = header.index("订单金额") if "订单金额" in header else header.index("应结订单金额")
    rows = []
    for line in lines[1:]:
        if line.startswith("总交易单数"):
            break
        fields = [f.strip().removeprefix("`") for f in line.split(",")]
        if len(fields) < len(header) or fields[at["交易状态"]] != "SUCCESS":
            continue
        rows.append({"out_trade_no": fields[at["商户订单号"]], "transaction_id": fields[at["微信订单号"]],
                     "amount_fen": _yuan_to_fen(fields[amount_at])})
    return rows


def _yuan_to_fen(value: str) -> int:
    try:
        return fen_from_yuan(value)
    except ValueError as exc:
        raise ProviderError("wechatpay:malformed_bill_amount", retry=False) from exc


def _signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def _required(answer: dict[str, Any], key: str) -> str:
    value = answer.get(key)
    if not value or not isinstance(value, str):
        raise ProviderError(f"wechatpay:answer_without_{key}", retry=False)
    return value


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _parse_time(value: Any) -> dt.datetime | None:
    """WeChat Pay times are RFC 3339 with an offset ("2024-05-01T10:34:56+08:00")."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)
