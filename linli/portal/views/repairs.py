"""A resident's repairs (报事报修) on the phone: their reports, a new one with photos, and one report's
timeline, photos, rating and reopening."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.billing.money import yuan
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.services import field_error
from linli.portal import selectors as portal
from linli.portal.views.common import resident_required, tabs
from linli.web.views.common import apply_error
from linli.workorders import photos as order_photos
from linli.workorders import selectors, services
from linli.workorders.models import Status, WorkOrder

MAX_PHOTOS = services.MAX_PHOTOS
TITLE_LENGTH = 40
# A tag colour per state: warn while it waits for someone, done once finished.
STATE_TAG = {Status.SUBMITTED: "warn", Status.ACCEPTED: "warn", Status.SUSPENDED: "warn", Status.DONE: "done",
             Status.VISITED: "done", Status.CLOSED: "done", Status.CANCELLED: "done"}
STEP_NAMES = {**services.ACTION_NAMES, "submit": gettext_lazy("提交")}
RATINGS = (5, 4, 3, 2, 1)


def refuse(request, exc: Exception) -> None:
    """A service's refusal as a message at the top of the page (NotFound stays a 404)."""
    if isinstance(exc, NotFound):
        raise Http404(exc.what) from exc
    if isinstance(exc, ValidationError):
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.error(request, str(exc))


REFUSALS = (ValidationError, Forbidden, Conflict, NotFound)


def photo_response(user: Any, order: WorkOrder, index: int, which: str) -> HttpResponse:
    """One of the order's photos, read through the user's scope; never cached by shared caches."""
    try:
        content, content_type = selectors.photo_content(user, order, index, which=which)
    except (NotFound, IndexError, ValueError, FileNotFoundError) as exc:
        raise Http404("photo") from exc
    answer = HttpResponse(content, content_type=content_type)
    answer["Cache-Control"] = "private, max-age=3600"
    answer["X-Content-Type-Options"] = "nosniff"
    return answer


def order_of(user: Any, pk: int) -> WorkOrder:
    try:
        return selectors.work_order(user, pk)
    except NotFound as exc:
        raise Http404("work order") from exc


def report_photo_count(order: WorkOrder) -> int:
    return len(order.report_photos or [])


# --- list ----------------------------------------------------------------------------------------

@resident_required
def repair_list(request):
    orders = list(selectors.work_orders(request.user)[:50])
    for order in orders:
        order.tag = STATE_TAG.get(order.status, "")
    return render(request, "portal/repairs/list.html", {"tabs": tabs("repairs"), "orders": orders})


# --- new report ----------------------------------------------------------------------------------

class RepairForm(forms.Form):
    house = forms.TypedChoiceField(label=gettext_lazy("房屋"), coerce=int)
    category = forms.TypedChoiceField(label=gettext_lazy("类别"), coerce=int)
    description = forms.CharField(label=gettext_lazy("问题描述"), max_length=2000, widget=forms.Textarea)
    contact_phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20, required=False)

    def __init__(self, *args: Any, houses: list, categories: list, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.houses = {r.house.pk: r.house for r in houses}
        self.categories = {c.pk: c for c in categories}
        self.fields["house"].choices = [(r.house.pk, str(r.house)) for r in houses]
        by_compound: dict[str, list] = {}
        for category in categories:
            by_compound.setdefault(category.compound.name, []).append((category.pk, category.name))
        if len(by_compound) == 1:
            self.fields["category"].choices = next(iter(by_compound.values()))
        else:
            self.fields["category"].choices = list(by_compound.items())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        house, category = self.houses.get(data.get("house")), self.categories.get(data.get("category"))
        if house is not None and category is not None and category.compound_id != house.compound_id:
            self.add_error("category", _("该类别不属于所选房屋的小区"))
        return data


def _title(description: str) -> str:
    first = description.strip().splitlines()[0].strip() if description.strip() else ""
    return first if len(first) <= TITLE_LENGTH else first[:TITLE_LENGTH - 1] + "…"


def store_photos(actor: Any, compound_id: int, files: list) -> list[str]:
    """Each uploaded file checked, cleaned and stored; all or none (a refused one removes the others)."""
    if len(files) > MAX_PHOTOS:
        raise field_error("photos", _("照片不能超过%(n)s张") % {"n": MAX_PHOTOS})
    refs: list[str] = []
    try:
        for upload in files:
            refs.append(order_photos.store_photo(actor=actor, compound_id=compound_id, content=upload.read(),
                                                 filename=upload.name or ""))
    except Exception:
        forget_photos(refs)
        raise
    return refs


def forget_photos(refs: list[str]) -> None:
    """Photos stored for a report or completion that was then refused: nothing refers to them."""
    if refs:
        from linli.events import media

        media.delete(refs)


@resident_required
def repair_new(request):
    houses = portal.households(request.user)
    compound_ids = sorted({r.house.compound_id for r in houses})
    categories = list(selectors.categories(request.user).filter(compound_id__in=compound_ids, active=True)
                      .select_related("compound").order_by("compound__name", "kind", "name"))
    form = RepairForm(request.POST if request.method == "POST" else None, houses=houses, categories=categories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        house, category = form.houses[data["house"]], form.categories[data["category"]]
        phone = data["contact_phone"].strip() or request.user.person.phone_plain()
        refs: list[str] = []
        try:
            refs = store_photos(request.user, house.compound_id, request.FILES.getlist("photos"))
            order = services.submit(actor=request.user, compound=house.compound, category=category,
                                    title=_title(data["description"]), description=data["description"],
                                    house=house, contact_phone=phone, photos=refs)
        except (ValidationError, Conflict, Forbidden) as exc:
            forget_photos(refs)
            apply_error(form, exc)
        else:
            messages.success(request, _("已提交，物业会尽快处理"))
            return redirect("portal:repair_detail", pk=order.pk)
    context = {"tabs": tabs("repairs"), "form": form, "max_photos": MAX_PHOTOS,
               "phone_masked": getattr(request.user.person, "phone_masked", ""), "no_house": not houses}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/repairs/new.html", context, status=status)


# --- one report ----------------------------------------------------------------------------------

def can_reopen(order: WorkOrder, now: dt.datetime) -> bool:
    return (order.status in (Status.DONE, Status.VISITED, Status.CLOSED) and order.done_at is not None
            and now <= order.done_at + dt.timedelta(hours=order.category.reopen_window_hours))


def timeline(user: Any, order: WorkOrder) -> list[dict[str, Any]]:
    return [{"at": step.at, "name": STEP_NAMES.get(step.action, step.action), "note": step.note,
             "state": step.get_to_status_display()} for step in selectors.steps(user, order)]


@resident_required
def repair_detail(request, pk: int):
    order = order_of(request.user, pk)
    context = {
        "tabs": tabs("repairs"), "order": order, "tag": STATE_TAG.get(order.status, ""),
        "steps": timeline(request.user, order),
        "report_photos": range(report_photo_count(order)), "completion_photos": range(len(order.photos or [])),
        "can_rate": order.status == Status.DONE, "can_reopen": can_reopen(order, timezone.now()),
        "ratings": RATINGS, "price_yuan": yuan(order.price_fen) if order.price_fen is not None else "",
    }
    return render(request, "portal/repairs/detail.html", context)


@resident_required
def repair_photo(request, pk: int, which: str, index: int):
    return photo_response(request.user, order_of(request.user, pk), index, which)


@require_POST
@resident_required
def repair_rate(request, pk: int):
    order = order_of(request.user, pk)
    try:
        rating = int(request.POST.get("rating", ""))
    except ValueError:
        rating = 0
    try:
        services.follow_up(actor=request.user, order=order, rating=rating,
                           comment=request.POST.get("comment", "")[:500])
    except REFUSALS as exc:
        refuse(request, exc)
    else:
        messages.success(request, _("感谢您的评价"))
    return redirect(reverse("portal:repair_detail", args=[order.pk]))


@require_POST
@resident_required
def repair_reopen(request, pk: int):
    order = order_of(request.user, pk)
    try:
        services.reopen(actor=request.user, order=order, reason=request.POST.get("reason", "")[:500])
    except REFUSALS as exc:
        refuse(request, exc)
    else:
        messages.success(request, _("工单已重新打开"))
    return redirect(reverse("portal:repair_detail", args=[order.pk]))
