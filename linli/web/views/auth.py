"""Log in (staff password, or a resident's phone and one-time code) and log out."""

from __future__ import annotations

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


@sensitive_post_parameters("password", "phone", "code")
@csrf_protect
@never_cache
def login(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_next_url(request))
    tab = request.POST.get("tab") or request.GET.get("tab") or "staff"
    staff_form = StaffLoginForm(prefix="staff")
    phone_form = ResidentPhoneForm(prefix="resident")
    code_form = None
    notice = ""
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
    elif request.method == "POST" and tab == "resident":
        phone_form = ResidentPhoneForm(request.POST, prefix="resident")
        if phone_form.is_valid():
            try:
                accounts.request_login_code(phone=phone_form.cleaned_data["phone"])
            except (ValidationError, Forbidden) as exc:
                _refuse(phone_form, exc)
            else:
                # Same answer whether or not the phone is known, so nobody can probe for residents.
                notice = _("如果该手机号已登记，验证码已发送")
                code_form = ResidentCodeForm(prefix="code", initial={"phone": phone_form.cleaned_data["phone"]})
    elif request.method == "POST" and tab == "code":
        code_form = ResidentCodeForm(request.POST, prefix="code")
        if code_form.is_valid():
            try:
                user = accounts.verify_login_code(**code_form.cleaned_data)
            except (ValidationError, Forbidden) as exc:
                _refuse(code_form, exc)
            else:
                backend = backend_for(user)
                if backend is None:
                    code_form.add_error(None, _("居民登录暂未开通"))
                else:
                    auth.login(request, user, backend=backend)
                    return redirect(_next_url(request))
        tab = "resident"
    if tab == "code":
        tab = "resident"
    context = {"tab": tab, "staff_form": staff_form, "phone_form": phone_form, "code_form": code_form,
               "notice": notice, "next": _next_url(request)}
    refused = any(f is not None and f.is_bound and f.errors for f in (staff_form, phone_form, code_form))
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
