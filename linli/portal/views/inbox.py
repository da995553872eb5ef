"""The inbox (消息): the resident's own notifications, newest first; opening one marks it read."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from linli.core.errors import NotFound
from linli.notify import selectors
from linli.notify import services as notify
from linli.portal.views.common import resident_required, tabs

PAGE_SIZE = 30


@resident_required
def inbox(request):
    page = Paginator(selectors.inbox(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"tabs": tabs("inbox"), "page": page, "unread": selectors.unread_count(request.user)}
    return render(request, "portal/inbox/inbox.html", context)


@require_POST
@resident_required
def mark_read(request, pk: int):
    try:
        delivery = notify.mark_read(actor=request.user, delivery_id=pk)
    except NotFound:
        return redirect("portal:inbox")
    link = delivery.notification.link
    # Only our own pages: a link is a path on this site, never another host.
    if link.startswith("/") and not link.startswith("//"):
        return redirect(link)
    return redirect("portal:inbox")


@require_POST
@resident_required
def mark_all_read(request):
    notify.mark_all_read(actor=request.user)
    return redirect("portal:inbox")
