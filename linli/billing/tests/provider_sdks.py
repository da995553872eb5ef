"""Notifications made and read with the providers' own open-source SDKs (test dependencies), so what
billing accepts is checked against code we did not write.

WeChat Pay: `wechatpayv3` signs the envelope (`utils.rsa_sign`, SHA256withRSA over
`timestamp\\nnonce\\nbody\\n`) with the fake's platform key; the SDK has no encrypting helper, so the
resource is sealed the way its `utils.aes_decrypt` opens it (AES-256-GCM, the APIv3 key, nonce and
associated data as UTF-8) and checked to open with that function. `wechatpay_sdk_reads` runs the
SDK's own `WeChatPay.callback`, which looks the platform certificate up by serial number.

Alipay: `alipay-sdk-python` builds the string to sign (`get_sign_content`) and signs it RSA2
(`sign_with_rsa2`) with the fake's Alipay key; `alipay_sdk_verifies` checks a notification with
`verify_with_rsa` over every parameter but `sign` and `sign_type`, the rule Alipay documents.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import rsa as rsa_lib
from alipay.aop.api.util.SignatureUtils import get_sign_content, sign_with_rsa2, verify_with_rsa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import aes_decrypt, rsa_sign

from linli.billing.testing import SHANGHAI, FakeAlipay, FakeWechatPay, new_rsa_key, private_pem

# ---- WeChat Pay ---------------------------------------------------------------------------------


def wechatpay_notification(fake: FakeWechatPay, out_trade_no: str, *, serial: str = "",
                           transaction: dict[str, Any] | None = None) -> tuple[dict[str, str], bytes]:
    """The TRANSACTION.SUCCESS notification WeChat Pay posts for the fake's order (or for
    `transaction`), sealed with the APIv3 key and signed by the SDK with the platform key;
    `serial` spells Wechatpay-Serial (default: as the fake writes it)."""
    resource = json.dumps(transaction or fake.orders[out_trade_no], ensure_ascii=False)
    nonce, associated = secrets.token_hex(6), "transaction"
    sealed = AESGCM(fake.api_v3_key).encrypt(nonce.encode("UTF-8"), resource.encode("UTF-8"),
                                              associated.encode("UTF-8"))
    ciphertext = base64.b64encode(sealed).decode()
    opened = aes_decrypt(nonce=nonce, ciphertext=ciphertext, associated_data=associated,
                         apiv3_key=fake.api_v3_key.decode())
    assert opened == resource, "the SDK must open what was sealed for it"
    body = json.dumps({
        "id": str(uuid.uuid4()),
        "create_time": dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat(),
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM", "ciphertext": ciphertext,
                     "associated_data": associated, "nonce": nonce},
    }, ensure_ascii=False)
    timestamp, header_nonce = str(int(time.time())), uuid.uuid4().hex.upper()
    signature = rsa_sign(private_key=fake.platform_key, sign_str=f"{timestamp}\n{header_nonce}\n{body}\n")
    headers = {"Wechatpay-Serial": serial or fake.platform_serial, "Wechatpay-Timestamp": timestamp,
               "Wechatpay-Nonce": header_nonce, "Wechatpay-Signature": signature,
               "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048", "Content-Type": "application/json"}
    return headers, body.encode("UTF-8")


def wechatpay_sdk_reads(fake: FakeWechatPay, headers: dict[str, str], body: bytes, folder: Path) -> dict | None:
    """What the SDK's `callback` makes of a notification: the envelope with its resource decrypted,
    or None when it does not verify. The SDK is given the fake's platform certificate (in `folder`)
    and matches Wechatpay-Serial to it as a number; the merchant key plays no part in reading."""
    (folder / "platform.pem").write_text(fake.platform_certificate_pem)
    client = WeChatPay(wechatpay_type=WeChatPayType.NATIVE, mchid=fake.mchid, private_key=private_pem(new_rsa_key()),
                       cert_serial_no=fake.merchant_serial_no, appid=fake.appid,
                       apiv3_key=fake.api_v3_key.decode(), cert_dir=str(folder))
    return client.callback(headers=headers, body=body)


# ---- Alipay -------------------------------------------------------------------------------------


def _alipay_private_key(fake: FakeAlipay) -> str:
    # The SDK reads the PKCS#1 form ("RSA PRIVATE KEY") that Alipay's key tool writes.
    return fake.alipay_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption()).decode()


def alipay_notification(fake: FakeAlipay, out_trade_no: str, **changes: str) -> tuple[dict[str, str], bytes]:
    """The trade_status_sync notification Alipay posts for the fake's trade, every field the trade
    has (discounts included), signed RSA2 by the SDK; `changes` set or add parameters before signing."""
    order = fake.orders[out_trade_no]
    fields = ("trade_no", "out_trade_no", "trade_status", "total_amount", "receipt_amount", "buyer_pay_amount",
              "invoice_amount", "point_amount", "fund_bill_list", "subject", "gmt_create", "gmt_payment", "refund_fee")
    params = {
        "notify_time": dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "notify_type": "trade_status_sync",
        "notify_id": secrets.token_hex(16), "app_id": fake.app_id, "auth_app_id": fake.app_id, "charset": "utf-8",
        "version": "1.0", "seller_id": fake.seller_id, "buyer_id": "2088102177846880",
        **{name: order[name] for name in fields if order.get(name)}, **changes,
    }
    params["sign"] = sign_with_rsa2(_alipay_private_key(fake), get_sign_content(params), "utf-8")
    params["sign_type"] = "RSA2"
    return {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, urlencode(params).encode()


def alipay_sdk_verifies(fake: FakeAlipay, body: bytes) -> bool:
    """Whether the SDK verifies a notification with Alipay's public key: the sorted parameters but
    `sign` and `sign_type`, as the SDK builds a string to sign."""
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    sign = params.pop("sign", "")
    params.pop("sign_type", None)
    try:
        return verify_with_rsa(fake.alipay_public_key_pem, get_sign_content(params).encode("utf-8"), sign)
    except rsa_lib.VerificationError:
        return False
