"""The gate booth on a guard's phone: take in parcels, hand them over for the household's code, check
visitors' invitation codes, and register walk-in visitors whom the household lets in or not.

Guards, customer service and property managers use it; every house and record is reached through
the user's scope, so a guard of one compound can neither pick nor touch another compound's houses.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core.codes import CodeField, normalise_code
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.parcels import selectors as parcel_selectors
from linli.parcels import services as parcel_services
from linli.parcels.models import Parcel, Status
from linli.places import selectors as place_selectors
from linli.places.models import House
from linli.portal.views.common import staff_required
from linli.visitors import selectors as visitor_selectors
from linli.visitors import services as visitor_services
from linli.visitors.models import VisitKind, VisitStatus
from linli.web.views.common import apply_error

BOOTH_PERMISSIONS = ("parcels.add_parcel", "parcels.change_parcel", "visitors.honour_invitation",
                     "visitors.add_visit")
PARCEL_PAGE = 50
RECENT_WALK_INS = 10
RECENT = dt.timedelta(hours=12)
# While a walk-in waits for the household, its page asks again this often (seconds).
REFRESH_S = 5
# What the visit log records as the gate for admissions checked on a booth phone.
BOOTH_GATE = "booth"


def booth_required(view):
    """Staff on a phone who hold any of the booth's permissions; anybody else is turned away."""

    @staff_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        scope = request.user.scope()
        if not any(scope.allows(p) for p in BOOTH_PERMISSIONS):
            raise PermissionDenied
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.what) from exc
        except Forbidden as exc:
            raise PermissionDenied(str(exc)) from exc

    return wrapper


# --- the house picker: building → unit → house, each list from the user's own compounds ----------

def _int(value: Any) -> int | None:
    value = str(value or "")
    # ASCII only: str.isdigit() also passes "²", which int() refuses.
    return int(value) if value.isascii() and value.isdigit() else None


def house_picker(request) -> dict[str, Any]:
    """The picker's lists for the building and unit chosen so far (GET `building`, `unit`)."""
    user = request.user
    buildings = list(place_selectors.buildings(user))
    several = len({b.compound_id for b in buildings}) > 1
    building_id = _int(request.GET.get("building"))
    if building_id not in {b.pk for b in buildings}:
        building_id = None
    units = list(place_selectors.units(user, building_id=building_id)) if building_id else []
    unit_id = _int(request.GET.get("unit"))
    if unit_id not in {u.pk for u in units}:
        unit_id = None
    houses = (list(House.objects.restrict(user, "view").filter(unit_id=unit_id).order_by("floor", "number")
                   .only("id", "number", "unit_id")) if unit_id else [])
    return {"buildings": buildings, "several_compounds": several, "building_id": building_id, "units": units,
            "unit_id": unit_id, "houses": houses}


def picked_house(request, form: forms.Form) -> House:
    """The house a valid form names, through the user's scope (NotFound → 404 outside it)."""
    return place_selectors.house(request.user, form.cleaned_data["house"])


# --- home ------------------------------------------------------------------------------------------

@booth_required
def booth_home(request):
    """The guard's start page: check a visitor's code, and the ways to everything else."""
    user = request.user
    waiting = parcel_selectors.parcels(user, status=Status.WAITING).count()
    since = timezone.now() - RECENT
    walk_ins = list(visitor_selectors.visits(user, since=since).filter(kind=VisitKind.WALK_IN)
                    .select_related("house__building", "house__unit")[:RECENT_WALK_INS])
    scope = user.scope()
    context = {"waiting_count": waiting, "walk_ins": walk_ins, "check_form": CodeCheckForm(),
               "can_check": scope.allows("visitors.honour_invitation"),
               "can_parcels": scope.allows("parcels.add_parcel"), "can_walk_in": scope.allows("visitors.add_visit"),
               "hide_tabs": True}
    return render(request, "portal/booth/home.html", context)


# --- parcels ---------------------------------------------------------------------------------------

class ParcelForm(forms.Form):
    house = forms.IntegerField(label=gettext_lazy("房屋"), error_messages={"required": gettext_lazy("请选择房屋")})
    courier = forms.CharField(label=gettext_lazy("快递公司"), max_length=40, required=False)
    tracking_no = CodeField(label=gettext_lazy("快递单号"), max_length=40, required=False, upper=True,
                            invalid_message=gettext_lazy("快递单号格式不正确"))
    position = forms.CharField(label=gettext_lazy("存放位置"), max_length=40, required=False)
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)


@booth_required
def booth_parcel_new(request):
    """Register a parcel for a house; the household is told and reads its code in the portal."""
    form = ParcelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        house = picked_house(request, form)
        try:
            parcel = parcel_services.register_parcel(
                actor=request.user, house=house, courier=form.cleaned_data["courier"],
                tracking_no=form.cleaned_data["tracking_no"], position=form.cleaned_data["position"],
                note=form.cleaned_data["note"])
        except (ValidationError, Conflict) as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("快递已登记，已通知住户"))
            return redirect(f"{reverse('portal:booth_parcels')}?{urlencode({'house': parcel.house_id})}")
    context = {"form": form, "picker": house_picker(request), "hide_tabs": True}
    return render(request, "portal/booth/parcel_new.html", context, status=400 if form.errors else 200)


class PickupForm(forms.Form):
    pickup_code = CodeField(label=gettext_lazy("取件码"), max_length=12,
                            invalid_message=gettext_lazy("取件码格式不正确"),
                            error_messages={"required": gettext_lazy("请输入住户出示的取件码")})


def _parcel_page(request, *, failed: Parcel | None = None, form: PickupForm | None = None, status: int = 200):
    user = request.user
    house_id = _int(request.GET.get("house"))
    waiting = parcel_selectors.parcels(user, status=Status.WAITING, house_id=house_id).select_related(
        "house__building", "house__unit")
    number = normalise_code(request.GET.get("q"))  # a house number as typed: "５０１" is 501
    if number:
        waiting = waiting.filter(house__number=number)
    total = waiting.count()
    items = list(waiting[:PARCEL_PAGE])
    for parcel in items:
        parcel.form = form if failed is not None and parcel.pk == failed.pk else PickupForm()
    context = {"parcels": items, "total": total, "shown": len(items), "q": number, "house_id": house_id,
               "hide_tabs": True}
    return render(request, "portal/booth/parcels.html", context, status=status)


@booth_required
def booth_parcels(request):
    """Waiting parcels of the user's compounds, narrowed to a house or a house number."""
    return _parcel_page(request)


@require_POST
@booth_required
def booth_parcel_pickup(request, pk: int):
    """Hand a parcel over: the guard types the code the resident shows; a wrong one is refused."""
    parcel = parcel_selectors.parcel(request.user, pk)
    form = PickupForm(request.POST)
    if form.is_valid():
        try:
            parcel_services.confirm_pickup(actor=request.user, parcel=parcel,
                                           pickup_code=form.cleaned_data["pickup_code"])
        except (ValidationError, Conflict) as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("取件成功，请将快递交给住户"))
            return redirect(_back_to_parcels(request))
    return _parcel_page(request, failed=parcel, form=form, status=400)


def _back_to_parcels(request) -> str:
    keep = {k: request.GET[k] for k in ("house", "q") if request.GET.get(k)}
    url = reverse("portal:booth_parcels")
    return f"{url}?{urlencode(keep)}" if keep else url


# --- visitors --------------------------------------------------------------------------------------

class CodeCheckForm(forms.Form):
    code = CodeField(label=gettext_lazy("访客邀请码"), max_length=64, invalid_message=gettext_lazy("邀请码格式不正确"),
                     error_messages={"required": gettext_lazy("请输入访客出示的邀请码")})
    plate = forms.CharField(label=gettext_lazy("车牌号（驾车来访时填写）"), max_length=12, required=False)


@require_POST
@booth_required
def booth_check(request):
    """Check a visitor's invitation code: admitted (one use consumed) or refused with the reason."""
    form = CodeCheckForm(request.POST)
    visit = refused = None
    if form.is_valid():
        try:
            visit = visitor_services.honour_invitation(code=form.cleaned_data["code"], actor=request.user,
                                                       plate=form.cleaned_data["plate"], gate=BOOTH_GATE)
        except visitor_services.VisitRefused as exc:
            refused = exc
        except ValidationError as exc:
            apply_error(form, exc)
    remaining = visit.invitation.uses_allowed - visit.invitation.uses_made if visit else None
    context = {"check_form": CodeCheckForm() if visit else form, "visit": visit, "refused": refused,
               "remaining": remaining, "hide_tabs": True}
    status = 400 if form.errors else 200
    return render(request, "portal/booth/check.html", context, status=status)


class WalkInForm(forms.Form):
    house = forms.IntegerField(label=gettext_lazy("房屋"), error_messages={"required": gettext_lazy("请选择房屋")})
    visitor_name = forms.CharField(label=gettext_lazy("访客姓名"), max_length=40)
    visitor_phone = forms.CharField(label=gettext_lazy("访客电话（选填）"), max_length=20, required=False)
    purpose = forms.CharField(label=gettext_lazy("来访事由"), max_length=100, required=False)
    plate = forms.CharField(label=gettext_lazy("车牌号（选填）"), max_length=12, required=False)


@booth_required
def booth_walk_in_new(request):
    """Register a visitor without an invitation; the household answers in the portal."""
    form = WalkInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        house = picked_house(request, form)
        data = form.cleaned_data
        try:
            visit = visitor_services.register_walk_in(
                actor=request.user, house=house, visitor_name=data["visitor_name"],
                visitor_phone=data["visitor_phone"], purpose=data["purpose"], plate=data["plate"])
        except (ValidationError, Conflict) as exc:
            apply_error(form, exc)
        else:
            return redirect("portal:booth_visit", pk=visit.pk)
    context = {"form": form, "picker": house_picker(request), "hide_tabs": True}
    return render(request, "portal/booth/walk_in_new.html", context, status=400 if form.errors else 200)


@booth_required
def booth_visit(request, pk: int):
    """One visit as the booth sees it; while the household has not answered, the page asks again."""
    visit = visitor_selectors.visit(request.user, pk)
    pending = visit.status == VisitStatus.PENDING_HOST
    # Past its answer time a walk-in is over even before the expiry job has marked it so.
    timed_out = pending and visit.answer_by is not None and visit.answer_by <= timezone.now()
    pending = pending and not timed_out
    context = {"visit": visit, "pending": pending, "timed_out": timed_out, "expired_label": VisitStatus.EXPIRED.label,
               "refresh_s": REFRESH_S if pending else None, "hide_tabs": True}
    return render(request, "portal/booth/visit.html", context)
