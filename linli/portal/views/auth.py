"""Phone-number log-in for residents: ask for a code, type it in, land on the page asked for."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from linli.accounts import services as accounts
from linli.portal import services
from linli.portal.views.me import remember_preferences
from linli.web.views.auth import RESIDENT_BACKEND, phone_code_step


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("portal:home")


@sensitive_post_parameters("phone", "code")
@csrf_protect
@never_cache
def login(request):
    codes = phone_code_step(request, request.POST.get("step", "phone"), send=accounts.request_login_code,
                            verify=accounts.verify_login_code,
                            # The same answer whether or not the number is registered: nobody can probe.
                            sent_notice=_("如果该手机号已登记，验证码已发送"))
    if codes.verified is not None:
        auth.login(request, codes.verified, backend=RESIDENT_BACKEND)
        return _welcome(request, codes.verified)
    context = {"phone_form": codes.phone_form, "code_form": codes.code_form, "notice": codes.notice,
               "next": _next_url(request), "hide_tabs": True}
    return render(request, "portal/login.html", context, status=400 if codes.refused else 200)


def _welcome(request, user):
    """Carry the resident's stored preferences into this session: elderly mode and language."""
    preference = services.preference_of(user)
    remember_preferences(request, preference)
    answer = redirect(_next_url(request))
    if preference.language:
        answer.set_cookie(settings.LANGUAGE_COOKIE_NAME, preference.language, max_age=settings.LANGUAGE_COOKIE_AGE,
                          path=settings.LANGUAGE_COOKIE_PATH, samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    return answer


@require_POST
def logout(request):
    auth.logout(request)
    return redirect(reverse("portal:login"))
