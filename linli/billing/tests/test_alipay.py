"""Alipay (RSA2) against the local fake: signed order URLs, notifications, verified answers, yuan↔fen."""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.parse
import urllib.request

import pytest

from linli.billing.providers.alipay import AlipayProvider, fen_to_yuan, signing_string, yuan_to_fen
from linli.billing.providers.base import (
    NotificationAnswer,
    NotificationRejected,
    PaymentOrder,
    PaymentStatus,
    ProviderError,
)
from linli.billing.providers.http import public_pem, verify_sha256
from linli.billing.tests.fake_providers import FakeAlipay, new_rsa_key, private_pem

APP_ID, SELLER_ID = "2021004100000001", "2088102000000001"


@pytest.fixture(scope="module")
def app_key():
    return new_rsa_key()


@pytest.fixture
def alipay(app_key):
    fake = FakeAlipay(app_id=APP_ID, seller_id=SELLER_ID, app_public_key_pem=public_pem(app_key))
    yield fake
    fake.close()


def provider_for(fake, app_key, **overrides):
    options = {"app_id": APP_ID, "seller_id": SELLER_ID, "app_private_key_pem": private_pem(app_key),
               "alipay_public_key_pem": fake.alipay_public_key_pem, "gateway": fake.gateway,
               "timeout_s": 5, "tries": 3, "backoff_s": 0}
    return AlipayProvider(**(options | overrides))


@pytest.fixture
def provider(alipay, app_key):
    return provider_for(alipay, app_key)


def parking_fee_order(no="PK202405010001", amount_fen=1234, scene="wap"):
    return PaymentOrder(out_trade_no=no, amount_fen=amount_fen, description="临时停车费",
                        notify_url="https://linli.example/billing/notify/alipay", scene=scene,
                        expires_at=dt.datetime(2030, 5, 1, 4, 0, tzinfo=dt.UTC))


def open_cashier(url):
    """The payer's browser following the pay URL: a real GET on the fake gateway."""
    with urllib.request.urlopen(url, timeout=5) as page:  # noqa: S310 - the fake's http://127.0.0.1 URL
        return page.read().decode()


def opened_and_paid(provider, alipay, no="PK202405010001", discounts=None, **kwargs):
    """The payer opens the cashier page and pays (less any `discounts`, fund channel → fen)."""
    assert "收银台" in open_cashier(provider.create_order(parking_fee_order(no, **kwargs))["pay_url"])
    alipay.pay(no, discounts=discounts)


def test_an_alipay_order_url_carries_parameters_signed_with_the_app_key(provider, alipay, app_key):
    url = provider.create_order(parking_fee_order())["pay_url"]

    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert params["method"] == "alipay.trade.wap.pay" and params["sign_type"] == "RSA2"
    assert verify_sha256(app_key.public_key(), signing_string(params).encode(), params["sign"])
    biz = json.loads(params["biz_content"])
    assert biz == {"out_trade_no": "PK202405010001", "total_amount": "12.34", "subject": "临时停车费",
                   "product_code": "QUICK_WAP_WAY", "time_expire": "2030-05-01 12:00:00"}
    assert "收银台" in open_cashier(url)
    assert alipay.orders["PK202405010001"]["total_amount"] == "12.34"


def test_an_order_url_signed_with_another_key_is_refused_by_alipay(alipay):
    impostor = provider_for(alipay, new_rsa_key())
    assert "invalid-signature" in open_cashier(impostor.create_order(parking_fee_order())["pay_url"])
    assert alipay.orders == {}


def test_a_desktop_order_uses_the_page_pay_product(provider):
    url = provider.create_order(parking_fee_order(scene="page"))["pay_url"]
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert params["method"] == "alipay.trade.page.pay"
    assert json.loads(params["biz_content"])["product_code"] == "FAST_INSTANT_TRADE_PAY"
    with pytest.raises(ProviderError, match="unsupported_scene:jsapi"):
        provider.create_order(parking_fee_order(scene="jsapi"))


def test_a_paid_trade_notification_verifies_into_a_payment_notice(provider, alipay):
    opened_and_paid(provider, alipay)
    notice = provider.parse_notification(*alipay.notification("PK202405010001"))
    assert notice.provider == "alipay" and notice.status == PaymentStatus.SUCCESS
    assert notice.amount_fen == 1234 and notice.merchant_id == SELLER_ID
    assert notice.transaction_id == alipay.orders["PK202405010001"]["trade_no"]
    assert notice.paid_at is not None and notice.paid_at.utcoffset() == dt.timedelta(hours=8)
    assert "sign" not in notice.raw


@pytest.mark.parametrize(("tampering", "reason"), [
    ("signature", "bad_signature"), ("amount", "bad_signature"), ("app_id", "wrong_app"),
    ("seller_id", "wrong_merchant"), ("unsigned", "missing_signature"),
])
def test_a_tampered_alipay_notification_is_refused(provider, alipay, tampering, reason):
    opened_and_paid(provider, alipay)
    with pytest.raises(NotificationRejected) as rejected:
        provider.parse_notification(*alipay.notification("PK202405010001", tamper=tampering))
    assert rejected.value.reason == reason


def test_trade_statuses_map_onto_payment_states(provider, alipay):
    opened_and_paid(provider, alipay)
    alipay.orders["PK202405010001"]["trade_status"] = "TRADE_FINISHED"
    assert provider.parse_notification(*alipay.notification("PK202405010001")).status == PaymentStatus.SUCCESS
    alipay.orders["PK202405010001"]["refund_fee"] = "1.00"
    assert provider.parse_notification(*alipay.notification("PK202405010001")).status == PaymentStatus.REFUNDED
    alipay.orders["PK202405010001"].update(trade_status="TRADE_CLOSED", refund_fee="")
    assert provider.parse_notification(*alipay.notification("PK202405010001")).status == PaymentStatus.CLOSED


def test_the_notification_answers_are_what_alipay_expects(provider):
    accepted = provider.notification_answer(NotificationAnswer.ACCEPTED)
    assert accepted == (200, {"Content-Type": "text/plain; charset=utf-8"}, b"success")
    for outcome in (NotificationAnswer.REFUSED, NotificationAnswer.UNVERIFIED, NotificationAnswer.UNAVAILABLE):
        assert provider.notification_answer(outcome)[2] == b"failure"


def test_a_notification_reports_the_order_total_and_what_the_payer_paid_after_red_packets(provider, alipay):
    opened_and_paid(provider, alipay, discounts={"COUPON": 200, "MDISCOUNT": 34})
    notice = provider.parse_notification(*alipay.notification("PK202405010001"))
    assert notice.amount_fen == 1234  # total_amount: what must match ours
    assert (notice.payer_fen, notice.discount_fen, notice.merchant_discount_fen) == (1000, 234, 34)
    assert {line["kind"]: line["amount_fen"] for line in notice.funding} == {
        "ALIPAYACCOUNT": 1000, "COUPON": 200, "MDISCOUNT": 34}
    queried = provider.query("PK202405010001")  # the query carries fund_bill_list as an array
    assert (queried.amount_fen, queried.payer_fen, queried.funding) == (1234, 1000, notice.funding)


def test_a_query_returns_the_verified_trade_state(provider, alipay):
    assert provider.query("PK-NEVER-OPENED") is None
    opened_and_paid(provider, alipay)
    paid = provider.query("PK202405010001")
    assert paid.status == PaymentStatus.SUCCESS and paid.amount_fen == 1234 and paid.paid_at is not None
    form = dict(urllib.parse.parse_qsl(alipay.seen[-1].body.decode()))
    assert form["method"] == "alipay.trade.query" and json.loads(form["biz_content"]) == {"out_trade_no": "PK202405010001"}


def test_an_answer_with_a_bad_alipay_signature_is_refused(provider, alipay):
    opened_and_paid(provider, alipay)
    alipay.answer_key = new_rsa_key()
    with pytest.raises(ProviderError) as refused:
        provider.query("PK202405010001")
    assert refused.value.reason == "alipay:bad_response_signature" and refused.value.retry is False


def test_a_request_signed_with_another_key_is_refused_by_the_gateway(alipay):
    with pytest.raises(ProviderError) as refused:
        provider_for(alipay, new_rsa_key()).query("PK202405010001")
    assert refused.value.reason == "alipay:40002:isv.invalid-signature" and refused.value.retry is False


def test_a_refund_is_asked_once_and_a_repeat_moves_no_money(provider, alipay):
    opened_and_paid(provider, alipay)
    first = provider.refund(out_trade_no="PK202405010001", out_refund_no="PK202405010001-R1", refund_fen=234)
    again = provider.refund(out_trade_no="PK202405010001", out_refund_no="PK202405010001-R1", refund_fen=234)
    assert first["status"] == "success" and again["status"] == "processing"
    assert alipay.orders["PK202405010001"]["refund_fee"] == "2.34"
    with pytest.raises(ProviderError, match=r"ACQ\.REFUND_AMT_NOT_EQUAL_TOTAL"):
        provider.refund(out_trade_no="PK202405010001", out_refund_no="PK202405010001-R2", refund_fen=1001)
    assert provider.query("PK202405010001").status == PaymentStatus.REFUNDED


def test_closing_an_unpaid_trade(provider, alipay):
    provider.close_order("PK-NEVER-OPENED")  # nothing to close: not an error
    open_cashier(provider.create_order(parking_fee_order())["pay_url"])
    provider.close_order("PK202405010001")
    assert provider.query("PK202405010001").status == PaymentStatus.CLOSED


def test_an_unavailable_gateway_is_retried_then_succeeds(provider, alipay):
    opened_and_paid(provider, alipay)
    alipay.outages.extend([502, "20000"])
    before = len(alipay.seen)
    assert provider.query("PK202405010001").status == PaymentStatus.SUCCESS
    assert len(alipay.seen) - before == 3


def test_a_gateway_that_stays_unavailable_is_worth_retrying_later(provider, alipay):
    alipay.outages.extend(["20000", "20000", "20000"])
    with pytest.raises(ProviderError) as down:
        provider.query("PK202405010001")
    assert down.value.retry is True and down.value.reason == "alipay:20000:isp.unknow-error"


def test_a_business_refusal_is_not_retried(provider, alipay):
    opened_and_paid(provider, alipay)
    before = len(alipay.seen)
    with pytest.raises(ProviderError) as refused:
        provider.close_order("PK202405010001")  # paid trades cannot be closed
    assert refused.value.retry is False and len(alipay.seen) - before == 1


@pytest.mark.parametrize(("fen", "yuan"), [
    (0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (1234, "12.34"),
    (9999999999, "99999999.99"),
])
def test_yuan_and_fen_convert_exactly(fen, yuan):
    assert fen_to_yuan(fen) == yuan and yuan_to_fen(yuan) == fen


def test_short_yuan_amounts_read_as_whole_cents():
    assert yuan_to_fen("12") == 1200 and yuan_to_fen("12.3") == 1230 and yuan_to_fen("0.1") == 10


@pytest.mark.parametrize("bad", ["", "-0.01", "1.234", "1e3", " 1.00", "1,00", "01.00", "NaN", "0.1.0"])
def test_malformed_yuan_amounts_are_refused_rather_than_rounded(bad):
    with pytest.raises(ValueError):
        yuan_to_fen(bad)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_only_whole_non_negative_fen_become_yuan(bad):
    with pytest.raises(ValueError):
        fen_to_yuan(bad)


def test_no_secret_ever_reaches_the_log(provider, alipay, app_key, caplog):
    caplog.set_level(logging.DEBUG)
    opened_and_paid(provider, alipay)
    alipay.outages.append(502)
    provider.query("PK202405010001")
    alipay.answer_key = new_rsa_key()
    with pytest.raises(ProviderError):
        provider.query("PK202405010001")
    with pytest.raises(NotificationRejected):
        provider.parse_notification(*alipay.notification("PK202405010001", tamper="signature"))

    assert "trying again" in caplog.text and "signature verification" in caplog.text
    key_lines = [line for line in private_pem(app_key).splitlines() if "-----" not in line]
    logged = caplog.text + repr(provider)
    assert not any(line in logged for line in key_lines)
    assert "biz_content" not in caplog.text and "sign=" not in caplog.text


def test_keys_pasted_from_the_alipay_console_without_pem_armour_load(alipay, app_key):
    bare = "".join(line for line in alipay.alipay_public_key_pem.splitlines() if "-----" not in line)
    provider = provider_for(alipay, app_key, alipay_public_key_pem=bare)
    assert provider.query("PK-NEVER-OPENED") is None
