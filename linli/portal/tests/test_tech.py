"""A technician works orders from their phone: takes one from the grab pool, starts it, completes it
with photos (and the price of a paid repair) or returns it; other compounds' orders are out of reach."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.core.testing import PHONES
from linli.portal.tests.test_repairs import plumbing, report, resident_client, staff_client, upload


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def accepted(side, category, **kwargs):
    from linli.workorders import services

    return services.accept(actor=side.users["property_manager"], order=report(side, category, **kwargs))


@pytest.mark.django_db
def test_a_technician_grabs_starts_and_completes_an_order_with_a_photo(district):
    from linli.workorders.models import Status, WorkOrder

    a = district.a
    order = accepted(a, plumbing(a))
    tech = staff_client(a.users["technician"])
    home = tech.get("/m/tech/").content.decode()
    pool = home.split('id="grab-pool"')[1]
    assert "厨房水管漏水" in pool and f"/m/tech/orders/{order.pk}/" in pool

    page = tech.get(f"/m/tech/orders/{order.pk}/").content.decode()
    assert 'id="do-grab"' in page and a.house.number in page
    assert PHONES["a_owner"] not in page
    tech.post(f"/m/tech/orders/{order.pk}/grab/")
    assert 'id="do-start"' in tech.get(f"/m/tech/orders/{order.pk}/").content.decode()
    assert f"/m/tech/orders/{order.pk}/" in tech.get("/m/tech/").content.decode().split('id="my-work"')[1]
    tech.post(f"/m/tech/orders/{order.pk}/start/")
    answer = tech.post(f"/m/tech/orders/{order.pk}/complete/", {"note": "更换了水管接头", "photos": [upload()]})
    assert answer.status_code == 302 and answer["Location"] == f"/m/tech/orders/{order.pk}/"

    order = WorkOrder.objects.get(pk=order.pk)
    assert order.status == Status.DONE and order.assignee_id == a.users["technician"].pk
    assert len(order.photos) == 1
    assert [s.action for s in order.steps.order_by("id")] == ["submit", "accept", "grab", "start", "complete"]
    photo = tech.get(f"/m/tech/orders/{order.pk}/photos/completion/0/")
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
    resident = resident_client(a.users["resident"])
    assert resident.get(f"/m/repairs/{order.pk}/photos/completion/0/").status_code == 200


@pytest.mark.django_db
def test_the_contact_phone_is_shown_masked_only(district):
    from linli.workorders import services

    a = district.a
    order = services.submit(actor=a.users["resident"], compound=a.compound, category=plumbing(a), title="漏水",
                            house=a.house, contact_phone=PHONES["a_owner"])
    page = staff_client(a.users["technician"]).get(f"/m/tech/orders/{order.pk}/").content.decode()
    assert "138****8001" in page and PHONES["a_owner"] not in page


@pytest.mark.django_db
def test_a_paid_repair_needs_a_price_in_yuan_that_is_kept_in_fen(district):
    from linli.workorders import services
    from linli.workorders.models import Status, WorkOrder

    a = district.a
    category = plumbing(a, dispatch_mode="assign", paid=True, code="paid-plumbing", name="有偿维修")
    order = accepted(a, category)
    services.assign(actor=a.users["property_manager"], order=order, assignee=a.users["technician"])
    services.start(actor=a.users["technician"], order=order)
    tech = staff_client(a.users["technician"])
    assert 'id="id_price"' in tech.get(f"/m/tech/orders/{order.pk}/").content.decode()
    for wrong in ("", "12.345", "-1", "abc"):
        refused = tech.post(f"/m/tech/orders/{order.pk}/complete/", {"price": wrong}, follow=True)
        assert "msg-error" in refused.content.decode()
        assert WorkOrder.objects.get(pk=order.pk).status == Status.IN_PROGRESS
    tech.post(f"/m/tech/orders/{order.pk}/complete/", {"price": "35.5"})
    order = WorkOrder.objects.get(pk=order.pk)
    assert (order.status, order.price_fen) == (Status.DONE, 3550)


@pytest.mark.django_db
def test_a_technician_returns_an_order_with_a_reason_and_it_goes_back_to_the_pool(district):
    from linli.workorders.models import Status, WorkOrder

    a = district.a
    order = accepted(a, plumbing(a))
    tech = staff_client(a.users["technician"])
    tech.post(f"/m/tech/orders/{order.pk}/grab/")
    without = tech.post(f"/m/tech/orders/{order.pk}/return/", {"note": ""}, follow=True)
    assert "请填写退回原因" in without.content.decode()
    answer = tech.post(f"/m/tech/orders/{order.pk}/return/", {"note": "缺少配件"})
    assert answer["Location"] == "/m/tech/"
    order = WorkOrder.objects.get(pk=order.pk)
    assert order.status == Status.ACCEPTED and order.assignee_id is None


@pytest.mark.django_db
def test_another_compounds_technician_finds_nothing_and_residents_are_sent_to_the_staff_login(district):
    a, b = district.a, district.b
    order = accepted(a, plumbing(a))
    other = staff_client(b.users["technician"])
    assert other.get(f"/m/tech/orders/{order.pk}/").status_code == 404
    assert other.post(f"/m/tech/orders/{order.pk}/grab/").status_code == 404
    assert other.get(f"/m/tech/orders/{order.pk}/photos/report/0/").status_code == 404
    assert "厨房水管漏水" not in other.get("/m/tech/").content.decode()
    resident = resident_client(a.users["resident"]).get("/m/tech/")
    assert resident.status_code == 302 and resident["Location"].startswith("/login/")
    assert Client().get("/m/tech/")["Location"].startswith("/login/")
    assert staff_client(a.users["technician"]).post(f"/m/tech/orders/{order.pk}/nonsense/").status_code == 302


@pytest.mark.django_db
def test_the_technicians_home_lists_work_and_pool_in_a_fixed_number_of_queries(district,
                                                                               django_assert_max_num_queries):
    from linli.workorders import services

    a = district.a
    category = plumbing(a)
    orders = [accepted(a, category, title=f"报修{i}") for i in range(6)]
    for order in orders[:3]:
        services.grab(actor=a.users["technician"], order=order)
    tech = staff_client(a.users["technician"])
    with django_assert_max_num_queries(12):
        page = tech.get("/m/tech/")
    html = page.content.decode()
    mine, pool = html.split('id="grab-pool"')
    assert mine.count("/m/tech/orders/") == 3 and pool.count("/m/tech/orders/") == 3

