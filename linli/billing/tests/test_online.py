"""Paying online: the configured providers, placing orders, notifications, the H5 sandbox, recovery."""

from __future__ import annotations

import datetime as dt
import html
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db.models import Sum
from django.test import Client

from linli.billing import ledger, online, services
from linli.billing.models import (
    AccountKind,
    Bill,
    JournalEntry,
    Payment,
    PaymentNotificationRejection,
    PaymentStatus,
)
from linli.billing.providers import ProviderNotConfigured, configured
from linli.billing.testing import ALIPAY_TAMPERINGS, WECHAT_TAMPERINGS, alipay_sandbox, wechatpay_sandbox
from linli.billing.tests.conftest import bill_of, billed, property_fee
from linli.core.errors import Conflict, NotFound

PUBLIC = "https://linli.example"


@pytest.fixture
def wechat(settings):
    with wechatpay_sandbox(settings, PUBLIC) as fake:
        yield fake


@pytest.fixture
def alipay(settings):
    with alipay_sandbox(settings, PUBLIC) as fake:
        yield fake


def _pay(side, **options):
    billed(side)
    fields = {"provider": "wechatpay", "scene": "h5", "client_ip": "203.0.113.7"} | options
    return online.pay_online(actor=side.users["resident"], bills=[bill_of(side)], **fields)


def _post_notification(client, provider, headers, body):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k.lower() != "content-type"}
    content_type = headers.get("Content-Type", "application/json")
    return client.post(f"/pay/notify/{provider}/", data=body, content_type=content_type, **extra)


# ---- configuration ----------------------------------------------------------------------------------

def test_a_provider_missing_a_setting_names_the_environment_variable_to_set(settings):
    settings.PAYMENT_PROVIDERS = {"wechatpay": {"mchid": "1900000109"}}
    with pytest.raises(ProviderNotConfigured, match="LINLI_WECHATPAY_APPID"):
        configured("wechatpay")
    with pytest.raises(ProviderNotConfigured, match="LINLI_ALIPAY_APP_ID"):
        configured("alipay")


def test_a_key_file_that_cannot_be_read_is_named_by_its_setting(settings, wechat):
    providers = dict(settings.PAYMENT_PROVIDERS)
    providers["wechatpay"] = {**providers["wechatpay"], "api_v3_key_file": "/nonexistent/api_v3_key"}
    settings.PAYMENT_PROVIDERS = providers
    with pytest.raises(ProviderNotConfigured, match="LINLI_WECHATPAY_API_V3_KEY_FILE"):
        configured("wechatpay")


def test_the_configured_provider_reads_its_keys_once_and_is_reused(wechat):
    first = configured("wechatpay")
    assert first is configured("wechatpay")
    assert first.mchid == wechat.mchid and first.base_url == wechat.url
    assert "PRIVATE" not in repr(first)


def test_paying_with_a_provider_that_is_not_configured_is_refused_on_the_provider_field(district, settings):
    from django.core.exceptions import ValidationError

    settings.PAYMENT_PROVIDERS = {}
    with pytest.raises(ValidationError) as refused:
        _pay(district.a)
    assert "provider" in refused.value.message_dict
    assert not Payment.objects.exists()


# ---- placing orders ---------------------------------------------------------------------------------

def test_an_h5_payment_sends_the_browser_to_wechat_with_our_return_page_as_redirect_url(district, wechat):
    checkout = _pay(district.a, return_url="/m/payments/{payment}/")
    payment = checkout.payment
    assert payment.status == PaymentStatus.CREATED
    url = urllib.parse.urlsplit(checkout.redirect_url)
    query = dict(urllib.parse.parse_qsl(url.query))
    assert query["redirect_url"] == f"{PUBLIC}/m/payments/{payment.pk}/"
    order = wechat.orders[payment.out_trade_no]
    assert order["amount"]["total"] == payment.amount_fen == 11678
    assert wechat.notify_urls[payment.out_trade_no] == f"{PUBLIC}/pay/notify/wechatpay/"
    assert checkout.code_url == "" and checkout.jsapi is None


def test_a_return_page_outside_the_site_is_refused(district, wechat):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        _pay(district.a, return_url="https://evil.example/steal")
    assert "return_url" in refused.value.message_dict


def test_native_and_jsapi_orders_give_a_qr_code_and_signed_bridge_parameters(district, wechat):
    native = _pay(district.a, scene="native")
    assert native.code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    jsapi = online.pay_online(actor=district.a.users["resident"], bills=[bill_of(district.a)], provider="wechatpay",
                              scene="jsapi", payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert wechat.client_accepts(jsapi.jsapi)


def test_a_provider_refusal_is_a_conflict_and_paying_again_retries_the_same_payment(district, wechat):
    wechat.refusals.append((400, "PARAM_ERROR"))
    with pytest.raises(Conflict) as refused:
        _pay(district.a)
    assert refused.value.field == "provider"
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.CREATED
    assert payment.out_trade_no not in wechat.orders
    again = online.pay_online(actor=district.a.users["resident"], bills=[bill_of(district.a)], provider="wechatpay",
                              scene="h5", client_ip="203.0.113.7")
    assert again.payment.pk == payment.pk and payment.out_trade_no in wechat.orders


def test_a_provider_outage_is_a_conflict_saying_to_try_later(district, wechat):
    wechat.outages.extend([503, 503])
    with pytest.raises(Conflict, match="稍后"):
        _pay(district.a)


def test_an_alipay_wap_payment_is_a_signed_gateway_url_carrying_our_return_page(district, alipay):
    checkout = _pay(district.a, provider="alipay", scene="wap", return_url=f"{PUBLIC}/m/paid/{{payment}}")
    url = urllib.parse.urlsplit(checkout.redirect_url)
    assert checkout.redirect_url.startswith(alipay.gateway)
    query = dict(urllib.parse.parse_qsl(url.query))
    assert query["return_url"] == f"{PUBLIC}/m/paid/{checkout.payment.pk}"
    assert query["notify_url"] == f"{PUBLIC}/pay/notify/alipay/"


def test_a_neighbour_cannot_pay_online_for_someone_elses_bill(district, wechat):
    billed(district.a)
    with pytest.raises(NotFound):
        online.pay_online(actor=district.a.users["resident"], bills=[bill_of(district.a, district.a.other_house)],
                          provider="wechatpay", scene="native")
    assert not Payment.objects.exists()


# ---- notifications ----------------------------------------------------------------------------------

def test_a_signed_wechat_notification_credits_the_bill_once_however_often_it_comes(district, wechat):
    payment = _pay(district.a).payment
    wechat.pay(payment.out_trade_no)
    client = Client()
    for _ in range(3):
        answer = _post_notification(client, "wechatpay", *wechat.notification(payment.out_trade_no))
        assert answer.status_code == 204
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert bill_of(district.a).status == "paid"
    assert JournalEntry.objects.filter(idempotency_key=f"payment:{payment.pk}").count() == 1
    assert ledger.balance(district.a.compound.pk, AccountKind.CLEARING_WECHATPAY) == payment.amount_fen


@pytest.mark.parametrize("tamper", WECHAT_TAMPERINGS)
def test_a_tampered_wechat_notification_is_recorded_refused_and_changes_nothing(district, wechat, tamper):
    payment = _pay(district.a).payment
    wechat.pay(payment.out_trade_no)
    answer = _post_notification(Client(), "wechatpay", *wechat.notification(payment.out_trade_no, tamper=tamper))
    # WeChat Pay resends on any 4xx: 401 when it is not shown to be WeChat Pay's, 400 when not ours.
    assert answer.status_code in (400, 401) and answer.json()["code"] == "FAIL"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED
    assert bill_of(district.a).paid_fen == 0
    rejection = PaymentNotificationRejection.objects.get()
    assert rejection.provider == "wechatpay" and rejection.reason
    assert "wechatpay-signature" not in rejection.headers and "wechatpay-nonce" not in rejection.headers


def test_a_notification_for_an_order_we_never_made_is_refused_as_unknown(district, wechat):
    payment = _pay(district.a).payment
    wechat.pay(payment.out_trade_no)
    headers, body = wechat.notification(payment.out_trade_no)
    Payment.objects.filter(pk=payment.pk).update(out_trade_no="LLSOMETHINGELSE0001")
    answer = _post_notification(Client(), "wechatpay", headers, body)
    assert answer.status_code == 400
    assert PaymentNotificationRejection.objects.get().reason == "unknown_order"


def test_a_signed_alipay_notification_credits_once_and_tampered_ones_are_answered_failure(district, alipay):
    checkout = _pay(district.a, provider="alipay", scene="wap")
    payment = checkout.payment
    urllib.request.urlopen(checkout.redirect_url, timeout=5).read()  # noqa: S310 (the payer opens the cashier)
    alipay.pay(payment.out_trade_no)
    client = Client()
    for tamper in ALIPAY_TAMPERINGS:
        answer = _post_notification(client, "alipay", *alipay.notification(payment.out_trade_no, tamper=tamper))
        assert answer.content == b"failure", tamper
    assert PaymentNotificationRejection.objects.count() == len(ALIPAY_TAMPERINGS)
    assert bill_of(district.a).paid_fen == 0
    for _ in range(2):  # TRADE_SUCCESS, then resent
        answer = _post_notification(client, "alipay", *alipay.notification(payment.out_trade_no))
        assert answer.content == b"success"
    alipay.orders[payment.out_trade_no]["trade_status"] = "TRADE_FINISHED"
    assert _post_notification(client, "alipay", *alipay.notification(payment.out_trade_no)).content == b"success"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert JournalEntry.objects.filter(idempotency_key=f"payment:{payment.pk}").count() == 1


def test_notifications_for_an_unconfigured_provider_or_by_get_are_not_accepted(district, settings):
    settings.PAYMENT_PROVIDERS = {}
    assert Client().post("/pay/notify/wechatpay/", data=b"{}", content_type="application/json").status_code == 503
    assert Client().get("/pay/notify/wechatpay/").status_code == 405
    assert Client().post("/pay/notify/paypal/", data=b"{}", content_type="application/json").status_code == 404


# ---- the sandbox, end to end ------------------------------------------------------------------------

def test_an_h5_payment_in_the_sandbox_pays_the_bill_through_a_real_notification(district, live_server, settings):
    a = district.a
    with wechatpay_sandbox(settings, live_server.url) as fake:
        checkout = _pay(a, return_url="/m/payments/{payment}/")
        page = urllib.request.urlopen(checkout.redirect_url, timeout=10).read().decode()  # noqa: S310
        assert '<button id="pay">确认支付</button>' in page and "¥116.78" in page

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as moved:
            opener.open(urllib.request.Request(checkout.redirect_url, data=b"", method="POST"), timeout=10)  # noqa: S310
        assert moved.value.code == 302
        assert moved.value.headers["Location"] == f"{live_server.url}/m/payments/{checkout.payment.pk}/"
        assert fake.notified == [(checkout.payment.out_trade_no, 204)]
        assert fake.send_notification(checkout.payment.out_trade_no) == 204  # WeChat Pay resends
    payment = Payment.objects.get(pk=checkout.payment.pk)
    assert payment.status == PaymentStatus.PAID and payment.transaction_id.startswith("4200")
    assert bill_of(a).status == "paid"
    assert payment.allocations.aggregate(s=Sum("amount_fen"))["s"] == payment.amount_fen
    assert JournalEntry.objects.filter(idempotency_key=f"payment:{payment.pk}").count() == 1
    assert ledger.balance(a.compound.pk, AccountKind.RECEIVABLE, house_id=a.house.pk) == 0


def test_an_alipay_wap_payment_in_the_sandbox_pays_the_bill_and_returns_to_our_page(district, live_server,
                                                                                   settings):
    a = district.a
    with alipay_sandbox(settings, live_server.url) as fake:
        checkout = _pay(a, provider="alipay", scene="wap", return_url="/m/payments/{payment}/")
        page = urllib.request.urlopen(checkout.redirect_url, timeout=10).read().decode()  # noqa: S310
        assert '<button id="pay">确认支付</button>' in page and "¥116.78" in page
        pay_url = urllib.parse.urljoin(checkout.redirect_url, html.unescape(page.split('action="')[1].split('"')[0]))

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        with pytest.raises(urllib.error.HTTPError) as moved:
            urllib.request.build_opener(NoRedirect).open(
                urllib.request.Request(pay_url, data=b"", method="POST"), timeout=10)  # noqa: S310
        assert moved.value.code == 302
        assert moved.value.headers["Location"].startswith(f"{live_server.url}/m/payments/{checkout.payment.pk}/?")
        assert fake.notified == [(checkout.payment.out_trade_no, b"success")]
        assert fake.send_notification(checkout.payment.out_trade_no) == b"success"  # resent
    payment = Payment.objects.get(pk=checkout.payment.pk)
    assert payment.status == PaymentStatus.PAID and bill_of(a).status == "paid"
    assert JournalEntry.objects.filter(idempotency_key=f"payment:{payment.pk}").count() == 1


# ---- refreshing and recovering ----------------------------------------------------------------------

def test_a_payer_back_before_the_notification_sees_the_payment_paid_after_a_refresh(district, wechat):
    payment = _pay(district.a).payment
    assert online.refresh_payment(actor=district.a.users["resident"], payment=payment).status == "created"
    wechat.pay(payment.out_trade_no)
    refreshed = online.refresh_payment(actor=district.a.users["resident"], payment=payment)
    assert refreshed.status == PaymentStatus.PAID
    assert bill_of(district.a).status == "paid"
    with pytest.raises(NotFound):
        online.refresh_payment(actor=district.b.users["resident"], payment=payment)


def test_recovery_credits_paid_orders_whose_notification_was_lost_and_closes_expired_ones(district, wechat):
    a = district.a
    billed(a)
    resident = a.users["resident"]
    paid = online.pay_online(actor=resident, bills=[bill_of(a)], provider="wechatpay", scene="native").payment
    wechat.pay(paid.out_trade_no)
    fee = property_fee(a, name="车位管理费")
    services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=fee, period="2026-11")
    other = list(Bill.objects.filter(house=a.house, fee_item=fee))
    abandoned = online.pay_online(actor=resident, bills=other, provider="wechatpay", scene="native").payment
    now = dt.datetime.now(dt.UTC)
    assert online.recover_lost_payments(now=now) == 0  # too young to ask about
    later = now + dt.timedelta(minutes=10)
    assert online.recover_lost_payments(now=later) == 1
    paid.refresh_from_db()
    abandoned.refresh_from_db()
    assert paid.status == PaymentStatus.PAID and abandoned.status == PaymentStatus.CREATED
    much_later = now + online.ORDER_TTL + dt.timedelta(minutes=1)
    assert online.recover_lost_payments(now=much_later) == 1
    abandoned.refresh_from_db()
    assert abandoned.status == PaymentStatus.CLOSED
    assert wechat.orders[abandoned.out_trade_no]["trade_state"] == "CLOSED"
    assert online.recover_lost_payments(now=much_later) == 0  # a second run finds nothing left


def test_the_api_pays_online_and_refreshes_the_payment(district, wechat):
    from linli.core.tests.apiclient import ApiClient

    a = district.a
    billed(a)
    client = ApiClient(a.users["resident"])
    answer = client.post("/api/billing/online-payments", {"bill_ids": [bill_of(a).pk], "provider": "wechatpay",
                                                          "scene": "native"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["code_url"].startswith("weixin://") and body["payment"]["status"] == "created"
    wechat.pay(body["payment"]["out_trade_no"])
    refreshed = client.post(f"/api/billing/payments/{body['payment']['id']}/refresh")
    assert refreshed.status_code == 200 and refreshed.json()["status"] == "paid"
    unknown = client.post("/api/billing/online-payments", {"bill_ids": [bill_of(a).pk], "provider": "paypal"})
    assert unknown.status_code == 422


# ---- daily reconciliation ---------------------------------------------------------------------------

def test_the_daily_reconciliation_matches_our_paid_payments_against_the_wechat_trade_bill(district, wechat):
    from zoneinfo import ZoneInfo

    from linli.billing.models import Reconciliation

    shanghai = ZoneInfo("Asia/Shanghai")
    payment = _pay(district.a, scene="native").payment
    wechat.pay(payment.out_trade_no)
    assert online.refresh_payment(actor=district.a.users["resident"], payment=payment).status == "paid"
    payment.refresh_from_db()
    paid_day = payment.paid_at.astimezone(shanghai).date()
    next_morning = dt.datetime.combine(paid_day + dt.timedelta(days=1), dt.time(9), tzinfo=shanghai)
    assert online.reconcile_statements(now=next_morning) == 0  # the bill is not ready before 10:00
    assert online.reconcile_statements(now=next_morning + dt.timedelta(hours=2)) == 1
    found = Reconciliation.objects.get(provider="wechatpay", day=paid_day)
    assert found.matched and found.ours == found.theirs == 1
    assert online.reconcile_statements(now=next_morning + dt.timedelta(hours=3)) == 0  # once per day
    # A payment the bill does not hold shows up as a difference.
    Reconciliation.objects.all().delete()
    wechat.orders.clear()
    assert online.reconcile_statements(day=paid_day) == 1
    found = Reconciliation.objects.get(provider="wechatpay", day=paid_day)
    assert not found.matched and found.differences["missing_at_provider"] == [payment.out_trade_no]


def test_a_trade_bill_whose_file_does_not_match_its_hash_is_not_used(district, wechat):
    from linli.billing.providers.base import ProviderError

    payment = _pay(district.a, scene="native").payment
    wechat.pay(payment.out_trade_no)
    day = dt.datetime.fromisoformat(wechat.orders[payment.out_trade_no]["success_time"]).date()
    original = wechat._trade_bill

    def altered(bill_date):
        status, headers, body = original(bill_date)
        for token in wechat.bill_files:
            wechat.bill_files[token] = wechat.bill_files[token].replace(b"116.78", b"1.00")
        return status, headers, body

    wechat._trade_bill = altered
    with pytest.raises(ProviderError, match="bill_hash_mismatch"):
        configured("wechatpay").trade_bill(day)
