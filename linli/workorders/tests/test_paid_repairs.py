"""Paid repairs (有偿维修): completing one for a house bills the house once, however often the order
is reopened and completed again; free work, a zero price or a job with no house bill nobody."""

from __future__ import annotations

import pytest

from linli.billing.models import Bill
from linli.core.tests.apiclient import ApiClient
from linli.workorders import services
from linli.workorders.models import WorkOrder
from linli.workorders.tests.factories import category, leaking_pipe

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


def _to_work(district, order):
    a = district.a
    services.accept(actor=a.users["customer_service"], order=order)
    services.assign(actor=a.users["customer_service"], order=order, assignee=a.users["technician"])
    services.start(actor=a.users["technician"], order=order)


def test_a_paid_repair_bills_the_house_once_even_when_reopened_and_completed_again(district):
    a = district.a
    tech, resident = a.users["technician"], a.users["resident"]
    order = leaking_pipe(district, category(district, code="paid", name="有偿维修", paid=True))
    _to_work(district, order)
    done = services.complete(actor=tech, order=order, price_fen=8000)
    bill = Bill.objects.get(source=f"workorder:{order.pk}")
    assert done.bill_id == bill.pk and bill.house_id == a.house.pk and bill.charges_fen == 8000
    shown = ApiClient(resident).get(f"/api/workorders/{order.pk}").json()
    assert shown["bill_id"] == bill.pk and shown["price_fen"] == 8000
    assert ApiClient(resident).get(f"/api/billing/bills/{bill.pk}").status_code == 200

    services.reopen(actor=resident, order=order, reason="又漏了")
    reopened = WorkOrder.objects.get(pk=order.pk)  # back to accepted, unassigned
    services.assign(actor=a.users["customer_service"], order=reopened, assignee=tech)
    services.start(actor=tech, order=reopened)
    again = services.complete(actor=tech, order=WorkOrder.objects.get(pk=order.pk), price_fen=8000)
    assert again.bill_id == bill.pk
    assert Bill.objects.filter(source=f"workorder:{order.pk}").count() == 1
    assert Bill.objects.filter(house=a.house, charges_fen=8000).count() == 1


def test_free_work_a_zero_price_and_a_job_without_a_house_bill_nobody(district):
    a = district.a
    tech = a.users["technician"]
    paid = category(district, code="paid", name="有偿维修", paid=True)
    free_of_charge = leaking_pipe(district, paid)
    no_house = services.submit(actor=a.users["customer_service"], compound=a.compound, category=paid,
                               title="小区大门维修", place="东门")
    free = leaking_pipe(district, category(district))
    for order, price in ((free_of_charge, 0), (no_house, 5000), (free, None)):
        _to_work(district, order)
        assert services.complete(actor=tech, order=order, price_fen=price).bill_id is None
    assert not Bill.objects.filter(source__startswith="workorder:").exists()
