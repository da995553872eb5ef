"""Local stand-ins for WeChat Pay API v3 and the Alipay gateway, over real HTTP on 127.0.0.1.

Each holds its own freshly generated platform key, checks OUR request signatures exactly as the
provider does (refusing bad ones in the provider's error shape), keeps orders, answers queries,
refunds and closes, and signs its answers. It also writes notifications for an order: valid ones
and tampered variants, to show each is refused for its own reason.

FakeWechatPay also plays the payer's side of an H5 payment: its `h5_url` is a cashier page on
its own server (GET shows the amount and a `确认支付` button; POST pays, posts the signed
notification to the order's notify_url and sends the browser back to `redirect_url`).
`wechatpay_sandbox` starts one and points the Django settings at it (browser tests, the demo).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import re
import secrets
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from linli.billing.providers.alipay import fen_to_yuan, signing_string, yuan_to_fen
from linli.billing.providers.http import load_public_key, public_pem, sign_sha256, verify_sha256

SHANGHAI = ZoneInfo("Asia/Shanghai")

WECHAT_TAMPERINGS = ("signature", "amount", "mchid", "appid", "stale", "serial")
ALIPAY_TAMPERINGS = ("signature", "amount", "app_id", "seller_id", "unsigned")
# Alipay fund channels the merchant pays for (商户红包, 商户优惠券): Alipay settles the trade less them.
MERCHANT_FUNDED_CHANNELS = ("MCOUPON", "MDISCOUNT")


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@dataclass
class Seen:
    method: str
    target: str  # path and query exactly as sent
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))


Reply = tuple[int, dict[str, str], bytes]


class LocalEndpoint:
    """A threaded HTTP server on a free local port; `handler(seen)` decides every answer."""

    def __init__(self, handler: Callable[[Seen], Reply]):
        self.seen: list[Seen] = []
        endpoint = self

        class _Request(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length))
                endpoint.seen.append(seen)
                status, headers, body = handler(seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- WeChat Pay ---------------------------------------------------------------------------

_ORDER_PATH = re.compile(r"/v3/pay/transactions/(jsapi|h5|native)")
_QUERY_PATH = re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)")
_CLOSE_PATH = re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)/close")
_TRADE_TYPES = {"jsapi": "JSAPI", "h5": "MWEB", "native": "NATIVE"}
CASHIER_PATH = "/cashier/h5"
ALIPAY_CASHIER_PATH = "/cashier/alipay"


class FakeWechatPay:
    """WeChat Pay API v3 for one merchant. `outages` holds statuses to answer (unsigned, as a
    load balancer would) before serving normally; `refusals` holds (status, code) answered
    signed; `answer_key` / `answer_serial` make it sign its answers wrongly."""

    def __init__(self, *, mchid: str, appid: str, merchant_serial_no: str, merchant_public_key_pem: str,
                 api_v3_key: bytes):
        self.mchid, self.appid, self.merchant_serial_no = mchid, appid, merchant_serial_no
        self.merchant_public_key = load_public_key(merchant_public_key_pem)
        self.api_v3_key = api_v3_key
        self.platform_key = new_rsa_key()
        # The platform certificate's serial number, in hex as WeChat Pay writes it in Wechatpay-Serial.
        self.platform_serial = format(x509.random_serial_number(), "X")
        self.answer_key: rsa.RSAPrivateKey | None = None
        self.answer_serial = ""
        self.outages: deque[int] = deque()
        self.refusals: deque[tuple[int, str]] = deque()
        self.orders: dict[str, dict[str, Any]] = {}
        self.prepay_ids: dict[str, str] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.notify_urls: dict[str, str] = {}
        self.bill_files: dict[str, bytes] = {}
        self.notified: list[tuple[str, int]] = []  # (out_trade_no, the status our server answered)
        self.endpoint = LocalEndpoint(self._handle)

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def seen(self) -> list[Seen]:
        return self.endpoint.seen

    @property
    def platform_public_keys(self) -> dict[str, str]:
        return {self.platform_serial: public_pem(self.platform_key)}

    @property
    def platform_certificate_pem(self) -> str:
        """The platform certificate (平台证书) for the platform key, as /v3/certificates hands it out:
        what SDKs that look keys up by certificate serial number are given."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
        now = dt.datetime.now(dt.UTC)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self.platform_key.public_key()).serial_number(int(self.platform_serial, 16))
                       .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                       .sign(self.platform_key, hashes.SHA256()))
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    def close(self) -> None:
        self.endpoint.close()

    # What the payer's WeChat client checks before it shows the cashier.
    def client_accepts(self, params: dict[str, str]) -> bool:
        package = params.get("package", "")
        message = f"{params.get('appId')}\n{params.get('timeStamp')}\n{params.get('nonceStr')}\n{package}\n"
        return (params.get("appId") == self.appid and params.get("signType") == "RSA"
                and package.removeprefix("prepay_id=") in self.prepay_ids
                and verify_sha256(self.merchant_public_key, message.encode(), params.get("paySign", "")))

    def pay(self, out_trade_no: str, *, coupons: Sequence[tuple[str, int]] = ()) -> None:
        """The payer pays the order, less any coupons: (type, fen) with type CASH (充值型代金券, funded
        ahead by WeChat Pay or a third party: we still receive the order total) or NOCASH (免充值型,
        the merchant's own: we receive the total less the coupon)."""
        order = self.orders[out_trade_no]
        order.update(trade_state="SUCCESS", trade_state_desc="支付成功", bank_type="OTHERS",
                     transaction_id="4200" + "".join(secrets.choice("0123456789") for _ in range(24)),
                     success_time=dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat())
        total = order["amount"]["total"]
        promotions = [{
            "coupon_id": str(109519 + i), "name": "物业缴费立减", "scope": "GLOBAL", "type": kind, "amount": fen,
            "stock_id": str(931386 + i), "wechatpay_contribute": fen if kind == "CASH" else 0,
            "merchant_contribute": fen if kind == "NOCASH" else 0, "other_contribute": 0, "currency": "CNY",
        } for i, (kind, fen) in enumerate(coupons)]
        order["amount"].update(payer_total=total - sum(fen for _, fen in coupons), payer_currency="CNY")
        if promotions:
            order["promotion_detail"] = promotions

    def notification(self, out_trade_no: str, *, tamper: str = "") -> tuple[dict[str, str], bytes]:
        """A TRANSACTION.SUCCESS notification for the order as WeChat Pay would post it, or a
        tampered variant (see WECHAT_TAMPERINGS)."""
        if tamper and tamper not in WECHAT_TAMPERINGS:
            raise ValueError(tamper)
        transaction = copy.deepcopy(self.orders[out_trade_no])
        if tamper == "mchid":
            transaction["mchid"] = "1900000000"
        if tamper == "appid":
            transaction["appid"] = "wx0000000000000000"
        nonce, associated = secrets.token_hex(6), "transaction"
        plaintext = json.dumps(transaction, ensure_ascii=False).encode()
        key = self.api_v3_key
        if tamper == "amount":
            # The resource swapped in transit for one with another order total: only our APIv3 key
            # makes a resource that decrypts, whoever signed the envelope.
            transaction["amount"].update(total=transaction["amount"]["total"] * 100,
                                         payer_total=transaction["amount"]["total"] * 100)
            plaintext, key = json.dumps(transaction).encode(), AESGCM.generate_key(bit_length=256)
        ciphertext = AESGCM(key).encrypt(nonce.encode(), plaintext, associated.encode())
        body = json.dumps({
            "id": str(uuid.uuid4()),
            "create_time": dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat(),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": associated,
                         "nonce": nonce},
        }, ensure_ascii=False).encode()
        timestamp = int(time.time()) - (600 if tamper == "stale" else 0)
        signer = new_rsa_key() if tamper == "signature" else self.platform_key
        serial = secrets.token_hex(20).upper() if tamper == "serial" else self.platform_serial
        return self._signed_headers(body, signer, serial, timestamp), body

    def send_notification(self, out_trade_no: str, *, tamper: str = "") -> int:
        """POST the order's notification to its notify_url over HTTP, as WeChat Pay does; returns
        the status our server answered (204 accepted, else WeChat Pay would send it again)."""
        headers, body = self.notification(out_trade_no, tamper=tamper)
        request = urllib.request.Request(self.notify_urls[out_trade_no], data=body, method="POST",  # noqa: S310
                                         headers={**headers, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        self.notified.append((out_trade_no, status))
        return status

    def _cashier(self, seen: Seen) -> Reply:
        out_trade_no = self.prepay_ids.get(seen.query.get("prepay_id", ""), "")
        order = self.orders.get(out_trade_no)
        page = "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>微信支付</title><body>{}</body></html>"
        if order is None or order["trade_state"] == "CLOSED":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.format("<p>订单已失效</p>").encode()
        if seen.method == "GET":
            total = order["amount"]["total"]
            form = (f'<p>{escape(self.appid)}</p><p id="amount">¥{total // 100}.{total % 100:02d}</p>'
                    f'<form method="post" action="{escape(seen.target)}"><button id="pay">确认支付</button></form>')
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.format(form).encode()
        if order["trade_state"] != "SUCCESS":
            self.pay(out_trade_no)
        self.send_notification(out_trade_no)
        back = seen.query.get("redirect_url", "")
        if back:
            return 302, {"Location": back}, b""
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.format("<p>支付成功</p>").encode()

    # ---- the API ----------------------------------------------------------------------------

    def _handle(self, seen: Seen) -> Reply:
        if seen.path == CASHIER_PATH:  # the payer's browser, not our server: nothing is signed
            return self._cashier(seen)
        if self.outages:
            status = self.outages.popleft()
            return status, {"Content-Type": "application/json"}, b'{"code":"SYSTEM_ERROR","message":"busy"}'
        refusal = self._check_signature(seen)
        if refusal:
            return self._answer(401, {"code": "SIGN_ERROR", "message": refusal})
        if self.refusals:
            status, code = self.refusals.popleft()
            return self._answer(status, {"code": code, "message": "refused by the test"})
        payload = json.loads(seen.body) if seen.body else {}
        if seen.method == "POST" and (match := _ORDER_PATH.fullmatch(seen.path)):
            return self._create(match.group(1), payload)
        if seen.method == "POST" and (match := _CLOSE_PATH.fullmatch(seen.path)):
            order = self.orders.get(match.group(1))
            if order is None or payload.get("mchid") != self.mchid:
                return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            order.update(trade_state="CLOSED", trade_state_desc="已关闭")
            return self._answer(204, None)
        if seen.method == "GET" and (match := _QUERY_PATH.fullmatch(seen.path)):
            order = self.orders.get(match.group(1))
            if seen.query.get("mchid") != self.mchid:
                return self._answer(400, {"code": "PARAM_ERROR", "message": "mchid"})
            if order is None:
                return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            return self._answer(200, order)
        if seen.method == "POST" and seen.path == "/v3/refund/domestic/refunds":
            return self._refund(payload)
        if seen.method == "GET" and seen.path == "/v3/bill/tradebill":
            return self._trade_bill(seen.query.get("bill_date", ""))
        if seen.method == "GET" and seen.path == "/v3/billdownload/file":
            body = self.bill_files.get(seen.query.get("token", ""))
            if body is None:
                return self._answer(404, {"code": "NOT_FOUND", "message": "no such file"})
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, body  # files are not signed
        return self._answer(404, {"code": "NOT_FOUND", "message": "no such API"})

    def _trade_bill(self, bill_date: str) -> Reply:
        header = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                  "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
                  "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
        lines, total = [header], 0
        for order in self.orders.values():
            paid = order.get("success_time", "")
            if order["trade_state"] not in ("SUCCESS", "REFUND") or not paid.startswith(bill_date):
                continue
            fen = order["amount"]["total"]
            total += fen
            yuan = f"{fen // 100}.{fen % 100:02d}"
            fields = [paid.replace("T", " ")[:19], order["appid"], order["mchid"], "0", "", order["transaction_id"],
                      order["out_trade_no"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", order["trade_type"], "SUCCESS", "OTHERS",
                      "CNY", yuan, "0.00", "0", "0", "0.00", "0.00", "", "", "物业缴费", "", "0.00", "0.60%", yuan,
                      "0.00", ""]
            lines.append(",".join("`" + f for f in fields))
        if len(lines) == 1:
            return self._answer(400, {"code": "NO_STATEMENT_EXIST", "message": "账单不存在"})
        lines += ["总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
                  f"`{len(lines) - 1},`{total / 100:.2f},`0.00,`0.00,`0.00,`{total / 100:.2f},`0.00"]
        body = ("\r\n".join(lines) + "\r\n").encode()
        token = secrets.token_hex(8)
        self.bill_files[token] = body
        return self._answer(200, {"hash_type": "SHA1", "hash_value": hashlib.sha1(body).hexdigest(),  # noqa: S324
                                  "download_url": f"{self.url}/v3/billdownload/file?token={token}"})

    def _check_signature(self, seen: Seen) -> str:
        scheme, _, rest = seen.headers.get("authorization", "").partition(" ")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != self.mchid:
            return "Authorization 格式错误"
        if fields.get("serial_no") != self.merchant_serial_no:
            return "商户证书序列号有误"
        if abs(time.time() - int(fields.get("timestamp") or 0)) > 300:
            return "时间戳过期"
        message = (f"{seen.method}\n{seen.target}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n"
                   ).encode() + seen.body + b"\n"
        if not verify_sha256(self.merchant_public_key, message, fields.get("signature", "")):
            return "签名错误"
        return ""

    def _create(self, scene: str, payload: dict[str, Any]) -> Reply:
        amount = payload.get("amount") or {}
        problems = [
            payload.get("appid") != self.appid, payload.get("mchid") != self.mchid,
            not payload.get("out_trade_no"), not payload.get("notify_url"), not payload.get("description"),
            not isinstance(amount.get("total"), int) or amount["total"] <= 0, amount.get("currency") != "CNY",
            scene == "jsapi" and not (payload.get("payer") or {}).get("openid"),
            scene == "h5" and not (payload.get("scene_info") or {}).get("payer_client_ip"),
        ]
        if any(problems):
            return self._answer(400, {"code": "PARAM_ERROR", "message": "参数错误"})
        order = self.orders.get(payload["out_trade_no"])
        if order is not None and order["amount"]["total"] != amount["total"]:
            return self._answer(400, {"code": "INVALID_REQUEST", "message": "订单号重复"})
        if order is None:
            order = self.orders[payload["out_trade_no"]] = {
                "appid": self.appid, "mchid": self.mchid, "out_trade_no": payload["out_trade_no"],
                "trade_type": _TRADE_TYPES[scene], "trade_state": "NOTPAY", "trade_state_desc": "订单未支付",
                "amount": {"total": amount["total"], "currency": "CNY"},
                "payer": payload.get("payer") or {}, "time_expire": payload.get("time_expire", ""),
            }
        prepay_id = next((p for p, no in self.prepay_ids.items() if no == order["out_trade_no"]), "")
        if not prepay_id:
            prepay_id = "wx" + secrets.token_hex(16)
            self.prepay_ids[prepay_id] = order["out_trade_no"]
        if scene == "jsapi":
            return self._answer(200, {"prepay_id": prepay_id})
        self.notify_urls[order["out_trade_no"]] = payload["notify_url"]
        if scene == "h5":
            return self._answer(200, {"h5_url": f"{self.url}{CASHIER_PATH}?prepay_id={prepay_id}"})
        return self._answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={prepay_id[-7:]}"})

    def _refund(self, payload: dict[str, Any]) -> Reply:
        order = self.orders.get(payload.get("out_trade_no", ""))
        amount = payload.get("amount") or {}
        if order is None or order["trade_state"] not in ("SUCCESS", "REFUND"):
            return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
        if amount.get("total") != order["amount"]["total"] or not 0 < amount.get("refund", 0) <= amount["total"]:
            return self._answer(400, {"code": "PARAM_ERROR", "message": "退款金额有误"})
        refund = self.refunds.setdefault(payload["out_refund_no"], {
            "refund_id": "50" + secrets.token_hex(12), "out_refund_no": payload["out_refund_no"],
            "out_trade_no": order["out_trade_no"], "status": "PROCESSING",
            "amount": {"refund": amount["refund"], "total": amount["total"], "currency": "CNY"},
        })
        order.update(trade_state="REFUND", trade_state_desc="转入退款")
        return self._answer(200, refund)

    def _answer(self, status: int, payload: dict[str, Any] | None) -> Reply:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        headers = self._signed_headers(body, self.answer_key or self.platform_key,
                                       self.answer_serial or self.platform_serial, int(time.time()))
        headers["Request-ID"] = str(uuid.uuid4())
        if body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return status, headers, body

    @staticmethod
    def _signed_headers(body: bytes, key: rsa.RSAPrivateKey, serial: str, timestamp: int) -> dict[str, str]:
        nonce = secrets.token_hex(16)
        signature = sign_sha256(key, f"{timestamp}\n{nonce}\n".encode() + body + b"\n")
        return {"Wechatpay-Serial": serial, "Wechatpay-Timestamp": str(timestamp), "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": signature, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}


# ---- Alipay -------------------------------------------------------------------------------


class FakeAlipay:
    """The Alipay gateway for one app and seller. `outages` holds HTTP statuses, or the string
    "20000" (service unavailable, signed), to answer before serving normally; `answer_key`
    makes it sign answers wrongly."""

    def __init__(self, *, app_id: str, seller_id: str, app_public_key_pem: str):
        self.app_id, self.seller_id = app_id, seller_id
        self.app_public_key = load_public_key(app_public_key_pem)
        self.alipay_key = new_rsa_key()
        self.answer_key: rsa.RSAPrivateKey | None = None
        self.outages: deque[int | str] = deque()
        self.orders: dict[str, dict[str, str]] = {}
        self.refund_requests: dict[str, str] = {}
        self.notify_urls: dict[str, str] = {}
        self.notified: list[tuple[str, bytes]] = []
        self.endpoint = LocalEndpoint(self._handle)

    @property
    def gateway(self) -> str:
        return f"{self.endpoint.url}/gateway.do"

    @property
    def seen(self) -> list[Seen]:
        return self.endpoint.seen

    @property
    def alipay_public_key_pem(self) -> str:
        return public_pem(self.alipay_key)

    def close(self) -> None:
        self.endpoint.close()

    def pay(self, out_trade_no: str, *, discounts: Mapping[str, int] | None = None) -> None:
        """The payer pays the trade from their balance (ALIPAYACCOUNT), less any `discounts`:
        fund channel → fen, e.g. COUPON (支付宝红包) and DISCOUNT (折扣券), funded by Alipay, or
        MCOUPON / MDISCOUNT (商户红包 / 商户优惠券), funded by the merchant, who then receives less."""
        order = self.orders[out_trade_no]
        total = yuan_to_fen(order["total_amount"])
        discounts = dict(discounts or {})
        paid = total - sum(discounts.values())
        merchant_funded = sum(fen for channel, fen in discounts.items() if channel in MERCHANT_FUNDED_CHANNELS)
        funds = [{"amount": fen_to_yuan(fen), "fundChannel": channel}
                 for channel, fen in [("ALIPAYACCOUNT", paid), *discounts.items()] if fen]
        order.update(trade_status="TRADE_SUCCESS", buyer_pay_amount=fen_to_yuan(paid),
                     receipt_amount=fen_to_yuan(total - merchant_funded), invoice_amount=fen_to_yuan(paid),
                     point_amount=fen_to_yuan(discounts.get("POINT", 0)),
                     fund_bill_list=json.dumps(funds, separators=(",", ":")),
                     trade_no=dt.datetime.now(SHANGHAI).strftime("%Y%m%d") + secrets.token_hex(10),
                     gmt_payment=dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"))

    def notification(self, out_trade_no: str, *, tamper: str = "") -> tuple[dict[str, str], bytes]:
        """A trade_status_sync notification as Alipay posts it, or a tampered variant."""
        if tamper and tamper not in ALIPAY_TAMPERINGS:
            raise ValueError(tamper)
        order = self.orders[out_trade_no]
        now = dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        params = {
            "notify_time": now, "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
            "app_id": "2021000000000000" if tamper == "app_id" else self.app_id,
            "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
            "trade_no": order.get("trade_no", ""), "out_trade_no": out_trade_no,
            "trade_status": order["trade_status"], "total_amount": order["total_amount"],
            "receipt_amount": order.get("receipt_amount", ""), "buyer_pay_amount": order.get("buyer_pay_amount", ""),
            "invoice_amount": order.get("invoice_amount", ""), "point_amount": order.get("point_amount", ""),
            "fund_bill_list": order.get("fund_bill_list", ""),
            "seller_id": "2088000000000000" if tamper == "seller_id" else self.seller_id,
            "buyer_id": "2088102177846880", "subject": order["subject"], "gmt_create": order["gmt_create"],
            "gmt_payment": order.get("gmt_payment", ""), "refund_fee": order.get("refund_fee", ""),
        }
        params = {k: v for k, v in params.items() if v}
        signer = new_rsa_key() if tamper == "signature" else self.alipay_key
        params["sign"] = sign_sha256(signer, signing_string(params, exclude=("sign", "sign_type")).encode())
        if tamper == "amount":
            params["total_amount"] = params["buyer_pay_amount"] = "9999.00"
        if tamper == "unsigned":
            del params["sign"]
        return {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, urlencode(params).encode()

    # ---- the gateway ------------------------------------------------------------------------

    def _handle(self, seen: Seen) -> Reply:
        if seen.path == ALIPAY_CASHIER_PATH:  # the payer's browser pressing 确认支付: nothing is signed
            return self._cashier_pay(seen)
        params = seen.query if seen.method == "GET" else dict(parse_qsl(seen.body.decode(), keep_blank_values=True))
        if self.outages:
            outage = self.outages.popleft()
            if isinstance(outage, int):
                return outage, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
            return self._reply(params.get("method", ""), {"code": outage, "msg": "Service Currently Unavailable",
                                                          "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"})
        if params.get("app_id") != self.app_id or params.get("sign_type") != "RSA2" or not verify_sha256(
                self.app_public_key, signing_string(params).encode(), params.get("sign", "")):
            error = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature",
                     "sub_msg": "验签出错"}
            if seen.method == "GET":
                return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<html>invalid-signature</html>"
            return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps({"error_response": error}).encode()
        method, biz = params.get("method", ""), json.loads(params.get("biz_content") or "{}")
        if seen.method == "GET" and method in ("alipay.trade.wap.pay", "alipay.trade.page.pay"):
            return self._cashier(biz, params)
        handlers = {"alipay.trade.query": self._query, "alipay.trade.refund": self._refund,
                    "alipay.trade.close": self._close}
        if seen.method != "POST" or method not in handlers:
            return self._reply(method, {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"})
        return self._reply(method, handlers[method](biz))

    def _cashier(self, biz: dict[str, Any], params: dict[str, str]) -> Reply:
        """The payer's browser opened the signed URL: Alipay now knows the trade and shows its
        cashier, a plain form whose `确认支付` pays (see `_cashier_pay`)."""
        yuan_to_fen(biz["total_amount"])  # a malformed amount fails here, as Alipay refuses it
        self.orders.setdefault(biz["out_trade_no"], {
            "out_trade_no": biz["out_trade_no"], "total_amount": biz["total_amount"], "subject": biz["subject"],
            "product_code": biz["product_code"], "trade_status": "WAIT_BUYER_PAY",
            "gmt_create": dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        })
        self.notify_urls[biz["out_trade_no"]] = params.get("notify_url", "")
        target = ALIPAY_CASHIER_PATH + "?" + urlencode({"out_trade_no": biz["out_trade_no"],
                                                        "return_url": params.get("return_url", "")})
        page = (f'<html><meta charset=utf-8><p>支付宝收银台</p><p id="amount">¥{escape(biz["total_amount"])}</p>'
                f'<form method="post" action="{escape(target)}"><button id="pay">确认支付</button></form></html>')
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def _cashier_pay(self, seen: Seen) -> Reply:
        no = seen.query.get("out_trade_no", "")
        order = self.orders.get(no)
        if seen.method != "POST" or order is None or order["trade_status"] == "TRADE_CLOSED":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, "<html>交易已关闭</html>".encode()
        if order["trade_status"] == "WAIT_BUYER_PAY":
            self.pay(no)
        self.send_notification(no)
        back = seen.query.get("return_url", "")
        if back:
            # Alipay appends the (signed) synchronous return parameters; ours only name the trade.
            return 302, {"Location": back + ("&" if "?" in back else "?") + urlencode({"out_trade_no": no})}, b""
        return 200, {"Content-Type": "text/html; charset=utf-8"}, "<html>支付成功</html>".encode()

    def send_notification(self, out_trade_no: str, *, tamper: str = "") -> bytes:
        """POST the trade's notification, form-encoded, to its notify_url as Alipay does; returns
        what our server answered (b"success" stops Alipay resending)."""
        headers, body = self.notification(out_trade_no, tamper=tamper)
        request = urllib.request.Request(self.notify_urls[out_trade_no], data=body, method="POST",  # noqa: S310
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                text = answer.read()
        except urllib.error.HTTPError as exc:
            text = exc.read()
        self.notified.append((out_trade_no, text))
        return text

    def _query(self, biz: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(biz.get("out_trade_no", ""))
        if order is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}
        node: dict[str, Any] = {"code": "10000", "msg": "Success", "buyer_logon_id": "159****5620", **order}
        if "gmt_payment" in node:
            node["send_pay_date"] = node.pop("gmt_payment")
        if "fund_bill_list" in node:  # a JSON string in notifications, an array of objects here
            node["fund_bill_list"] = [{"fund_channel": f["fundChannel"], "amount": f["amount"]}
                                      for f in json.loads(node["fund_bill_list"])]
        return node

    def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(biz.get("out_trade_no", ""))
        if order is None or order["trade_status"] != "TRADE_SUCCESS":
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        fund_change = "N"
        if biz["out_request_no"] not in self.refund_requests:
            refunded = yuan_to_fen(order.get("refund_fee", "0.00")) + yuan_to_fen(biz["refund_amount"])
            if refunded > yuan_to_fen(order["total_amount"]):
                return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"}
            self.refund_requests[biz["out_request_no"]] = biz["refund_amount"]
            order["refund_fee"], fund_change = fen_to_yuan(refunded), "Y"
        return {"code": "10000", "msg": "Success", "trade_no": order["trade_no"], "out_trade_no": order["out_trade_no"],
                "fund_change": fund_change, "refund_fee": order["refund_fee"]}

    def _close(self, biz: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(biz.get("out_trade_no", ""))
        if order is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        if order["trade_status"] != "WAIT_BUYER_PAY":
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        order["trade_status"] = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": order["out_trade_no"]}

    def _reply(self, method: str, node: dict[str, Any]) -> Reply:
        # Alipay signs the node's exact text; the spaces here make sure we verify those bytes
        # rather than a re-serialisation.
        node_text = json.dumps(node, ensure_ascii=False)
        signature = sign_sha256(self.answer_key or self.alipay_key, node_text.encode())
        body = f'{{"{method.replace(".", "_")}_response": {node_text}, "sign": "{signature}"}}'
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body.encode()


# ---- the sandbox --------------------------------------------------------------------------

SANDBOX_MCHID, SANDBOX_APPID, SANDBOX_SERIAL = "1900000109", "wx8888888888888888", "5157F09EFDC096DE15EBE81A47057A72"


@contextmanager
def wechatpay_sandbox(settings: Any, public_url: str) -> Iterator[FakeWechatPay]:
    """A FakeWechatPay with fresh keys, and the Django `settings` (pytest-django's fixture or
    django.conf.settings) pointed at it: `configured("wechatpay")` talks to the fake and
    notifications go to `public_url` (the live server). Restores the settings on exit."""
    merchant_key, api_v3_key = new_rsa_key(), secrets.token_hex(16).encode()
    fake = FakeWechatPay(mchid=SANDBOX_MCHID, appid=SANDBOX_APPID, merchant_serial_no=SANDBOX_SERIAL,
                         merchant_public_key_pem=public_pem(merchant_key), api_v3_key=api_v3_key)
    names = ("PAYMENT_PROVIDERS", "BILLING_MERCHANTS", "PAYMENT_NOTIFY_BASE_URL", "PAYMENT_HTTP")
    saved = {name: copy.deepcopy(getattr(settings, name, None)) for name in names}
    with tempfile.TemporaryDirectory(prefix="linli-wechatpay-") as folder:
        files = {"merchant_key": Path(folder, "apiclient_key.pem"), "api_v3_key": Path(folder, "api_v3_key"),
                 "platform": Path(folder, "platform_pub_key.pem")}
        files["merchant_key"].write_text(private_pem(merchant_key))
        files["api_v3_key"].write_bytes(api_v3_key)
        files["platform"].write_text(public_pem(fake.platform_key))
        try:
            providers = dict(saved["PAYMENT_PROVIDERS"] or {})
            providers["wechatpay"] = {
                "mchid": SANDBOX_MCHID, "appid": SANDBOX_APPID, "merchant_serial_no": SANDBOX_SERIAL,
                "merchant_private_key_file": str(files["merchant_key"]), "api_v3_key_file": str(files["api_v3_key"]),
                "platform_public_keys": f"{fake.platform_serial}={files['platform']}", "base_url": fake.url,
            }
            settings.PAYMENT_PROVIDERS = providers
            settings.BILLING_MERCHANTS = {**(saved["BILLING_MERCHANTS"] or {}), "wechatpay": SANDBOX_MCHID}
            settings.PAYMENT_NOTIFY_BASE_URL = public_url.rstrip("/")
            settings.PAYMENT_HTTP = {"timeout_s": 5.0, "tries": 2, "backoff_s": 0.0}
            yield fake
        finally:
            fake.close()
            for name, value in saved.items():
                setattr(settings, name, value)


SANDBOX_ALIPAY_APP_ID, SANDBOX_ALIPAY_SELLER_ID = "2021000000000001", "2088102000000001"


@contextmanager
def alipay_sandbox(settings: Any, public_url: str) -> Iterator[FakeAlipay]:
    """A FakeAlipay with fresh keys and the Django `settings` pointed at it, as `wechatpay_sandbox`."""
    app_key = new_rsa_key()
    fake = FakeAlipay(app_id=SANDBOX_ALIPAY_APP_ID, seller_id=SANDBOX_ALIPAY_SELLER_ID,
                      app_public_key_pem=public_pem(app_key))
    names = ("PAYMENT_PROVIDERS", "BILLING_MERCHANTS", "PAYMENT_NOTIFY_BASE_URL", "PAYMENT_HTTP")
    saved = {name: copy.deepcopy(getattr(settings, name, None)) for name in names}
    with tempfile.TemporaryDirectory(prefix="linli-alipay-") as folder:
        app_file, alipay_file = Path(folder, "app_private_key.pem"), Path(folder, "alipay_public_key.pem")
        app_file.write_text(private_pem(app_key))
        alipay_file.write_text(fake.alipay_public_key_pem)
        try:
            providers = dict(saved["PAYMENT_PROVIDERS"] or {})
            providers["alipay"] = {
                "app_id": SANDBOX_ALIPAY_APP_ID, "seller_id": SANDBOX_ALIPAY_SELLER_ID,
                "app_private_key_file": str(app_file), "alipay_public_key_file": str(alipay_file),
                "gateway": fake.gateway, "return_url": "",
            }
            settings.PAYMENT_PROVIDERS = providers
            settings.BILLING_MERCHANTS = {**(saved["BILLING_MERCHANTS"] or {}), "alipay": SANDBOX_ALIPAY_SELLER_ID}
            settings.PAYMENT_NOTIFY_BASE_URL = public_url.rstrip("/")
            settings.PAYMENT_HTTP = {"timeout_s": 5.0, "tries": 2, "backoff_s": 0.0}
            yield fake
        finally:
            fake.close()
            for name, value in saved.items():
                setattr(settings, name, value)
