"""Notifications as the providers' own SDKs make them, with and without discounts: the order total is
what must match ours, the discount is recorded, the bill is credited exactly once, and tampered
notifications are refused with the provider's failure answer and one clean log line."""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request

import pytest
from django.test import Client

from linli.billing import online
from linli.billing.models import JournalEntry, Payment, PaymentNotificationRejection, PaymentStatus
from linli.billing.testing import alipay_sandbox, wechatpay_sandbox
from linli.billing.tests import provider_sdks as sdk
from linli.billing.tests.conftest import bill_of, billed

PUBLIC = "https://linli.example"


@pytest.fixture
def wechat(settings):
    with wechatpay_sandbox(settings, PUBLIC) as fake:
        yield fake


@pytest.fixture
def alipay(settings):
    with alipay_sandbox(settings, PUBLIC) as fake:
        yield fake


def _wechat_payment(side) -> Payment:
    billed(side)
    return online.pay_online(actor=side.users["resident"], bills=[bill_of(side)], provider="wechatpay",
                             scene="native").payment


def _alipay_payment(side) -> Payment:
    billed(side)
    checkout = online.pay_online(actor=side.users["resident"], bills=[bill_of(side)], provider="alipay", scene="wap")
    urllib.request.urlopen(checkout.redirect_url, timeout=5).read()  # noqa: S310 (the payer opens the cashier)
    return checkout.payment


def _post(client, provider, headers, body):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k.lower() != "content-type"}
    return client.post(f"/pay/notify/{provider}/", data=body, content_type=headers["Content-Type"], **extra)


def _credited_once(payment: Payment) -> Payment:
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert JournalEntry.objects.filter(idempotency_key=f"payment:{payment.pk}").count() == 1
    return payment


# ---- WeChat Pay -----------------------------------------------------------------------------------

@pytest.mark.parametrize("coupons", [
    [],  # no discount
    [("CASH", 500)],  # a coupon WeChat Pay funds: we still receive the order total
    [("NOCASH", 300)],  # the merchant's own coupon: we receive the total less it
    [("CASH", 200), ("NOCASH", 100)],
], ids=["none", "wechat-funded", "merchant-funded", "both"])
def test_a_wechat_notification_made_by_the_sdk_credits_the_bill_once_with_or_without_coupons(
        district, wechat, tmp_path, coupons):
    a = district.a
    payment = _wechat_payment(a)
    wechat.pay(payment.out_trade_no, coupons=coupons)
    headers, body = sdk.wechatpay_notification(wechat, payment.out_trade_no)
    read = sdk.wechatpay_sdk_reads(wechat, headers, body, tmp_path)
    assert read["resource"]["amount"]["total"] == payment.amount_fen  # the SDK believes it too

    client = Client()
    for _ in range(3):  # WeChat Pay resends until it hears 204
        assert _post(client, "wechatpay", headers, body).status_code == 204

    payment = _credited_once(payment)
    discount = sum(fen for _, fen in coupons)
    merchant_funded = sum(fen for kind, fen in coupons if kind == "NOCASH")
    assert bill_of(a).status == "paid" and bill_of(a).paid_fen == payment.amount_fen
    assert (payment.payer_fen, payment.discount_fen, payment.merchant_discount_fen) == (
        payment.amount_fen - discount, discount, merchant_funded)
    assert [(line["kind"], line["amount_fen"]) for line in payment.funding] == coupons
    assert not PaymentNotificationRejection.objects.exists()


@pytest.mark.parametrize(("change", "status", "reason"), [
    ("total", 400, "amount_mismatch"),  # a genuine notification for another amount than our order's
    ("payer_total", 400, "bad_amount"),  # the payer paid more than the order total
    ("signer", 401, "bad_signature"),
])
def test_a_tampered_wechat_notification_made_by_the_sdk_is_refused_and_credits_nothing(
        district, wechat, change, status, reason):
    a = district.a
    payment = _wechat_payment(a)
    wechat.pay(payment.out_trade_no, coupons=[("CASH", 500)])
    transaction = json.loads(json.dumps(wechat.orders[payment.out_trade_no]))
    if change in ("total", "payer_total"):
        transaction["amount"][change] = payment.amount_fen + 100
    if change == "signer":
        wechat.platform_key = sdk.new_rsa_key()
    answer = _post(Client(), "wechatpay", *sdk.wechatpay_notification(wechat, payment.out_trade_no,
                                                                    transaction=transaction))
    assert answer.status_code == status and answer.json()["code"] == "FAIL"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED and bill_of(a).paid_fen == 0
    assert PaymentNotificationRejection.objects.get().reason == reason


@pytest.mark.parametrize("spell", [str.lower, str.upper, lambda serial: "0" + serial],
                         ids=["lower-case", "upper-case", "leading-zero"])
def test_the_platform_serial_is_matched_as_a_number_as_the_sdk_matches_it(district, wechat, tmp_path, spell):
    payment = _wechat_payment(district.a)
    wechat.pay(payment.out_trade_no)
    headers, body = sdk.wechatpay_notification(wechat, payment.out_trade_no, serial=spell(wechat.platform_serial))
    assert sdk.wechatpay_sdk_reads(wechat, headers, body, tmp_path) is not None
    assert _post(Client(), "wechatpay", headers, body).status_code == 204
    _credited_once(payment)


def test_the_recovery_query_credits_a_wechat_order_paid_with_a_coupon(district, wechat):
    payment = _wechat_payment(district.a)
    wechat.pay(payment.out_trade_no, coupons=[("CASH", 500)])
    later = payment.created_at + dt.timedelta(minutes=10)
    assert online.recover_lost_payments(now=later) == 1
    payment = _credited_once(payment)
    assert (payment.payer_fen, payment.discount_fen) == (payment.amount_fen - 500, 500)
    assert not PaymentNotificationRejection.objects.exists()


# ---- Alipay ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("discounts", [
    {},
    {"COUPON": 300},  # an Alipay red packet (支付宝红包): Alipay funds it
    {"MDISCOUNT": 200},  # the merchant's own coupon: Alipay settles the total less it
    {"COUPON": 100, "MCOUPON": 50},
], ids=["none", "red-packet", "merchant-coupon", "both"])
def test_an_alipay_notification_made_by_the_sdk_credits_the_bill_once_with_or_without_discounts(
        district, alipay, discounts):
    a = district.a
    payment = _alipay_payment(a)
    alipay.pay(payment.out_trade_no, discounts=discounts)
    headers, body = sdk.alipay_notification(alipay, payment.out_trade_no)
    assert sdk.alipay_sdk_verifies(alipay, body)

    client = Client()
    for _ in range(2):  # resent until Alipay hears "success"
        assert _post(client, "alipay", headers, body).content == b"success"
    alipay.orders[payment.out_trade_no]["trade_status"] = "TRADE_FINISHED"
    assert _post(client, "alipay", *sdk.alipay_notification(alipay, payment.out_trade_no)).content == b"success"

    payment = _credited_once(payment)
    discount = sum(discounts.values())
    merchant_funded = sum(fen for channel, fen in discounts.items() if channel in ("MCOUPON", "MDISCOUNT"))
    assert bill_of(a).status == "paid"
    assert (payment.payer_fen, payment.discount_fen, payment.merchant_discount_fen) == (
        payment.amount_fen - discount, discount, merchant_funded)
    assert {line["kind"]: line["amount_fen"] for line in payment.funding} == {
        "ALIPAYACCOUNT": payment.amount_fen - discount, **discounts}
    assert not PaymentNotificationRejection.objects.exists()


def test_an_empty_parameter_is_part_of_what_alipay_signs(district, alipay):
    payment = _alipay_payment(district.a)
    alipay.pay(payment.out_trade_no)
    headers, body = sdk.alipay_notification(alipay, payment.out_trade_no, passback_params="")
    assert sdk.alipay_sdk_verifies(alipay, body)
    assert _post(Client(), "alipay", headers, body).content == b"success"
    _credited_once(payment)


@pytest.mark.parametrize(("change", "reason"), [
    ("total_after_signing", "bad_signature"),
    ("total", "amount_mismatch"),
    ("buyer_pay_amount", "bad_amount"),
])
def test_a_tampered_alipay_notification_made_by_the_sdk_is_refused_and_credits_nothing(
        district, alipay, change, reason):
    a = district.a
    payment = _alipay_payment(a)
    alipay.pay(payment.out_trade_no, discounts={"COUPON": 300})
    more = f"{(payment.amount_fen + 100) // 100}.{(payment.amount_fen + 100) % 100:02d}"
    if change == "total":
        headers, body = sdk.alipay_notification(alipay, payment.out_trade_no, total_amount=more)
    elif change == "buyer_pay_amount":
        headers, body = sdk.alipay_notification(alipay, payment.out_trade_no, buyer_pay_amount=more)
    else:
        headers, body = sdk.alipay_notification(alipay, payment.out_trade_no)
        signed_total = alipay.orders[payment.out_trade_no]["total_amount"]
        body = body.replace(f"total_amount={signed_total}".encode(), f"total_amount={more}".encode())
    assert _post(Client(), "alipay", headers, body).content == b"failure"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED and bill_of(a).paid_fen == 0
    assert PaymentNotificationRejection.objects.get().reason == reason


def test_a_payer_back_from_alipay_after_a_red_packet_sees_the_payment_paid(district, alipay):
    payment = _alipay_payment(district.a)
    alipay.pay(payment.out_trade_no, discounts={"COUPON": 300})
    refreshed = online.refresh_payment(actor=district.a.users["resident"], payment=payment)
    assert refreshed.status == PaymentStatus.PAID
    assert (refreshed.payer_fen, refreshed.discount_fen) == (payment.amount_fen - 300, 300)
    assert {line["kind"] for line in refreshed.funding} == {"ALIPAYACCOUNT", "COUPON"}
    _credited_once(payment)


# ---- what our fakes send, read by the SDKs ---------------------------------------------------------

def test_the_fakes_notifications_verify_with_the_providers_sdks(district, wechat, alipay, tmp_path):
    payment = _wechat_payment(district.a)
    wechat.pay(payment.out_trade_no, coupons=[("NOCASH", 100)])
    read = sdk.wechatpay_sdk_reads(wechat, *wechat.notification(payment.out_trade_no), tmp_path)
    assert read["resource"]["out_trade_no"] == payment.out_trade_no
    assert read["resource"]["promotion_detail"][0]["type"] == "NOCASH"
    assert sdk.wechatpay_sdk_reads(wechat, *wechat.notification(payment.out_trade_no, tamper="signature"),
                                   tmp_path) is None

    trade = _alipay_payment(district.b)
    alipay.pay(trade.out_trade_no, discounts={"COUPON": 100})
    assert sdk.alipay_sdk_verifies(alipay, alipay.notification(trade.out_trade_no)[1])
    assert not sdk.alipay_sdk_verifies(alipay, alipay.notification(trade.out_trade_no, tamper="signature")[1])


# ---- answering a refusal -------------------------------------------------------------------------

@pytest.mark.parametrize(("tamper", "status", "reason"), [
    ("signature", 401, "bad_signature"),
    ("mchid", 400, "wrong_merchant"),
])
def test_a_refused_wechat_notification_is_answered_fail_with_a_4xx_and_one_clean_warning(
        district, wechat, caplog, tamper, status, reason):
    caplog.set_level(logging.INFO)
    payment = _wechat_payment(district.a)
    wechat.pay(payment.out_trade_no)
    headers, body = wechat.notification(payment.out_trade_no, tamper=tamper)
    caplog.clear()
    answer = _post(Client(), "wechatpay", {**headers, "Content-Type": "application/json"}, body)
    assert answer.status_code == status
    assert answer.json() == {"code": "FAIL", "message": "失败"}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    warnings = [(r.name, r.getMessage()) for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [("linli.billing", f"wechatpay notification refused ({status}): {reason}")]
    assert payment.out_trade_no not in caplog.text


def test_a_notification_for_an_unknown_order_is_a_400_with_one_warning(district, wechat, caplog):
    caplog.set_level(logging.INFO)
    payment = _wechat_payment(district.a)
    wechat.pay(payment.out_trade_no)
    headers, body = sdk.wechatpay_notification(wechat, payment.out_trade_no)
    Payment.objects.filter(pk=payment.pk).update(out_trade_no="LLSOMETHINGELSE0001")
    caplog.clear()
    answer = _post(Client(), "wechatpay", headers, body)
    assert answer.status_code == 400 and answer.json()["code"] == "FAIL"
    warnings = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [("linli.billing", "wechatpay notification refused (400): unknown_order")]
