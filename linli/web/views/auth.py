"""Log in (staff password, or a resident's phone and one-time code) and log out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from linli.accounts import services as accounts
from linli.accounts.models import AccountKind
from linli.core.errors import Forbidden
from linli.web.forms.auth import ResidentCodeForm, ResidentPhoneForm, StaffLoginForm
from linli.web.views.common import apply_error

STAFF_BACKEND = "linli.accounts.backends.StaffPasswordBackend"
# StaffPasswordBackend will not reload a resident from the session, so residents need a backend of
# their own (proposed for linli/accounts/backends.py); until settings list it, resident log-in is refused.
RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"


def backend_for(user) -> str | None:
    """The backend a session for `user` is stored under; None when no configured backend keeps it."""
    if user.kind != AccountKind.RESIDENT:
        return STAFF_BACKEND
    return RESIDENT_BACKEND if RESIDENT_BACKEND in settings.AUTHENTICATION_BACKENDS else None


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@dataclass
class PhoneCode:
    """The two steps of proving a phone (number, then the code sent to it), as forms to show."""

    phone_form: ResidentPhoneForm
    code_form: ResidentCodeForm | None = None
    notice: str = ""
    verified: Any = None  # what `verify` returned once the code was right

    @property
    def refused(self) -> bool:
        return any(f is not None and f.is_bound and bool(f.errors) for f in (self.phone_form, self.code_form))


def phone_code_step(request, step: str, *, send: Callable[..., Any], verify: Callable[..., Any],
                    sent_notice: str) -> PhoneCode:
    """One round of the phone → code exchange for the resident log-in and for proving a phone when
    binding a house: `step` is "phone" (send a code) or "code" (check it)."""
    result = PhoneCode(ResidentPhoneForm(prefix="resident"))
    if request.method != "POST":
        return result
    if step == "phone":
        result.phone_form = ResidentPhoneForm(request.POST, prefix="resident")
        if result.phone_form.is_valid():
            try:
                send(phone=result.phone_form.cleaned_data["phone"], client_ip=request.META.get("REMOTE_ADDR", ""))
            except (ValidationError, Forbidden) as exc:
                _refuse(result.phone_form, exc)
            else:
                result.notice = sent_notice
                result.code_form = ResidentCodeForm(prefix="code",
                                                    initial={"phone": result.phone_form.cleaned_data["phone"]})
    elif step == "code":
        result.code_form = ResidentCodeForm(request.POST, prefix="code")
        if result.code_form.is_valid():
            try:
                result.verified = verify(**result.code_form.cleaned_data)
            except (ValidationError, Forbidden) as exc:
                _refuse(result.code_form, exc)
    return result


@sensitive_post_parameters("password", "phone", "code")
@csrf_protect
@never_cache
def login(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_next_url(request))
    tab = request.POST.get("tab") or request.GET.get("tab") or "staff"
    staff_form = StaffLoginForm(prefix="staff")
    if request.method == "POST" and tab == "staff":
        staff_form = StaffLoginForm(request.POST, prefix="staff")
        if staff_form.is_valid():
            try:
                user = accounts.password_login(request, **staff_form.cleaned_data)
            except Forbidden as exc:
                staff_form.add_error(None, str(exc))
            else:
                auth.login(request, user, backend=STAFF_BACKEND)
                return redirect(_next_url(request))
    # Same answer whether or not the phone is known, so nobody can probe for residents.
    codes = phone_code_step(request, {"resident": "phone", "code": "code"}.get(tab, ""),
                            send=accounts.request_login_code, verify=accounts.verify_login_code,
                            sent_notice=_("如果该手机号已登记，验证码已发送"))
    if codes.verified is not None:
        backend = backend_for(codes.verified)
        if backend is None:
            codes.code_form.add_error(None, _("居民登录暂未开通"))
        else:
            auth.login(request, codes.verified, backend=backend)
            return redirect(_next_url(request))
    if tab == "code":
        tab = "resident"
    context = {"tab": tab, "staff_form": staff_form, "phone_form": codes.phone_form, "code_form": codes.code_form,
               "notice": codes.notice, "next": _next_url(request)}
    refused = (staff_form.is_bound and bool(staff_form.errors)) or codes.refused
    status = 400 if refused else 200
    return render(request, "web/auth/login.html", context, status=status)


def _refuse(form, exc) -> None:
    if isinstance(exc, Forbidden):
        form.add_error(None, str(exc))
    else:
        apply_error(form, exc)


@require_POST
def logout(request):
    auth.logout(request)
    return redirect(settings.LOGIN_URL)
