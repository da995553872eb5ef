"""Phone-number log-in for residents: ask for a code, type it in, land on the page asked for."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from linli.accounts import services as accounts
from linli.core.errors import Forbidden
from linli.portal import services
from linli.portal.views.me import remember_preferences
from linli.web.forms.auth import ResidentCodeForm, ResidentPhoneForm
from linli.web.views.auth import RESIDENT_BACKEND
from linli.web.views.common import apply_error


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
    step = request.POST.get("step", "phone")
    phone_form = ResidentPhoneForm(prefix="resident")
    code_form = None
    notice = ""
    if request.method == "POST" and step == "phone":
        phone_form = ResidentPhoneForm(request.POST, prefix="resident")
        if phone_form.is_valid():
            try:
                accounts.request_login_code(phone=phone_form.cleaned_data["phone"])
            except (ValidationError, Forbidden) as exc:
                _refuse(phone_form, exc)
            else:
                # The same answer whether or not the number is registered: nobody can probe for residents.
                notice = _("如果该手机号已登记，验证码已发送")
                code_form = ResidentCodeForm(prefix="code", initial={"phone": phone_form.cleaned_data["phone"]})
    elif request.method == "POST" and step == "code":
        code_form = ResidentCodeForm(request.POST, prefix="code")
        if code_form.is_valid():
            try:
                user = accounts.verify_login_code(**code_form.cleaned_data)
            except (ValidationError, Forbidden) as exc:
                _refuse(code_form, exc)
            else:
                auth.login(request, user, backend=RESIDENT_BACKEND)
                return _welcome(request, user)
    refused = any(f is not None and f.is_bound and f.errors for f in (phone_form, code_form))
    context = {"phone_form": phone_form, "code_form": code_form, "notice": notice, "next": _next_url(request),
               "hide_tabs": True}
    return render(request, "portal/login.html", context, status=400 if refused else 200)


def _welcome(request, user):
    """Carry the resident's stored preferences into this session: elderly mode and language."""
    preference = services.preference_of(user)
    remember_preferences(request, preference)
    answer = redirect(_next_url(request))
    if preference.language:
        answer.set_cookie(settings.LANGUAGE_COOKIE_NAME, preference.language, max_age=settings.LANGUAGE_COOKIE_AGE,
                          path=settings.LANGUAGE_COOKIE_PATH, samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    return answer


def _refuse(form, exc) -> None:
    if isinstance(exc, Forbidden):
        form.add_error(None, str(exc))
    else:
        apply_error(form, exc)


@require_POST
def logout(request):
    auth.logout(request)
    return redirect(reverse("portal:login"))
