"""The technician's phone view (维修师傅): their open orders, the grab pool, and one order with the
moves they may make — take it, start, complete with photos (and the price of a paid repair), return it."""

from __future__ import annotations

import decimal
from typing import Any

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.billing.money import yuan
from linli.core.services import field_error
from linli.portal.views.common import staff_required
from linli.portal.views.repairs import (
    REFUSALS,
    STATE_TAG,
    forget_photos,
    order_of,
    photo_response,
    refuse,
    report_photo_count,
    store_photos,
    timeline,
)
from linli.workorders import selectors, services
from linli.workorders.models import DispatchMode, Status, WorkOrder

LIST_SIZE = 50


@staff_required
def tech_home(request):
    mine = list(selectors.my_work(request.user)[:LIST_SIZE])
    pool = list(selectors.grab_pool(request.user)[:LIST_SIZE])
    for order in (*mine, *pool):
        order.tag = STATE_TAG.get(order.status, "")
    return render(request, "portal/tech/home.html", {"mine": mine, "pool": pool, "hide_tabs": True})


def _moves(user: Any, order: WorkOrder) -> set[str]:
    """What the page offers; the services decide for real (and explain a refusal)."""
    moves = set()
    mine = order.assignee_id == user.pk
    if order.status == Status.SUBMITTED and user.scope().allows("workorders.dispatch_workorder"):
        moves.add("accept")
    if (order.status == Status.ACCEPTED and order.assignee_id is None
            and order.category.dispatch_mode == DispatchMode.GRAB):
        moves.add("grab")
    if mine and order.status == Status.ASSIGNED:
        moves.add("start")
    if mine and order.status == Status.IN_PROGRESS:
        moves.add("complete")
    if mine and order.status in (Status.ASSIGNED, Status.IN_PROGRESS):
        moves.add("return")
    return moves


@staff_required
def tech_order(request, pk: int):
    order = order_of(request.user, pk)
    context = {
        "order": order, "tag": STATE_TAG.get(order.status, ""), "moves": _moves(request.user, order),
        "steps": timeline(request.user, order), "report_photos": range(report_photo_count(order)),
        "completion_photos": range(len(order.photos or [])), "max_photos": services.MAX_PHOTOS,
        "price_yuan": yuan(order.price_fen) if order.price_fen is not None else "", "hide_tabs": True,
    }
    return render(request, "portal/tech/order.html", context)


@staff_required
def tech_photo(request, pk: int, which: str, index: int):
    return photo_response(request.user, order_of(request.user, pk), index, which)


def _price_fen(text: str) -> int | None:
    """"35.5" yuan → 3550 fen; empty → None. More than two decimals or a negative price is refused."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation as exc:
        raise field_error("price_fen", _("请填写正确的金额")) from exc
    fen = value * 100
    if not value.is_finite() or value < 0 or fen != fen.to_integral_value():
        raise field_error("price_fen", _("请填写正确的金额"))
    return int(fen)


def _complete(request, order: WorkOrder) -> WorkOrder:
    price = _price_fen(request.POST.get("price", "")) if order.category.paid else None
    refs = store_photos(request.user, order.compound_id, request.FILES.getlist("photos"))
    try:
        return services.complete(actor=request.user, order=order, note=request.POST.get("note", "")[:500],
                                 photos=refs, price_fen=price)
    except Exception:
        forget_photos(refs)
        raise


DONE_MESSAGES = {
    "accept": gettext_lazy("已受理"), "grab": gettext_lazy("接单成功"), "start": gettext_lazy("已开始处理"),
    "complete": gettext_lazy("已完成"), "return": gettext_lazy("已退回"),
}


@require_POST
@staff_required
def tech_action(request, pk: int, action: str):
    order = order_of(request.user, pk)
    note = request.POST.get("note", "")[:500]
    try:
        if action == "accept":
            services.accept(actor=request.user, order=order, note=note)
        elif action == "grab":
            services.grab(actor=request.user, order=order)
        elif action == "start":
            services.start(actor=request.user, order=order, note=note)
        elif action == "complete":
            _complete(request, order)
        elif action == "return":
            services.return_to_pool(actor=request.user, order=order, note=note)
        else:
            raise field_error("action", _("未知操作"))
    except REFUSALS as exc:
        refuse(request, exc)
    else:
        messages.success(request, DONE_MESSAGES[action])
        if action == "return":
            return redirect(reverse("portal:tech_home"))
    return redirect(reverse("portal:tech_order", args=[order.pk]))
