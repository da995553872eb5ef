"""The resident's visitors: invite someone for a time window (the code and QR are shown once), cancel,
and let in or turn away a visitor waiting at the booth without an invitation."""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.portal.selectors import households
from linli.portal.views.common import resident_required, tabs
from linli.portal.views.parcels import QR_SCALE, refusal
from linli.visitors import selectors, services
from linli.visitors.models import MAX_USES, InvitationStatus, VisitKind, VisitStatus
from linli.visitors.qr import qr_svg
from linli.web.views.common import apply_error

DEFAULT_WINDOW = dt.timedelta(hours=4)
HISTORY_SIZE = 30
# The clear code of a just-made invitation waits here for the one page that shows it.
NEW_CODE_KEY = "portal.visitor_code"


def _not_found(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.what) from exc

    return wrapper


@resident_required
def visitor_list(request):
    """Walk-ins waiting for my answer, then my invitations: in force, used, and past or cancelled."""
    user, now = request.user, timezone.now()
    waiting = list(selectors.visits(user, status=VisitStatus.PENDING_HOST).filter(kind=VisitKind.WALK_IN,
                                                                                   answer_by__gt=now)
                   .select_related("house__building", "house__unit"))
    active, used, ended = [], [], []
    for invitation in selectors.invitations(user).select_related("house__building", "house__unit")[:HISTORY_SIZE]:
        if invitation.status == InvitationStatus.ACTIVE and invitation.ends_at > now:
            active.append(invitation)
        elif invitation.status == InvitationStatus.USED_UP:
            used.append(invitation)
        else:
            invitation.shown_status = (_("已过期") if invitation.status == InvitationStatus.ACTIVE
                                       else invitation.get_status_display())
            ended.append(invitation)
    context = {"tabs": tabs("home"), "waiting": waiting, "active": active, "used": used, "ended": ended}
    return render(request, "portal/visitors/list.html", context)


class InvitationForm(forms.Form):
    house = forms.TypedChoiceField(label=gettext_lazy("被访房屋"), coerce=int)
    visitor_name = forms.CharField(label=gettext_lazy("访客姓名"), max_length=40)
    visitor_phone = forms.CharField(label=gettext_lazy("访客电话（选填）"), max_length=20, required=False)
    starts_at = forms.DateTimeField(label=gettext_lazy("开始时间"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                               format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label=gettext_lazy("结束时间"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                             format="%Y-%m-%dT%H:%M"))
    uses = forms.IntegerField(label=gettext_lazy("可用次数"), min_value=1, max_value=MAX_USES, initial=1)
    plate = forms.CharField(label=gettext_lazy("车牌号（驾车来访时填写）"), max_length=12, required=False)
    note = forms.CharField(label=gettext_lazy("备注（选填）"), max_length=200, required=False)

    def __init__(self, *args, houses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["house"].choices = [(h.pk, h.label) for h in houses]


def _my_houses(user) -> list:
    houses = []
    for residency in households(user):
        house = residency.house
        house.label = _("%(building)s号楼%(unit)s单元%(number)s室") % {
            "building": house.building.number, "unit": house.unit.number, "number": house.number}
        houses.append(house)
    return houses


@resident_required
def visitor_new(request):
    """Invite a visitor; on success the code is kept for the next page only, which shows it once."""
    houses = _my_houses(request.user)
    start = timezone.localtime().replace(second=0, microsecond=0)
    initial = {"starts_at": start, "ends_at": start + DEFAULT_WINDOW, "uses": 1,
               "house": houses[0].pk if houses else None}
    form = InvitationForm(request.POST or None, initial=initial, houses=houses)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        house = next(h for h in houses if h.pk == data["house"])
        try:
            invitation, code = services.invite(
                actor=request.user, house=house, visitor_name=data["visitor_name"],
                visitor_phone=data["visitor_phone"], starts_at=data["starts_at"], ends_at=data["ends_at"],
                uses=data["uses"], plate=data["plate"], note=data["note"])
        except (ValidationError, Conflict, Forbidden) as exc:
            _apply(form, exc)
        else:
            request.session[NEW_CODE_KEY] = {"pk": invitation.pk, "code": code}
            return redirect("portal:visitor_created", pk=invitation.pk)
    context = {"tabs": tabs("home"), "form": form, "has_houses": bool(houses)}
    return render(request, "portal/visitors/new.html", context, status=400 if form.errors else 200)


def _apply(form: forms.Form, exc: Exception) -> None:
    if isinstance(exc, Forbidden):
        form.add_error(None, str(exc))
    else:
        apply_error(form, exc)


@resident_required
@_not_found
def visitor_created(request, pk: int):
    """The new invitation with its code and QR, this one time; later visits say the code is gone."""
    invitation = selectors.invitation(request.user, pk)
    pending = request.session.get(NEW_CODE_KEY) or {}
    code = ""
    if pending.get("pk") == invitation.pk:
        code = pending.get("code", "")
        del request.session[NEW_CODE_KEY]
    context = {"tabs": tabs("home"), "invitation": invitation, "code": code, "qr": qr_svg(code, scale=QR_SCALE) if code else ""}
    response = render(request, "portal/visitors/created.html", context)
    response["Cache-Control"] = "no-store"  # the code must not come back from the browser's cache either
    return response


@require_POST
@resident_required
@_not_found
def visitor_cancel(request, pk: int):
    invitation = selectors.invitation(request.user, pk)
    try:
        services.cancel_invitation(actor=request.user, invitation=invitation)
    except (ValidationError, Conflict, Forbidden) as exc:
        messages.error(request, refusal(exc))
    else:
        messages.success(request, _("邀请已取消，邀请码随即失效"))
    return redirect("portal:visitor_list")


@require_POST
@resident_required
@_not_found
def walk_in_answer(request, pk: int):
    """同意 / 拒绝 for a visitor waiting at the booth; the booth sees the answer at once."""
    visit = selectors.visit(request.user, pk)
    admit = request.POST.get("admit") == "1"
    try:
        services.answer_walk_in(actor=request.user, visit=visit, admit=admit)
    except (ValidationError, Conflict, Forbidden) as exc:
        messages.error(request, refusal(exc))
    else:
        messages.success(request, _("已同意访客进入") if admit else _("已拒绝该访客"))
    return redirect("portal:visitor_list")
