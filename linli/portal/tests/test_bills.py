"""A resident sees their houses' unpaid bills in yuan, pays them online, and finds the payment with its
status, bills and receipt; nobody else's bills or payments are in reach."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from django.test import Client

from linli.billing.tests.conftest import bill_of, billed
from linli.portal.tests.test_repairs import neighbour, resident_client

PUBLIC = "https://linli.example"


@pytest.fixture
def wechat(settings):
    from linli.billing.testing import wechatpay_sandbox

    with wechatpay_sandbox(settings, PUBLIC) as fake:
        yield fake


def _balanced() -> None:
    from linli.billing.ledger import check_balanced

    report = check_balanced()
    assert report.ok, report


@pytest.mark.django_db
def test_a_resident_sees_their_unpaid_bills_in_yuan_in_a_fixed_number_of_queries(district, wechat,
                                                                                django_assert_max_num_queries):
    from linli.billing.models import Bill

    a = district.a
    billed(a, "2026-10")
    billed(a, "2026-11", name="二次供水费", unit_price_fen=20)
    billed(district.b)
    client = resident_client(a.users["resident"])
    with django_assert_max_num_queries(14):
        page = client.get("/m/bills/")
    html = page.content.decode()
    assert page.status_code == 200
    # 86.50 m² × ¥1.35 = ¥116.78 (rounded half up from 116.775); × ¥0.20 = ¥17.30.
    assert "¥116.78" in html and "¥17.30" in html and "¥134.08" in html
    assert "物业费" in html and "二次供水费" in html and "2026-10-01" in html
    assert html.count('name="bills"') == 2 and "微信支付" in html and "立即缴费" in html
    offered = set(re.findall(r'name="bills" value="(\d+)"', html))
    assert offered == {str(b.pk) for b in Bill.objects.filter(house=a.house)}


@pytest.mark.django_db
def test_paying_with_wechat_sends_the_phone_to_the_cashier_and_the_payment_page_finds_it_paid(district, wechat):
    from linli.billing.models import BillStatus, Payment, PaymentStatus

    a = district.a
    billed(a)
    bill = bill_of(a)
    client = resident_client(a.users["resident"])
    answer = client.post("/m/bills/", {"bills": [bill.pk], "provider": "wechatpay"}, REMOTE_ADDR="203.0.113.7")
    payment = Payment.objects.get()
    assert answer.status_code == 302 and answer["Location"].startswith(wechat.url + "/cashier/h5")
    back = urllib.parse.parse_qs(urllib.parse.urlsplit(answer["Location"]).query)["redirect_url"][0]
    assert back == f"{PUBLIC}/m/bills/payments/{payment.pk}/"
    assert (payment.amount_fen, payment.provider, payment.status) == (11678, "wechatpay", PaymentStatus.CREATED)

    pending = client.get(f"/m/bills/payments/{payment.pk}/").content.decode()
    assert "待支付" in pending and 'id="receipt"' not in pending
    wechat.pay(payment.out_trade_no)
    paid = client.get(f"/m/bills/payments/{payment.pk}/").content.decode()
    assert "已支付" in paid and "¥116.78" in paid and "物业费" in paid and 'id="receipt"' in paid
    bill.refresh_from_db()
    assert bill.status == BillStatus.PAID and bill.paid_fen == 11678
    assert "暂无待缴账单" in client.get("/m/bills/").content.decode()
    _balanced()


@pytest.mark.django_db
def test_nothing_chosen_or_someone_elses_bill_is_refused_without_a_payment(district, wechat):
    from linli.billing.models import Payment

    a, b = district.a, district.b
    billed(a)
    billed(b)
    client = resident_client(a.users["resident"])
    nothing = client.post("/m/bills/", {"provider": "wechatpay"})
    assert nothing.status_code == 400 and "请选择要缴纳的账单" in nothing.content.decode()
    theirs = client.post("/m/bills/", {"bills": [bill_of(b).pk], "provider": "wechatpay"})
    assert theirs.status_code == 400
    no_provider = client.post("/m/bills/", {"bills": [bill_of(a).pk], "provider": "cash"})
    assert no_provider.status_code == 400 and "请选择支付方式" in no_provider.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_without_an_online_provider_the_page_says_where_to_pay_instead(district):
    a = district.a
    billed(a)
    html = resident_client(a.users["resident"]).get("/m/bills/").content.decode()
    assert "¥116.78" in html and "立即缴费" not in html and "请到物业服务中心缴纳" in html


@pytest.mark.django_db
def test_a_neighbours_payment_and_receipt_are_not_found(district, wechat):
    from linli.billing import online

    a = district.a
    billed(a)
    checkout = online.pay_online(actor=a.users["resident"], bills=[bill_of(a)], provider="wechatpay", scene="h5",
                                 client_ip="203.0.113.7")
    wechat.pay(checkout.payment.out_trade_no)
    other = resident_client(neighbour(a))
    assert other.get(f"/m/bills/payments/{checkout.payment.pk}/").status_code == 404
    assert other.get(f"/m/bills/payments/{checkout.payment.pk}/receipt.pdf").status_code == 404
    assert checkout.payment.out_trade_no not in other.get("/m/bills/").content.decode()
    assert resident_client(district.b.users["resident"]).get(
        f"/m/bills/payments/{checkout.payment.pk}/").status_code == 404
    assert Client().get("/m/bills/")["Location"].startswith("/m/login/")


@pytest.mark.django_db
def test_a_paid_payment_has_a_pdf_receipt_and_a_pending_one_none(district, wechat):
    from linli.billing import online

    a = district.a
    billed(a)
    checkout = online.pay_online(actor=a.users["resident"], bills=[bill_of(a)], provider="wechatpay", scene="h5",
                                 client_ip="203.0.113.7")
    client = resident_client(a.users["resident"])
    assert client.get(f"/m/bills/payments/{checkout.payment.pk}/receipt.pdf").status_code == 404
    wechat.pay(checkout.payment.out_trade_no)
    client.get(f"/m/bills/payments/{checkout.payment.pk}/")
    receipt = client.get(f"/m/bills/payments/{checkout.payment.pk}/receipt.pdf")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")
    _balanced()


@pytest.mark.django_db
def test_the_payment_history_lists_the_houses_payments(district, wechat):
    from linli.billing import payments

    a = district.a
    billed(a)
    cash = payments.record_cash_payment(actor=a.users["cashier"], bills=[bill_of(a)], amount_fen=20000)
    html = resident_client(a.users["resident"]).get("/m/bills/").content.decode()
    history = html.split('id="history"')[1]
    assert f"/m/bills/payments/{cash.pk}/" in history and "¥200.00" in history and "现金" in history
    # ¥200.00 against ¥116.78: the rest is the house's prepaid balance.
    assert "¥83.22" in html.split('id="history"')[0]
    _balanced()


@pytest.mark.django_db
def test_paying_with_alipay_sends_the_phone_to_alipays_wap_cashier_and_a_second_tap_reuses_the_order(
        district, settings):
    from linli.billing.models import Payment
    from linli.billing.testing import alipay_sandbox

    a = district.a
    billed(a)
    with alipay_sandbox(settings, PUBLIC) as alipay:
        client = resident_client(a.users["resident"])
        first = client.post("/m/bills/", {"bills": [bill_of(a).pk], "provider": "alipay"})
        again = client.post("/m/bills/", {"bills": [bill_of(a).pk], "provider": "alipay"})
        payment = Payment.objects.get()
        for answer in (first, again):
            assert answer.status_code == 302 and answer["Location"].startswith(alipay.gateway)
            sent = urllib.parse.parse_qs(urllib.parse.urlsplit(answer["Location"]).query)
            assert sent["method"] == ["alipay.trade.wap.pay"]
            assert sent["return_url"] == [f"{PUBLIC}/m/bills/payments/{payment.pk}/"]
        assert payment.provider == "alipay" and payment.amount_fen == 11678
