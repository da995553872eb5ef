"""Asking for a log-in code never tells a registered phone from an unknown one: the same answers, the
same limits (per phone whether registered or not, and per client address), the same refusal of a
wrong code. And a code or phone typed with full-width digits or spaces reads as typed in ASCII."""

import pytest
from django.core.cache import cache
from django.test import Client

from linli.accounts import services
from linli.accounts.models import OneTimeCode
from linli.core.errors import Forbidden
from linli.core.testing import PHONES
from linli.notify.providers import ConsoleSmsProvider

pytestmark = pytest.mark.django_db
UNKNOWN = "13500135009"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    ConsoleSmsProvider.sent.clear()
    yield
    cache.clear()


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _answers(phone: str, times: int, ip: str = "192.0.2.1") -> list[tuple[int, str]]:
    client = Client(REMOTE_ADDR=ip)
    out = []
    for _ in range(times):
        answer = client.post("/api/auth/code", {"phone": phone}, content_type="application/json")
        out.append((answer.status_code, answer.content.decode()))
    return out


def test_a_registered_and_an_unknown_phone_get_the_same_answers_however_often_they_ask(district, settings):
    settings.OTP_PER_HOUR = 3
    registered = _answers(PHONES["a_owner"], 5, ip="192.0.2.1")
    unknown = _answers(UNKNOWN, 5, ip="192.0.2.2")
    assert registered == unknown
    assert [status for status, _body in registered] == [202, 403, 403, 403, 403]
    assert [m.phone for m in ConsoleSmsProvider.sent] == [PHONES["a_owner"]]  # only the registered one gets it


def test_code_requests_are_limited_per_client_address_whatever_the_phones(district, settings):
    settings.LOGIN_PER_IP_PER_MINUTE = 2
    client = Client(REMOTE_ADDR="192.0.2.7")
    statuses = [client.post("/api/auth/code", {"phone": phone}, content_type="application/json").status_code
                for phone in ("13500135001", "13500135002", "13500135003", PHONES["a_owner"])]
    assert statuses == [202, 202, 403, 403]
    assert list(ConsoleSmsProvider.sent) == []  # the registered phone's turn came after the limit
    other = Client(REMOTE_ADDR="192.0.2.8").post("/api/auth/code", {"phone": PHONES["a_owner"]},
                                                 content_type="application/json")
    assert other.status_code == 202 and len(ConsoleSmsProvider.sent) == 1


def test_a_wrong_code_is_refused_alike_for_a_registered_and_an_unknown_phone(district):
    refusals = []
    for phone, ip in ((PHONES["a_owner"], "192.0.2.1"), (UNKNOWN, "192.0.2.2")):
        client = Client(REMOTE_ADDR=ip)
        client.post("/api/auth/code", {"phone": phone}, content_type="application/json")
        answer = client.post("/api/auth/code/token", {"phone": phone, "code": "000000"},
                             content_type="application/json")
        refusals.append((answer.status_code, answer.content.decode()))
    if ConsoleSmsProvider.sent[-1].params["code"] == "000000":
        pytest.skip("the drawn code happened to be 000000")
    assert refusals[0] == refusals[1] and refusals[0][0] == 403


def test_a_code_and_phone_typed_full_width_and_spaced_log_in(district):
    client = Client(REMOTE_ADDR="192.0.2.1")
    asked = client.post("/api/auth/code", {"phone": full_width("138 0013 8001")}, content_type="application/json")
    assert asked.status_code == 202 and ConsoleSmsProvider.sent[-1].phone == PHONES["a_owner"]
    code = ConsoleSmsProvider.sent[-1].params["code"]
    typed = f"{full_width(code[:3])}\u3000{full_width(code[3:])}"
    answer = client.post("/api/auth/code/token", {"phone": full_width(PHONES["a_owner"]), "code": typed},
                         content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["token"]


@pytest.mark.parametrize("typed", ["一二三四五六", "١٢٣٤٥٦", "12345"])
def test_a_code_that_can_never_be_one_is_a_422_naming_the_field_and_costs_no_attempt(district, typed):
    Client(REMOTE_ADDR="192.0.2.1").post("/api/auth/code", {"phone": PHONES["a_owner"]},
                                         content_type="application/json")
    answer = Client().post("/api/auth/code/token", {"phone": PHONES["a_owner"], "code": typed},
                           content_type="application/json")
    assert answer.status_code == 422 and list(answer.json()["error"]["fields"]) == ["code"]
    assert OneTimeCode.objects.get().attempts == 0


def test_the_services_read_typed_codes_alike(district):
    services.request_login_code(phone=PHONES["a_owner"])
    code = ConsoleSmsProvider.sent[-1].params["code"]
    assert services.verify_login_code(phone=full_width(PHONES["a_owner"]), code=full_width(code)) == \
        district.a.users["resident"]
    with pytest.raises(Forbidden):
        services.verify_login_code(phone=PHONES["a_owner"], code=code)  # spent
