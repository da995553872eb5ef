"""A one-time code survives four wrong guesses and is spent by the fifth: the count is kept even
though every wrong guess is refused."""

import pytest

from linli.accounts import services
from linli.accounts.models import OneTimeCode
from linli.core.errors import Forbidden
from linli.core.testing import PHONES
from linli.notify.providers import ConsoleSmsProvider


def _code(phone: str) -> str:
    ConsoleSmsProvider.sent.clear()
    services.request_login_code(phone=phone)
    return ConsoleSmsProvider.sent[-1].params["code"]


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.django_db
def test_the_fifth_wrong_code_spends_the_code_so_even_the_right_one_is_refused(district):
    phone = PHONES["a_owner"]
    code = _code(phone)
    for _ in range(5):
        with pytest.raises(Forbidden, match="验证码错误"):
            services.verify_login_code(phone=phone, code=_wrong(code))
    assert OneTimeCode.objects.get().attempts == 5
    with pytest.raises(Forbidden, match="无效或已过期"):
        services.verify_login_code(phone=phone, code=code)


@pytest.mark.django_db
def test_after_four_wrong_guesses_the_right_code_still_logs_in_once(district):
    phone = PHONES["a_owner"]
    code = _code(phone)
    for _ in range(4):
        with pytest.raises(Forbidden):
            services.verify_login_code(phone=phone, code=_wrong(code))
    assert services.verify_login_code(phone=phone, code=code) == district.a.users["resident"]
    with pytest.raises(Forbidden):
        services.verify_login_code(phone=phone, code=code)
