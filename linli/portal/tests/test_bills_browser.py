"""In phone-sized Chromium: a resident pays a property bill with WeChat Pay (H5) against a local fake of
WeChat Pay that signs its notification; the bill is paid once and the ledger balances."""

from __future__ import annotations

import re

import pytest

from linli.billing.tests.conftest import bill_of, billed
from linli.core.testing import PHONES, build_district
from linli.portal.tests.conftest import log_in_resident


@pytest.mark.django_db(transaction=True)
def test_a_resident_pays_a_property_bill_with_wechat_pay_against_a_local_fake_provider(live_server, phone_browser,
                                                                                       settings):
    from linli.billing.ledger import check_balanced
    from linli.billing.models import Allocation, BillStatus, JournalEntry, Payment, PaymentStatus
    from linli.billing.testing import wechatpay_sandbox

    district = build_district()
    a = district.a
    billed(a)
    bill = bill_of(a)
    expect = phone_browser.expect

    with wechatpay_sandbox(settings, live_server.url) as wechat:
        page = phone_browser.new_page()
        log_in_resident(page, live_server.url, PHONES["a_owner"])
        page.click("a[data-tab=bills]")
        house = page.locator(f"#house-{a.house.pk}")
        expect(house).to_contain_text("物业费")
        expect(house).to_contain_text("¥116.78")
        house.locator(f"input[name=bills][value='{bill.pk}']").check()
        house.locator("label.provider", has_text="微信支付").click()
        house.locator("button.pay").click()

        page.wait_for_url(re.compile("^" + re.escape(wechat.url)))
        expect(page.locator("#pay")).to_have_text("确认支付")
        page.click("#pay")
        page.wait_for_url(re.compile(r"/m/bills/payments/\d+/$"))
        expect(page.locator("#payment-status")).to_have_text("已支付")
        expect(page.locator("#paid-bills")).to_contain_text("物业费")
        expect(page.locator("#receipt")).to_be_visible()
        # The signed notification reached us through the real /pay/notify/wechatpay/ endpoint.
        assert any(s.path.startswith("/cashier/") and s.method == "POST" for s in wechat.seen)

        page.click("a[data-tab=bills]")
        expect(page.locator(f"#house-{a.house.pk}")).to_contain_text("暂无待缴账单")
        expect(page.locator("#history")).to_contain_text("已支付")

    payment = Payment.objects.get()
    bill.refresh_from_db()
    assert (payment.status, payment.amount_fen, payment.provider) == (PaymentStatus.PAID, 11678, "wechatpay")
    assert payment.transaction_id and payment.started_by == a.users["resident"]
    assert (bill.status, bill.paid_fen) == (BillStatus.PAID, 11678)
    assert JournalEntry.objects.filter(kind="payment").count() == 1
    assert list(Allocation.objects.values_list("bill_id", "amount_fen")) == [(bill.pk, 11678)]
    report = check_balanced()
    assert report.ok, report
