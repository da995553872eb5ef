"""What a guard types at the booth with a Chinese input method (full-width digits and letters, spaces):
pickup codes, visitor codes and house numbers read as typed in ASCII; what can never be a code is a
form error on the page, never a server error."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from linli.parcels import services as parcels
from linli.parcels.models import Status
from linli.visitors import services as visitors
from linli.visitors.models import Visit, VisitStatus
from linli.web.views.auth import STAFF_BACKEND

pytestmark = pytest.mark.django_db


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def guard_client(district) -> Client:
    client = Client()
    client.force_login(district.a.users["guard"], backend=STAFF_BACKEND)
    return client


def test_a_pickup_code_typed_full_width_and_spaced_hands_the_parcel_over(district):
    parcel = parcels.register_parcel(actor=district.a.users["guard"], house=district.a.house)
    typed = f"{full_width(parcel.pickup_code[:3])} {full_width(parcel.pickup_code[3:])}"
    handed = guard_client(district).post(f"/m/booth/parcels/{parcel.pk}/pickup/", {"pickup_code": typed})
    assert handed.status_code == 302
    parcel.refresh_from_db()
    assert parcel.status == Status.PICKED_UP


def test_a_pickup_code_that_can_never_be_one_is_a_form_error(district):
    parcel = parcels.register_parcel(actor=district.a.users["guard"], house=district.a.house)
    refused = guard_client(district).post(f"/m/booth/parcels/{parcel.pk}/pickup/", {"pickup_code": "一二三四五六"})
    assert refused.status_code == 400 and "取件码格式不正确" in refused.content.decode()
    parcel.refresh_from_db()
    assert parcel.status == Status.WAITING and parcel.failed_code_attempts == 0


def test_a_visitor_code_typed_full_width_admits_and_a_non_code_is_a_form_error(district):
    now = timezone.now()
    _invitation, code = visitors.invite(actor=district.a.users["resident"], house=district.a.house,
                                        visitor_name="张三", starts_at=now - dt.timedelta(minutes=1),
                                        ends_at=now + dt.timedelta(hours=4))
    client = guard_client(district)
    refused = client.post("/m/booth/check/", {"code": "访客一二三"})
    assert refused.status_code == 400 and "邀请码格式不正确" in refused.content.decode()
    admitted = client.post("/m/booth/check/", {"code": f"{full_width(code[:10])} {code[10:]}"})
    assert admitted.status_code == 200 and "允许进入" in admitted.content.decode()
    assert Visit.objects.get().status == VisitStatus.ADMITTED


def test_a_house_number_typed_full_width_finds_the_waiting_parcels_and_odd_digits_are_no_error(district):
    mine = parcels.register_parcel(actor=district.a.users["guard"], house=district.a.house)
    client = guard_client(district)
    assert f"parcel-{mine.pk}" in client.get("/m/booth/parcels/", {"q": "５０１"}).content.decode()
    # "²" counts as a digit to str.isdigit() but is no number: the picker ignores it.
    for param in ("house", "building", "unit"):
        assert client.get("/m/booth/parcels/new/", {param: "²"}).status_code == 200
        assert client.get("/m/booth/parcels/", {param: "²"}).status_code == 200
