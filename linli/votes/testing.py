"""Helpers for tests: on each side of the test district a draft vote and an open one in which the
resident has cast their house's ballot, all through the real services; made once, found again after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from linli.votes.models import Ballot, Vote, VoteStatus

DRAFT_TITLE = "续聘物业（草稿）"
OPEN_TITLE = "加装电梯"


def add_votes(d: Any) -> Any:
    """Both sides get their votes (opened after the sides' owners are on record)."""
    from linli.core.context import ChangeContext, change_context
    from linli.votes import services

    with change_context(ChangeContext(source="test", actor="test")):
        for s in (d.a, d.b):
            if Vote.objects.filter(compound=s.compound, title=OPEN_TITLE).exists():
                continue
            manager = s.users["property_manager"]
            closes = timezone.now() + dt.timedelta(days=30)
            services.create_vote(actor=manager, compound=s.compound, title=DRAFT_TITLE, closes_at=closes)
            vote = services.open_vote(actor=manager, vote=services.create_vote(
                actor=manager, compound=s.compound, title=OPEN_TITLE, closes_at=closes))
            services.cast_ballot(actor=s.users["resident"], vote=vote, house=s.house, choice="approve")
    return d


def side_records(side: Any) -> dict[str, Any]:
    return {"vote": Vote.objects.get(compound=side.compound, title=OPEN_TITLE, status=VoteStatus.OPEN),
            "draft_vote": Vote.objects.get(compound=side.compound, title=DRAFT_TITLE, status=VoteStatus.DRAFT)}


def side_ids(side: Any) -> dict[str, set[int]]:
    """Ids a user of the other side must never see."""
    return {"vote": set(Vote.objects.filter(compound=side.compound).values_list("pk", flat=True)),
            "ballot": set(Ballot.objects.filter(compound=side.compound).values_list("pk", flat=True))}
