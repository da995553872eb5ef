"""House binding (绑定房屋): prove a phone with a code, pick the house, claim a role, agree to the privacy
notice; staff of the compound verify the request in the console. A logged-in resident binds another house."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from linli.accounts import services as accounts
from linli.core import crypto
from linli.core.errors import Conflict
from linli.core.masking import mask_phone
from linli.people.models import PHONE_CONTEXT
from linli.places.models import House
from linli.portal import selectors, services
from linli.portal.forms import BindingForm
from linli.portal.views.common import is_resident, resident_required, tabs
from linli.web.views.auth import phone_code_step
from linli.web.views.common import apply_error

# The proved phone waits in the session, sealed, for this long while the applicant fills the form.
PROVED_KEY = "portal_bind_phone"
PROVED_SECONDS = 30 * 60


def _proved_phone(request) -> str:
    if is_resident(request.user):
        person = request.user.person
        return person.phone_plain() if person is not None else ""
    proved = request.session.get(PROVED_KEY)
    if not proved or proved.get("until", 0) < time.time():
        return ""
    return crypto.decrypt(proved["cipher"], context=PHONE_CONTEXT)


def _prove_phone(request):
    """The phone and code steps; returns a response while the phone is not proved yet, else None."""
    codes = phone_code_step(request, request.POST.get("step", ""), send=accounts.request_signup_code,
                            verify=accounts.verify_signup_code, sent_notice=_("验证码已发送"))
    if codes.verified is not None:
        request.session[PROVED_KEY] = {"cipher": crypto.encrypt(codes.verified, context=PHONE_CONTEXT),
                                       "until": time.time() + PROVED_SECONDS}
        return None
    context = {"phone_form": codes.phone_form, "code_form": codes.code_form, "notice": codes.notice,
               "hide_tabs": True}
    return render(request, "portal/bindings/prove_phone.html", context, status=400 if codes.refused else 200)


@sensitive_post_parameters("resident-phone", "code-phone", "code-code", "bind-id_number")
@csrf_protect
@never_cache
def bind(request):
    phone = _proved_phone(request)
    if not phone:
        answer = _prove_phone(request)
        if answer is not None:
            return answer
        phone = _proved_phone(request)
        form = BindingForm(prefix="bind")
    elif request.method == "POST" and request.POST.get("step") == "house":
        form = BindingForm(request.POST, prefix="bind")
        if "reload" not in request.POST and form.is_valid():
            submitted = _submit(request, form, phone)
            if submitted is not None:
                request.session.pop(PROVED_KEY, None)
                return render(request, "portal/bindings/submitted.html",
                              {"binding": submitted, "tabs": tabs("me") if is_resident(request.user) else [],
                               "hide_tabs": not is_resident(request.user)})
    else:
        form = BindingForm(prefix="bind")
    status = 400 if form.is_bound and form.errors and "reload" not in request.POST else 200
    context = {"form": form, "phone_masked": mask_phone(phone), "hide_tabs": not is_resident(request.user),
               "tabs": tabs("me") if is_resident(request.user) else []}
    if "reload" in request.POST:
        form.errors.clear()  # a level was changed: show the next choices, not complaints about empty fields
    return render(request, "portal/bindings/bind.html", context, status=status)


def _submit(request, form: BindingForm, phone: str):
    data = form.cleaned_data
    house = House.objects.filter(pk=data["house"], unit_id=data["unit"], building_id=data["building"],
                                 compound_id=data["compound"]).first()
    if house is None:
        form.add_error("house", _("请选择房屋"))
        return None
    try:
        return services.submit_binding(actor=request.user if is_resident(request.user) else None, phone=phone,
                                       name=data["name"], house=house, role=data["role"],
                                       privacy_accepted=data["privacy"], id_type=data["id_type"],
                                       id_number=data["id_number"])
    except (ValidationError, Conflict) as exc:
        apply_error(form, exc)
        return None


@resident_required
def binding_list(request):
    context = {"tabs": tabs("me"), "requests": list(selectors.binding_requests(request.user)[:50])}
    return render(request, "portal/bindings/list.html", context)
