"""The resident's parcels: what waits at the booth or in a locker, with the code to show, and history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.parcels import selectors, services
from linli.parcels.models import Source, Status
from linli.portal.views.common import resident_required, tabs
from linli.visitors.qr import qr_svg

HISTORY_SIZE = 20
# Modules drawn this many CSS pixels wide: about 200 px for a short code, easy for a scanner at arm's length.
QR_SCALE = 7


@resident_required
def parcel_list(request):
    """Waiting parcels first, each with its pickup code in large type and as a QR code; then history."""
    user, now = request.user, timezone.now()
    readable = selectors.code_readable_houses(user)
    waiting = list(selectors.parcels(user, status=Status.WAITING).select_related("house__building", "house__unit"))
    for parcel in waiting:
        parcel.code = selectors.pickup_code_for(user, parcel, readable)
        parcel.qr = qr_svg(parcel.code, scale=QR_SCALE) if parcel.code else ""
        parcel.days_waiting = max((now - parcel.registered_at).days, 0)
        parcel.self_service = parcel.source == Source.LOCKER
    history = list(selectors.parcels(user).exclude(status=Status.WAITING)
                   .select_related("house__building", "house__unit")[:HISTORY_SIZE])
    context = {"tabs": tabs("home"), "waiting": waiting, "history": history}
    return render(request, "portal/parcels/list.html", context)


@require_POST
@resident_required
def parcel_picked_up(request, pk: int):
    """「我已取件」: the household took its parcel out of a locker and says so; no code needed."""
    try:
        parcel = selectors.parcel(request.user, pk)
        services.confirm_pickup(actor=request.user, parcel=parcel)
    except NotFound as exc:
        raise Http404(exc.what) from exc
    except (ValidationError, Conflict, Forbidden) as exc:
        messages.error(request, refusal(exc))
    else:
        messages.success(request, _("已确认取件"))
    return redirect("portal:parcel_list")


def refusal(exc: Exception) -> str:
    """A service's refusal as one line for the page."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
