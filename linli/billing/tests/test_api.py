"""The billing API: fee items and bill runs for managers, bills and payments scoped to the
resident's own house, cash and prepaid at the counter, refunds with a second approver, the
disclosure owners read. Money is integer fen both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.billing import services
from linli.billing.models import Bill, Payment
from linli.billing.tests.conftest import bill_of, billed
from linli.core.tests.apiclient import ApiClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_a_manager_sets_a_fee_item_and_bills_a_month_once(district):
    a = district.a
    manager = ApiClient(a.users["property_manager"])
    created = manager.post("/api/billing/fee-items", {"compound_id": a.compound.pk, "name": "物业费",
                                                      "kind": "per_area_monthly", "unit_price_fen": 135})
    assert created.status_code == 201, created.content
    fee = created.json()
    assert fee["unit_price_fen"] == 135 and fee["amount_fen"] is None
    run = manager.post(f"/api/billing/fee-items/{fee['id']}/runs", {"period": "2026-11"})
    assert run.status_code == 201, run.content
    # 86.50 m² and 90.00 m² at 1.35 yuan: 11677.5 rounds half up to 11678 fen, and 12150.
    assert run.json()["billed"] == 2 and run.json()["total_fen"] == 11678 + 12150 and run.json()["created"]
    again = manager.post(f"/api/billing/fee-items/{fee['id']}/runs", {"period": "2026-11"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert Bill.objects.count() == 2
    renamed = manager.patch(f"/api/billing/fee-items/{fee['id']}", {"name": "物业服务费", "unit_price_fen": 150})
    assert renamed.status_code == 200 and renamed.json()["unit_price_fen"] == 150


def test_fee_item_input_errors_name_the_field(district):
    a = district.a
    manager = ApiClient(a.users["property_manager"])
    base = {"compound_id": a.compound.pk, "name": "水费", "kind": "metered", "unit_price_fen": 350}
    fractional = manager.post("/api/billing/fee-items", {**base, "unit_price_fen": 3.5})
    assert fractional.status_code == 422 and "unit_price_fen" in fractional.json()["error"]["fields"]
    no_meter = manager.post("/api/billing/fee-items", base)
    assert no_meter.status_code == 422 and "meter_kind" in no_meter.json()["error"]["fields"]
    fee = services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="物业费",
                                   kind="per_area_monthly", unit_price_fen=135)
    kind_fixed = manager.patch(f"/api/billing/fee-items/{fee.pk}", {"kind": "fixed_monthly"})
    assert kind_fixed.status_code == 200 and kind_fixed.json()["kind"] == "per_area_monthly"
    bad_period = manager.post(f"/api/billing/fee-items/{fee.pk}/runs", {"period": "2026-13"})
    assert bad_period.status_code == 422 and "period" in bad_period.json()["error"]["fields"]


def test_a_cashier_may_not_set_tariffs_and_nobody_reaches_another_compounds_fee_items(district):
    a, b = district.a, district.b
    cashier = ApiClient(a.users["cashier"])
    refused = cashier.post("/api/billing/fee-items", {"compound_id": a.compound.pk, "name": "物业费",
                                                      "kind": "fixed_monthly", "amount_fen": 100})
    assert refused.status_code == 403
    fee_b = services.create_fee_item(actor=b.users["property_manager"], compound=b.compound, name="物业费",
                                     kind="fixed_monthly", amount_fen=100)
    manager_a = ApiClient(a.users["property_manager"])
    assert manager_a.get(f"/api/billing/fee-items/{fee_b.pk}").status_code == 404
    assert manager_a.post(f"/api/billing/fee-items/{fee_b.pk}/runs", {"period": "2026-11"}).status_code == 404


def test_a_resident_sees_and_pays_only_their_own_houses_bills(district):
    a = district.a
    billed(a)
    resident = ApiClient(a.users["resident"])
    bills = resident.get("/api/billing/bills").json()
    assert bills["count"] == 1 and bills["items"][0]["house_id"] == a.house.pk
    mine, neighbours = bill_of(a), bill_of(a, a.other_house)
    assert resident.get(f"/api/billing/bills/{neighbours.pk}").status_code == 404
    detail = resident.get(f"/api/billing/bills/{mine.pk}").json()
    assert detail["outstanding_fen"] == 11678 and [line["amount_fen"] for line in detail["lines"]] == [11678]
    assert resident.post("/api/billing/payments", {"bill_ids": [neighbours.pk]}).status_code == 404
    started = resident.post("/api/billing/payments", {"bill_ids": [mine.pk], "provider": "alipay"})
    assert started.status_code == 201, started.content
    assert started.json()["status"] == "created" and started.json()["amount_fen"] == 11678
    assert resident.get("/api/billing/payments").json()["count"] == 1
    cash = resident.post("/api/billing/cash-payments", {"bill_ids": [mine.pk], "amount_fen": 100})
    assert cash.status_code == 403


def test_cash_above_the_bill_becomes_the_houses_prepaid_balance(district):
    a = district.a
    billed(a)
    cashier = ApiClient(a.users["cashier"])
    bill = bill_of(a)
    paid = cashier.post("/api/billing/cash-payments", {"bill_ids": [bill.pk], "amount_fen": 12000, "note": "现金"})
    assert paid.status_code == 201, paid.content
    assert paid.json()["status"] == "paid" and paid.json()["provider"] == "cash"
    assert cashier.get(f"/api/billing/bills/{bill.pk}").json()["status"] == "paid"
    prepaid = ApiClient(a.users["resident"]).get(f"/api/billing/houses/{a.house.pk}/prepaid")
    assert prepaid.status_code == 200 and prepaid.json()["balance_fen"] == 12000 - 11678
    assert ApiClient(a.users["resident"]).get(f"/api/billing/houses/{a.other_house.pk}/prepaid").status_code == 404
    zero = cashier.post("/api/billing/cash-payments", {"bill_ids": [bill.pk], "amount_fen": 0})
    assert zero.status_code == 422 and "amount_fen" in zero.json()["error"]["fields"]


def test_a_refund_is_approved_by_someone_other_than_who_asked(district):
    a = district.a
    billed(a)
    cashier, manager = ApiClient(a.users["cashier"]), ApiClient(a.users["property_manager"])
    payment = cashier.post("/api/billing/cash-payments", {"bill_ids": [bill_of(a).pk], "amount_fen": 11678}).json()
    too_much = cashier.post(f"/api/billing/payments/{payment['id']}/refunds", {"amount_fen": 20000, "reason": "错收"})
    assert too_much.status_code == 422 and "amount_fen" in too_much.json()["error"]["fields"]
    refund = cashier.post(f"/api/billing/payments/{payment['id']}/refunds", {"amount_fen": 1000, "reason": "错收"})
    assert refund.status_code == 201 and refund.json()["status"] == "requested"
    refund_id = refund.json()["id"]
    assert cashier.post(f"/api/billing/refunds/{refund_id}/approve").status_code == 403
    assert manager.get("/api/billing/refunds", pending_only=True).json()["count"] == 1
    approved = manager.post(f"/api/billing/refunds/{refund_id}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert Bill.objects.get(pk=bill_of(a).pk).paid_fen == 11678 - 1000
    assert manager.post(f"/api/billing/refunds/{refund_id}/reject").status_code == 422


def test_owners_read_the_monthly_disclosure_of_their_compound_only(district):
    a, b = district.a, district.b
    services.record_fund_movement(actor=a.users["property_manager"], compound=a.compound, fund="public_revenue",
                                  amount_fen=30000, spending=False, memo="广告收入",
                                  at=dt.datetime(2026, 11, 5, tzinfo=SHANGHAI))
    resident = ApiClient(a.users["resident"])
    response = resident.get(f"/api/billing/compounds/{a.compound.pk}/disclosure", year=2026, month=11)
    assert response.status_code == 200, response.content
    funds = {f["kind"]: f for f in response.json()["funds"]}
    assert funds["public_revenue"]["income_fen"] == 30000 and funds["public_revenue"]["closing_fen"] == 30000
    assert resident.get(f"/api/billing/compounds/{b.compound.pk}/disclosure", year=2026, month=11).status_code == 404
    no_month = resident.get(f"/api/billing/compounds/{a.compound.pk}/disclosure", year=2026)
    assert no_month.status_code == 422 and "month" in no_month.json()["error"]["fields"]


def test_billing_lists_take_the_same_queries_for_one_row_or_many(district):
    a = district.a
    manager, resident = ApiClient(a.users["property_manager"]), ApiClient(a.users["resident"])
    urls = ((manager, "/api/billing/fee-items"), (manager, "/api/billing/bills"), (resident, "/api/billing/bills"),
            (manager, "/api/billing/payments"), (manager, "/api/billing/refunds"))

    def queries():
        counts = []
        for client, url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            counts.append(len(ctx.captured_queries))
        return counts

    billed(a, "2026-10")
    cashier = a.users["cashier"]
    from linli.billing import payments

    def pay_and_refund():
        payment = payments.record_cash_payment(actor=cashier, bills=[Bill.objects.filter(house=a.house,
                                                                                          status="open").first()],
                                               amount_fen=100)
        payments.request_refund(actor=cashier, payment=payment, amount_fen=10, reason="测试")

    pay_and_refund()
    queries()  # tokens first used
    few = queries()
    fee = services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="垃圾清运费",
                                   kind="fixed_monthly", amount_fen=800)
    for month in range(1, 7):
        services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=fee,
                           period=f"2026-{month:02d}")
        pay_and_refund()
    assert Payment.objects.count() == 7
    assert queries() == few
    assert max(few) <= 4  # authentication, the count, the page
