"""Staff log in with a password (locked after repeated failures); residents with phone and code."""

import pytest
from django.conf import settings
from django.urls import reverse

from linli.core.testing import PASSWORD, PHONES
from linli.notify.providers import ConsoleSmsProvider
from linli.web.views.auth import RESIDENT_BACKEND


def staff_login(client, username, password, **extra):
    return client.post(reverse("web:login"), {"tab": "staff", "staff-username": username,
                                              "staff-password": password, **extra})


def test_staff_log_in_and_land_where_they_were_going(client, district):
    response = client.get(reverse("web:house_list"))
    assert response.status_code == 302
    login_page = client.get(response["Location"])
    assert login_page.status_code == 200 and "获取验证码" not in login_page.content.decode()
    response = staff_login(client, "property_manager_a", PASSWORD, next=reverse("web:house_list"))
    assert response.status_code == 302 and response["Location"] == reverse("web:house_list")
    page = client.get(reverse("web:home")).content.decode()
    assert "property_manager_a" in page and "物业经理" in page


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_account(client, district, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    response = staff_login(client, "guard_a", "wrong-password")
    assert response.status_code == 400 and "用户名或密码错误" in response.content.decode()
    staff_login(client, "guard_a", "wrong-password")
    locked = staff_login(client, "guard_a", PASSWORD)
    assert locked.status_code == 400 and "账号已暂时锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_offsite_next_is_ignored(client, district):
    response = staff_login(client, "guard_a", PASSWORD, next="https://evil.example/")
    assert response["Location"] == settings.LOGIN_REDIRECT_URL


def test_logout_is_a_post(client_for, district):
    client = client_for(district.a.users["guard"])
    assert client.get(reverse("web:logout")).status_code == 405
    assert client.post(reverse("web:logout"))["Location"] == settings.LOGIN_URL
    assert client.get(reverse("web:home")).status_code == 302


def test_a_resident_asks_for_a_code_and_logs_in_with_it(client, district):
    ConsoleSmsProvider.sent.clear()
    page = client.get(reverse("web:login"), {"tab": "resident"}).content.decode()
    assert "获取验证码" in page
    response = client.post(reverse("web:login"), {"tab": "resident", "resident-phone": PHONES["a_owner"]})
    assert response.status_code == 200 and "验证码已发送" in response.content.decode()
    code = ConsoleSmsProvider.sent[-1].params["code"]
    wrong = client.post(reverse("web:login"), {"tab": "code", "code-phone": PHONES["a_owner"], "code-code": "000000"
                                               if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "验证码错误" in wrong.content.decode()
    response = client.post(reverse("web:login"), {"tab": "code", "code-phone": PHONES["a_owner"], "code-code": code})
    if RESIDENT_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        assert response.status_code == 400 and "居民登录暂未开通" in response.content.decode()
        pytest.skip("resident sessions need linli.accounts.backends.ResidentCodeBackend in settings")
    assert response.status_code == 302
    assert client.get(reverse("web:home")).status_code == 200


def test_an_unknown_phone_gets_the_same_answer_and_a_bad_one_an_error(client, district):
    ConsoleSmsProvider.sent.clear()
    response = client.post(reverse("web:login"), {"tab": "resident", "resident-phone": "13711112222"})
    assert "验证码已发送" in response.content.decode()
    assert list(ConsoleSmsProvider.sent) == []
    bad = client.post(reverse("web:login"), {"tab": "resident", "resident-phone": "12345"})
    assert bad.status_code == 400 and "手机号码应为11位" in bad.content.decode()
