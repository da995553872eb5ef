"""Family members (家庭成员): an owner sees the people of their house, adds a member (the owner's
word is the verification) and ends a member's residency. Other residents see their households."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.selectors import get_visible
from linli.people.models import Residency
from linli.places.models import House
from linli.portal import selectors, services
from linli.portal.forms import FamilyMemberForm
from linli.portal.views.common import resident_required, tabs
from linli.web.views.common import apply_error


def _page(request, form=None, status: int = 200, house_id: int | None = None):
    households = selectors.households(request.user)
    owned = selectors.owned_house_ids(request.user)
    members = selectors.household_members(request.user, [r.house_id for r in households])
    houses = [{"residency": r, "owner": r.house_id in owned,
               "members": [m for m in members if m.house_id == r.house_id]} for r in households]
    context = {"tabs": tabs("me"), "houses": houses, "form": form or FamilyMemberForm(prefix="member"),
               "form_house": house_id, "me_person": request.user.person_id}
    return render(request, "portal/family/family.html", context, status=status)


@resident_required
def family(request):
    return _page(request)


@sensitive_post_parameters("member-phone", "member-id_number")
@require_POST
@resident_required
def add_member(request, house_pk: int):
    form = FamilyMemberForm(request.POST, prefix="member")
    if form.is_valid():
        try:
            house = get_visible(House.objects.all(), request.user, house_pk)
            services.add_family_member(actor=request.user, house=house, **form.cleaned_data)
        except (ValidationError, Conflict) as exc:
            apply_error(form, exc)
        except (Forbidden, NotFound) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已添加家庭成员"))
            return redirect("portal:family")
    return _page(request, form, status=400, house_id=house_pk)


@require_POST
@resident_required
def end_member(request, pk: int):
    try:
        residency = get_visible(Residency.objects.select_related("house"), request.user, pk)
        services.end_family_member(actor=request.user, residency=residency)
    except (Forbidden, NotFound, Conflict) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已移除该成员"))
    return redirect("portal:family")
