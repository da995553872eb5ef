"""Reads of votes for a user; always scoped. Results and receipts are published only after closing."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from linli.core.errors import Conflict
from linli.core.selectors import get_visible
from linli.votes.models import Ballot, Elector, Vote, VoteStatus


def votes(user: Any, *, compound_id: int | None = None, status: str = "") -> QuerySet[Vote]:
    qs = Vote.objects.restrict(user)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def vote(user: Any, pk: int) -> Vote:
    return get_visible(Vote.objects.all(), user, pk)


def my_ballots(user: Any, vote: Vote) -> QuerySet[Ballot]:
    """The ballots the user may see on this vote (an owner: their own houses')."""
    return Ballot.objects.restrict(user).filter(vote=vote)


def electorate(user: Any, vote: Vote) -> QuerySet[Elector]:
    return Elector.objects.restrict(user).filter(vote=vote).select_related("house")


def _closed(user: Any, pk: int) -> Vote:
    found = vote(user, pk)
    if found.status != VoteStatus.CLOSED:
        raise Conflict(_("表决结束后才公布结果"), field="status")
    return found


def result(user: Any, pk: int) -> dict[str, Any]:
    """The stored Art. 278 outcome of a closed vote."""
    return _closed(user, pk).result


def published_receipts(user: Any, pk: int) -> list[tuple[str, str]]:
    """(receipt, choice) for every counted ballot, sorted by receipt so nothing hints at who or when.

    An owner finds their receipt and its choice; anyone can recount the tally from the list.
    """
    closed = _closed(user, pk)
    return list(Ballot.objects.filter(vote=closed).order_by("receipt").values_list("receipt", "choice"))
