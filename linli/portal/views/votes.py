"""Owners' votes (业主表决) on the phone: open and closed votes of the resident's compounds, one
ballot per owned house (or cast for an elderly owner in 代办 mode), the receipt, and after closing the
published result and receipts list where an owner finds their own."""

from __future__ import annotations

from fractions import Fraction

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.people.models import Residency, ResidencyRole
from linli.places.models import House
from linli.portal import selectors
from linli.portal.views.common import resident_required, tabs
from linli.portal.views.me import acting_for
from linli.votes import selectors as votes
from linli.votes import services as vote_services
from linli.votes.models import Choice, Elector, VoteStatus

SHARES = ("participation_area_share", "participation_headcount_share", "approval_area_share",
          "approval_headcount_share")


def _percent(value: str) -> str:
    return f"{float(Fraction(value)) * 100:.1f}%"


@resident_required
def vote_list(request):
    context = {"tabs": tabs("votes"), "votes": list(selectors.votes_for(request.user)[:100])}
    return render(request, "portal/votes/list.html", context)


def _owned_by(person_id: int | None) -> set[int]:
    if person_id is None:
        return set()
    today = timezone.localdate()
    residencies = Residency.objects.filter(person_id=person_id, role=ResidencyRole.OWNER, since__lte=today)
    return {h for h, until in residencies.values_list("house_id", "until") if until is None or until >= today}


@require_http_methods(["GET", "POST"])
@resident_required
def vote_detail(request, pk: int):
    try:
        vote = votes.vote(request.user, pk)
    except NotFound as exc:
        raise Http404 from exc
    acting = acting_for(request)
    voter_id = acting.pk if acting else request.user.person_id
    cast, error = None, ""
    if request.method == "POST":
        try:
            house = House.objects.restrict(request.user).get(pk=int(request.POST.get("house", "0") or 0))
            cast = vote_services.cast_ballot(actor=request.user, vote=vote, house=house,
                                             choice=request.POST.get("choice", ""), on_behalf_of=acting)
        except (House.DoesNotExist, ValueError):
            error = str(Forbidden())
        except (Forbidden, Conflict) as exc:
            error = str(exc)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        vote.refresh_from_db()
    owned = _owned_by(voter_id)
    ballots = {b.house_id: b for b in votes.my_ballots(request.user, vote)}
    rows = []
    for elector in Elector.objects.restrict(request.user).filter(vote=vote).select_related("house"):
        rows.append({"elector": elector, "ballot": ballots.get(elector.house_id),
                     "can_cast": vote.status == VoteStatus.OPEN and elector.house_id in owned
                     and elector.house_id not in ballots})
    context = {"tabs": tabs("votes"), "vote": vote, "rows": rows, "choices": Choice.choices, "cast": cast,
               "error": error, "acting": acting}
    if vote.status == VoteStatus.CLOSED:
        context["result"] = vote.result
        context["shares"] = {key: _percent(vote.result.get(key, "0")) for key in SHARES}
        context["receipts"] = [(receipt, Choice(choice).label)
                               for receipt, choice in votes.published_receipts(request.user, vote.pk)]
        context["my_receipts"] = {b.receipt for b in ballots.values()}
    return render(request, "portal/votes/detail.html", context, status=400 if error else 200)
