"""WeChat Pay API v3 against the local fake: signing, verification, notifications, retries."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets

import pytest

from linli.billing.providers.base import (
    NotificationAnswer,
    NotificationRejected,
    PaymentOrder,
    PaymentStatus,
    ProviderError,
)
from linli.billing.providers.http import public_pem
from linli.billing.providers.wechatpay import WechatPayProvider
from linli.billing.tests.fake_providers import WECHAT_TAMPERINGS, FakeWechatPay, new_rsa_key, private_pem

MCHID, APPID, SERIAL = "1230000109", "wxd678efh567hg6787", "3775B6A45ACD588826D15E583A95F5DD"


@pytest.fixture(scope="module")
def merchant_key():
    return new_rsa_key()


@pytest.fixture
def api_v3_key():
    return secrets.token_hex(16).encode()  # 32 bytes, as WeChat Pay's console issues them


@pytest.fixture
def wechat(merchant_key, api_v3_key):
    fake = FakeWechatPay(mchid=MCHID, appid=APPID, merchant_serial_no=SERIAL,
                         merchant_public_key_pem=public_pem(merchant_key), api_v3_key=api_v3_key)
    yield fake
    fake.close()


def provider_for(fake, merchant_key, api_v3_key, **overrides):
    options = {"mchid": MCHID, "appid": APPID, "merchant_serial_no": SERIAL,
               "merchant_private_key_pem": private_pem(merchant_key), "api_v3_key": api_v3_key,
               "platform_public_keys": fake.platform_public_keys, "base_url": fake.url,
               "timeout_s": 5, "tries": 3, "backoff_s": 0}
    return WechatPayProvider(**(options | overrides))


@pytest.fixture
def provider(wechat, merchant_key, api_v3_key):
    return provider_for(wechat, merchant_key, api_v3_key)


def water_bill_order(no="WF202405010001", amount_fen=12345, **extra):
    return PaymentOrder(out_trade_no=no, amount_fen=amount_fen, description="物业费 2024年5月",
                        notify_url="https://linli.example/billing/notify/wechatpay", payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                        expires_at=dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC), **extra)


def test_a_jsapi_order_is_signed_as_wechat_pay_checks_it_and_the_client_parameters_verify(provider, wechat):
    params = provider.create_order(water_bill_order())

    request = wechat.seen[-1]
    assert request.path == "/v3/pay/transactions/jsapi"
    assert request.headers["authorization"].startswith('WECHATPAY2-SHA256-RSA2048 mchid="1230000109",')
    sent = json.loads(request.body)
    assert sent["amount"] == {"total": 12345, "currency": "CNY"}
    assert sent["payer"] == {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    assert sent["time_expire"] == "2030-05-01T20:00:00+08:00"
    assert wechat.orders["WF202405010001"]["trade_state"] == "NOTPAY"
    assert params["package"].startswith("prepay_id=wx") and params["signType"] == "RSA"
    assert wechat.client_accepts(params)
    assert not wechat.client_accepts({**params, "package": params["package"] + "0"})


def test_a_request_signed_with_another_merchant_key_is_refused_by_wechat_pay(wechat, api_v3_key):
    impostor = provider_for(wechat, new_rsa_key(), api_v3_key)
    with pytest.raises(ProviderError) as refused:
        impostor.create_order(water_bill_order())
    assert refused.value.reason == "wechatpay:401:SIGN_ERROR" and refused.value.retry is False
    assert wechat.orders == {}


def test_h5_and_native_orders_hand_back_the_page_and_the_qr_code(provider, wechat):
    h5 = provider.create_order(water_bill_order("H5001", scene="h5"), payer_client_ip="203.0.113.7")
    native = provider.create_order(water_bill_order("NA001", scene="native"))
    # The fake's H5 page is its own cashier (real WeChat Pay: https://wx.tenpay.com/…).
    assert h5["h5_url"].startswith(f"{wechat.url}/cashier/h5?prepay_id=wx") and native["code_url"].startswith("weixin://")
    assert json.loads(wechat.seen[0].body)["scene_info"]["payer_client_ip"] == "203.0.113.7"
    with pytest.raises(ProviderError, match="h5_needs_payer_client_ip"):
        provider.create_order(water_bill_order("H5002", scene="h5"))


def test_a_paid_order_notification_decrypts_into_a_payment_notice(provider, wechat):
    provider.create_order(water_bill_order())
    wechat.pay("WF202405010001")

    notice = provider.parse_notification(*wechat.notification("WF202405010001"))

    assert notice.provider == "wechatpay" and notice.status == PaymentStatus.SUCCESS
    assert notice.out_trade_no == "WF202405010001" and notice.amount_fen == 12345
    assert notice.transaction_id == wechat.orders["WF202405010001"]["transaction_id"]
    assert notice.merchant_id == MCHID
    assert notice.paid_at is not None and notice.paid_at.utcoffset() == dt.timedelta(hours=8)
    assert abs((notice.paid_at - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_a_notification_reports_the_order_total_and_what_the_payer_paid_after_coupons(provider, wechat):
    provider.create_order(water_bill_order())
    wechat.pay("WF202405010001", coupons=[("CASH", 300), ("NOCASH", 45)])
    notice = provider.parse_notification(*wechat.notification("WF202405010001"))
    assert notice.amount_fen == 12345  # the order total: what must match ours
    assert (notice.payer_fen, notice.discount_fen, notice.merchant_discount_fen) == (12000, 345, 45)
    assert [(line["kind"], line["amount_fen"]) for line in notice.funding] == [("CASH", 300), ("NOCASH", 45)]
    assert provider.query("WF202405010001").payer_fen == 12000  # the query reads the same way


def test_each_tampered_notification_is_refused_for_its_own_reason(provider, wechat):
    provider.create_order(water_bill_order())
    wechat.pay("WF202405010001")
    reasons = {}
    for tampering in WECHAT_TAMPERINGS:
        with pytest.raises(NotificationRejected) as rejected:
            provider.parse_notification(*wechat.notification("WF202405010001", tamper=tampering))
        reasons[tampering] = rejected.value.reason
    assert reasons == {"signature": "bad_signature", "amount": "undecryptable_resource",
                       "mchid": "wrong_merchant", "appid": "wrong_app", "stale": "stale_timestamp",
                       "serial": "unknown_serial"}


def test_a_notification_with_its_body_altered_after_signing_is_refused(provider, wechat):
    provider.create_order(water_bill_order())
    wechat.pay("WF202405010001")
    headers, body = wechat.notification("WF202405010001")
    with pytest.raises(NotificationRejected, match="bad_signature"):
        provider.parse_notification(headers, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.FAILED"))
    with pytest.raises(NotificationRejected, match="missing_signature_headers"):
        provider.parse_notification({"Wechatpay-Serial": wechat.platform_serial}, body)


def test_the_notification_answers_are_what_wechat_pay_expects(provider):
    assert provider.notification_answer(NotificationAnswer.ACCEPTED)[0] in (200, 204)
    for outcome in (NotificationAnswer.REFUSED, NotificationAnswer.UNVERIFIED, NotificationAnswer.UNAVAILABLE):
        status, headers, body = provider.notification_answer(outcome)
        assert status == outcome and json.loads(body) == {"code": "FAIL", "message": "失败"}
        assert "application/json" in headers["Content-Type"]


def test_a_platform_key_configured_in_lower_case_verifies_notifications_and_answers(wechat, merchant_key,
                                                                                     api_v3_key):
    keys = {serial.lower(): pem for serial, pem in wechat.platform_public_keys.items()}
    provider = provider_for(wechat, merchant_key, api_v3_key, platform_public_keys=keys)
    provider.create_order(water_bill_order())
    wechat.pay("WF202405010001")
    assert provider.parse_notification(*wechat.notification("WF202405010001")).amount_fen == 12345
    assert provider.query("WF202405010001").status == PaymentStatus.SUCCESS
    with pytest.raises(NotificationRejected, match="unknown_serial"):
        provider.parse_notification(*wechat.notification("WF202405010001", tamper="serial"))


def test_a_query_reports_the_order_state_at_wechat_pay(provider, wechat):
    assert provider.query("NEVER-PLACED") is None
    provider.create_order(water_bill_order())
    assert provider.query("WF202405010001").status == PaymentStatus.NOT_PAID
    wechat.pay("WF202405010001")
    paid = provider.query("WF202405010001")
    assert paid.status == PaymentStatus.SUCCESS and paid.amount_fen == 12345
    assert wechat.seen[-1].target == "/v3/pay/transactions/out-trade-no/WF202405010001?mchid=1230000109"


def test_a_closed_order_and_a_refunded_one_read_as_such(provider, wechat):
    provider.create_order(water_bill_order("CL001"))
    provider.close_order("CL001")
    assert provider.query("CL001").status == PaymentStatus.CLOSED

    provider.create_order(water_bill_order("RF001"))
    wechat.pay("RF001")
    receipt = provider.refund(out_trade_no="RF001", out_refund_no="RF001-1", refund_fen=345, total_fen=12345,
                              reason="多收退回")
    assert receipt["status"] == "processing" and receipt["amount_fen"] == 345 and receipt["refund_id"]
    assert provider.query("RF001").status == PaymentStatus.REFUNDED
    with pytest.raises(ProviderError, match="bad_refund_amount"):
        provider.refund(out_trade_no="RF001", out_refund_no="RF001-2", refund_fen=20000, total_fen=12345)


def test_an_answer_with_a_bad_platform_signature_is_refused(provider, wechat):
    provider.create_order(water_bill_order())
    wechat.answer_key = new_rsa_key()
    with pytest.raises(ProviderError) as refused:
        provider.query("WF202405010001")
    assert refused.value.reason == "wechatpay:bad_response_signature" and refused.value.retry is False

    wechat.answer_key, wechat.answer_serial = None, "0000UNKNOWN"
    with pytest.raises(ProviderError, match="bad_response_signature"):
        provider.query("WF202405010001")


def test_an_unsigned_not_found_is_not_taken_for_an_unknown_order(provider, wechat):
    wechat.answer_key = new_rsa_key()
    with pytest.raises(ProviderError, match="404:ORDER_NOT_EXIST:unverified"):
        provider.query("NEVER-PLACED")


def test_a_5xx_is_retried_then_succeeds(provider, wechat):
    provider.create_order(water_bill_order())
    wechat.outages.extend([503, 500])
    before = len(wechat.seen)
    assert provider.query("WF202405010001").status == PaymentStatus.NOT_PAID
    assert len(wechat.seen) - before == 3
    # Every try is signed afresh: a replayed nonce would be refused by WeChat Pay.
    nonces = {r.headers["authorization"].split('nonce_str="')[1][:32] for r in wechat.seen[before:]}
    assert len(nonces) == 3


def test_a_provider_that_stays_down_is_reported_as_worth_retrying_later(provider, wechat):
    wechat.outages.extend([502, 429, 503, 503])
    with pytest.raises(ProviderError) as down:
        provider.query("WF202405010001")
    assert down.value.retry is True and down.value.reason == "wechatpay:503:SYSTEM_ERROR"
    assert len(wechat.seen) == 3


def test_an_unreachable_provider_is_worth_retrying_later(merchant_key, api_v3_key, wechat):
    wechat.close()
    unreachable = provider_for(wechat, merchant_key, api_v3_key, tries=2)
    with pytest.raises(ProviderError) as down:
        unreachable.query("WF202405010001")
    assert down.value.retry is True and down.value.reason.startswith("wechatpay:network:")


def test_a_4xx_is_not_retried(provider, wechat):
    wechat.refusals.append((400, "PARAM_ERROR"))
    with pytest.raises(ProviderError) as refused:
        provider.create_order(water_bill_order())
    assert refused.value.reason == "wechatpay:400:PARAM_ERROR" and refused.value.retry is False
    assert len(wechat.seen) == 1


def test_no_secret_ever_reaches_the_log(provider, wechat, merchant_key, api_v3_key, caplog):
    caplog.set_level(logging.DEBUG)
    provider.create_order(water_bill_order())
    wechat.pay("WF202405010001")
    wechat.outages.extend([503])
    provider.query("WF202405010001")
    wechat.answer_key = new_rsa_key()
    with pytest.raises(ProviderError):
        provider.query("WF202405010001")
    for tampering in WECHAT_TAMPERINGS:
        with pytest.raises(NotificationRejected):
            provider.parse_notification(*wechat.notification("WF202405010001", tamper=tampering))

    assert "trying again" in caplog.text and "signature verification" in caplog.text
    key_lines = [line for line in private_pem(merchant_key).splitlines() if "-----" not in line]
    logged = caplog.text + repr(provider)
    assert api_v3_key.decode() not in logged
    assert not any(line in logged for line in key_lines)
    assert "Authorization" not in caplog.text and "WECHATPAY2" not in caplog.text


def test_a_provider_refuses_an_api_v3_key_of_the_wrong_length(wechat, merchant_key):
    with pytest.raises(ValueError, match="32 bytes") as refused:
        provider_for(wechat, merchant_key, b"short-key")
    assert "short-key" not in str(refused.value)
