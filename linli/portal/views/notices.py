"""Notices (通知公告) for residents: those of their compound, building and unit, pinned first; opening
one records that the resident read it."""

from __future__ import annotations

import contextlib

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from linli.core.errors import NotFound
from linli.notices import selectors
from linli.notices import services as notices
from linli.portal.views.common import resident_required, tabs

PAGE_SIZE = 30


@resident_required
def notice_list(request):
    page = Paginator(selectors.notices_for(request.user).select_related("compound"), PAGE_SIZE)
    return render(request, "portal/notices/list.html",
                  {"tabs": tabs("notices"), "page": page.get_page(request.GET.get("page"))})


@resident_required
def notice_detail(request, pk: int):
    try:
        notice = selectors.notice(request.user, pk)
    except NotFound as exc:
        raise Http404 from exc
    if notice.read_at is None:
        # A notice withdrawn since the list was shown has nothing left to record.
        with contextlib.suppress(ValidationError):
            notices.mark_notice_read(actor=request.user, notice=notice)
    return render(request, "portal/notices/detail.html", {"tabs": tabs("notices"), "notice": notice})
