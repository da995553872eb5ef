"""A resident logs in to the portal with their phone and a one-time code; others are turned away."""

import pytest
from django.test import Client

from linli.core.testing import PHONES
from linli.notify.providers import ConsoleSmsProvider


@pytest.mark.django_db
def test_a_resident_logs_in_with_a_code_and_sees_their_house(district):
    ConsoleSmsProvider.sent.clear()
    client = Client()
    assert client.get("/m/").status_code == 302
    page = client.post("/m/login/", {"step": "phone", "resident-phone": PHONES["a_owner"]})
    assert page.status_code == 200
    code = ConsoleSmsProvider.sent[-1].params["code"]
    answer = client.post("/m/login/", {"step": "code", "code-phone": PHONES["a_owner"], "code-code": code,
                                       "next": "/m/"})
    assert answer.status_code == 302 and answer["Location"] == "/m/"
    home = client.get("/m/")
    assert home.status_code == 200
    assert district.a.house.number in home.content.decode()


@pytest.mark.django_db
def test_a_wrong_code_is_refused_with_a_reason_and_no_session(district):
    ConsoleSmsProvider.sent.clear()
    client = Client()
    client.post("/m/login/", {"step": "phone", "resident-phone": PHONES["a_owner"]})
    code = ConsoleSmsProvider.sent[-1].params["code"]
    wrong = "000000" if code != "000000" else "111111"
    answer = client.post("/m/login/", {"step": "code", "code-phone": PHONES["a_owner"], "code-code": wrong})
    assert answer.status_code == 400
    assert "验证码错误" in answer.content.decode()
    assert client.get("/m/").status_code == 302


@pytest.mark.django_db
def test_staff_on_a_phone_land_on_their_own_work_and_not_on_resident_pages(district, client):
    client.force_login(district.a.users["technician"], backend="linli.accounts.backends.StaffPasswordBackend")
    assert client.get("/m/")["Location"] == "/m/tech/"
    answer = client.get("/m/repairs/")
    assert answer.status_code == 302 and answer["Location"].startswith("/m/login/")
    client.force_login(district.a.users["guard"], backend="linli.accounts.backends.StaffPasswordBackend")
    assert client.get("/m/")["Location"] == "/m/booth/"
