"""The phone-and-code pages (the portal's log-in, the console's resident log-in, proving a phone to
bind a house) as people type on a phone: full-width digits and spaces read as typed in ASCII, a code
that can never be one is a form error, and asking for codes is limited per client address too."""

import re

import pytest
from django.test import Client

from linli.core.testing import PHONES
from linli.notify.providers import ConsoleSmsProvider
from linli.web.views.auth import RESIDENT_BACKEND

pytestmark = pytest.mark.django_db
NEW_PHONE = "13500135001"


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _spaced_full_width(code: str) -> str:
    return f"{full_width(code[:3])} {full_width(code[3:])}"


def test_the_portal_log_in_takes_a_phone_and_code_typed_full_width_and_spaced(district):
    ConsoleSmsProvider.sent.clear()
    client = Client()
    asked = client.post("/m/login/", {"step": "phone", "resident-phone": full_width("138 0013 8001")})
    assert asked.status_code == 200 and ConsoleSmsProvider.sent[-1].phone == PHONES["a_owner"]
    code = ConsoleSmsProvider.sent[-1].params["code"]
    answer = client.post("/m/login/", {"step": "code", "code-phone": PHONES["a_owner"],
                                       "code-code": _spaced_full_width(code), "next": "/m/"})
    assert answer.status_code == 302 and answer["Location"] == "/m/"


def test_the_console_resident_log_in_takes_a_spaced_full_width_code_and_refuses_a_non_code(district, settings):
    ConsoleSmsProvider.sent.clear()
    client = Client()
    client.post("/login/", {"tab": "resident", "resident-phone": PHONES["a_owner"]})
    code = ConsoleSmsProvider.sent[-1].params["code"]
    refused = client.post("/login/", {"tab": "code", "code-phone": PHONES["a_owner"], "code-code": "一二三四五六"})
    assert refused.status_code == 400 and "验证码应为6位数字" in refused.content.decode()
    answer = client.post("/login/", {"tab": "code", "code-phone": PHONES["a_owner"],
                                     "code-code": _spaced_full_width(code)})
    if RESIDENT_BACKEND in settings.AUTHENTICATION_BACKENDS:
        assert answer.status_code == 302
    else:
        assert answer.status_code == 400 and "居民登录暂未开通" in answer.content.decode()


def test_proving_a_phone_to_bind_a_house_takes_a_full_width_code(district):
    ConsoleSmsProvider.sent.clear()
    client = Client()
    client.post("/m/bind/", {"step": "phone", "resident-phone": full_width(NEW_PHONE)})
    code = ConsoleSmsProvider.sent[-1].params["code"]
    form = client.post("/m/bind/", {"step": "code", "code-phone": NEW_PHONE, "code-code": _spaced_full_width(code)})
    assert form.status_code == 200 and 'id="bind-form"' in form.content.decode()


def test_a_place_choice_that_is_no_number_reloads_the_binding_form_without_error(district):
    client = Client()
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    for level in ("compound", "building", "unit"):
        answer = client.post("/m/bind/", {"step": "house", "reload": "1", f"bind-{level}": "²"})
        assert answer.status_code == 200 and re.search(r'<select name="bind-house"', answer.content.decode())


def test_asking_for_codes_is_limited_per_client_address(district, settings):
    settings.LOGIN_PER_IP_PER_MINUTE = 2
    ConsoleSmsProvider.sent.clear()
    client = Client(REMOTE_ADDR="198.51.100.4")
    pages = [client.post("/m/login/", {"step": "phone", "resident-phone": phone})
             for phone in ("13500135001", "13500135002", PHONES["a_owner"])]
    assert [p.status_code for p in pages] == [200, 200, 400]
    assert "验证码发送过于频繁" in pages[-1].content.decode() and not ConsoleSmsProvider.sent
    elsewhere = Client(REMOTE_ADDR="198.51.100.5").post("/m/bind/", {"step": "phone", "resident-phone": NEW_PHONE})
    assert elsewhere.status_code == 200 and ConsoleSmsProvider.sent[-1].phone == NEW_PHONE
