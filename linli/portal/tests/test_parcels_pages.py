"""The household's parcel page: waiting parcels with their pickup code and QR, history, and 「我已取件」
for a locker parcel; nothing of a neighbour's parcels."""

import pytest
from django.test import Client

from linli.parcels import services
from linli.parcels.models import Parcel, PickupMethod, Status
from linli.web.views.auth import RESIDENT_BACKEND, STAFF_BACKEND


def resident_client(user) -> Client:
    client = Client()
    client.force_login(user, backend=RESIDENT_BACKEND)
    return client


def register(side, **extra) -> Parcel:
    return services.register_parcel(actor=side.users["guard"], house=side.house, courier="顺丰", position="A-03",
                                    **extra)


@pytest.mark.django_db
def test_a_household_sees_its_waiting_parcel_with_the_code_in_large_type_and_as_a_qr(district):
    parcel = register(district.a, tracking_no="SF1234567890")
    page = resident_client(district.a.users["resident"]).get("/m/parcels/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<p class="code pickup-code" aria-label="取件码">{parcel.pickup_code}</p>' in html
    assert "<svg" in html and "A-03" in html and "顺丰" in html and "7890" in html
    assert "SF1234567890" not in html  # only the last four digits are kept
    assert "已等待 0 天" in html
    assert "我已取件" not in html  # a booth parcel is handed over against the code, not self-confirmed


@pytest.mark.django_db
def test_the_parcel_list_costs_the_same_queries_for_one_parcel_or_many(district, django_assert_max_num_queries):
    register(district.a)
    client = resident_client(district.a.users["resident"])
    client.get("/m/parcels/")  # session and language settle on the first request
    with django_assert_max_num_queries(12) as one:
        assert client.get("/m/parcels/").status_code == 200
    for _ in range(4):
        register(district.a)
    picked = register(district.a)
    services.confirm_pickup(actor=district.a.users["guard"], parcel=picked, pickup_code=picked.pickup_code)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get("/m/parcels/").status_code == 200


@pytest.mark.django_db
def test_a_neighbours_parcel_is_neither_listed_nor_reachable(district):
    mine, theirs = register(district.a), register(district.b)
    client = resident_client(district.a.users["resident"])
    html = client.get("/m/parcels/").content.decode()
    assert f"parcel-{mine.pk}" in html and f"parcel-{theirs.pk}" not in html
    answer = client.post(f"/m/parcels/{theirs.pk}/picked-up/")
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.WAITING


@pytest.mark.django_db
def test_a_household_confirms_it_took_a_locker_parcel_and_finds_it_in_its_history(district):
    parcel = services.register_from_locker(compound_id=district.a.compound.pk, device_code=district.a.device.code,
                                           house_id=district.a.house.pk, locker_code="4417", box="柜2-08",
                                           message_id="m-1")
    client = resident_client(district.a.users["resident"])
    html = client.get("/m/parcels/").content.decode()
    assert "我已取件" in html and "4417" in html and "柜2-08" in html
    answer = client.post(f"/m/parcels/{parcel.pk}/picked-up/")
    assert answer.status_code == 302 and answer["Location"] == "/m/parcels/"
    parcel.refresh_from_db()
    assert parcel.status == Status.PICKED_UP and parcel.pickup_method == PickupMethod.RESIDENT_CONFIRMED
    html = client.get("/m/parcels/").content.decode()
    assert "已确认取件" in html
    history = html.split('id="history"')[1]
    assert f"parcel-{parcel.pk}" in history and "已取件" in history
    again = client.post(f"/m/parcels/{parcel.pk}/picked-up/", follow=True)
    assert "该快递已取件或已退回" in again.content.decode()


@pytest.mark.django_db
def test_staff_and_strangers_are_sent_to_log_in_for_the_parcel_page(district):
    assert Client().get("/m/parcels/")["Location"].startswith("/m/login/")
    staff = Client()
    staff.force_login(district.a.users["guard"], backend=STAFF_BACKEND)
    assert staff.get("/m/parcels/")["Location"].startswith("/m/login/")
