"""REST endpoints for owners' votes (/api/votes/…): list and read votes, draft, open and close them,
cast a house's ballot (for oneself or for an elderly owner of the household), and after closing
the Art. 278 result and the published receipts.

Thin: reads go through `linli.votes.selectors`, writes through `linli.votes.services`, which check
ownership and who acts for whom. The salt of a ballot's receipt is returned once, to the voter.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, IsoDateTime, PageQuery, Payload, page, paged
from linli.core.services import field_error
from linli.people.models import Person
from linli.places import selectors as places
from linli.votes import selectors, services
from linli.votes.models import AreaBasis, Choice, MajorMatter, MatterKind, VoteStatus

router = Router(tags=["votes"])


class VoteOut(Schema):
    id: int
    compound_id: int
    title: str
    description: str
    matter_kind: MatterKind
    major_matter: MajorMatter | None = Field(None, description="set for major matters only")
    status: VoteStatus
    opens_at: dt.datetime | None
    closes_at: dt.datetime
    closed_at: dt.datetime | None
    organiser_id: int
    area_basis: AreaBasis | None = Field(None, description="fixed when the vote opens")
    created_at: dt.datetime

    @staticmethod
    def resolve_major_matter(obj) -> str | None:
        return obj.major_matter or None

    @staticmethod
    def resolve_area_basis(obj) -> str | None:
        return obj.area_basis or None


class VoteFilter(Schema):
    compound_id: Id | None = None
    status: VoteStatus | None = None


class VoteIn(Payload):
    compound_id: Id
    title: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=5000)
    matter_kind: MatterKind = MatterKind.ORDINARY
    major_matter: MajorMatter | None = Field(None, description="required for a major matter")
    opens_at: IsoDateTime | None = None
    closes_at: IsoDateTime


class BallotIn(Payload):
    house_id: Id
    choice: Choice
    acting_for: Id | None = Field(None, description="the owner's person id, when a household member casts "
                                                     "for an elderly owner (代为表决)")


class BallotOut(Schema):
    id: int
    vote_id: int
    house_id: int
    owner_id: int
    choice: Choice
    cast_at: dt.datetime
    cast_by_id: int
    acting_person_id: int | None = Field(description="who cast it for the owner, if not the owner")
    receipt: str


class CastOut(Schema):
    ballot: BallotOut
    salt: str = Field(description="shown once: with it the voter finds their receipt in the published list")


class VoteOutcomeOut(Schema):
    """The Art. 278 outcome stored at closing; areas and shares are exact fractions written "p/q"."""

    major: bool
    total_area: str
    total_owners: int
    participating_area: str
    participating_owners: int
    approving_area: str
    approving_owners: int
    participation_area_share: str
    participation_headcount_share: str
    approval_area_share: str
    approval_headcount_share: str
    participation_area_met: bool
    participation_headcount_met: bool
    approval_area_met: bool
    approval_headcount_met: bool
    quorate: bool
    passed: bool


class VoteResultOut(Schema):
    vote_id: int
    closed_at: dt.datetime | None
    result: VoteOutcomeOut


class ReceiptOut(Schema):
    receipt: str
    choice: Choice


class ReceiptsOut(Schema):
    vote_id: int
    count: int
    receipts: list[ReceiptOut]


@router.get("", response={200: paged(VoteOut), **ERRORS}, operation_id="list_votes")
def list_votes(request: HttpRequest, filters: Query[VoteFilter], pg: Query[PageQuery]):
    """Organisers and officers see their compounds' votes; owners those of their compounds once opened."""
    f = filters.dict()
    f["status"] = f["status"] or ""
    return page(selectors.votes(request.user, **f).order_by("-id"), pg)


@router.get("/{vote_id}", response={200: VoteOut, **ERRORS}, operation_id="get_vote")
def get_vote(request: HttpRequest, vote_id: Id):
    return selectors.vote(request.user, vote_id)


@router.post("", response={201: VoteOut, **ERRORS}, operation_id="create_vote")
def create_vote(request: HttpRequest, payload: VoteIn):
    """A draft: nothing is put to the owners until it is opened."""
    compound = places.compound(request.user, payload.compound_id)
    vote = services.create_vote(actor=request.user, compound=compound, title=payload.title,
                                closes_at=payload.closes_at, description=payload.description,
                                matter_kind=payload.matter_kind, major_matter=payload.major_matter or "",
                                opens_at=payload.opens_at)
    return Status(201, vote)


@router.post("/{vote_id}/open", response={200: VoteOut, **ERRORS}, operation_id="open_vote")
def open_vote(request: HttpRequest, vote_id: Id):
    """Put the vote to the owners; the electorate (houses, owners, areas) is frozen now."""
    return services.open_vote(actor=request.user, vote=selectors.vote(request.user, vote_id))


@router.post("/{vote_id}/close", response={200: VoteOut, **ERRORS}, operation_id="close_vote")
def close_vote(request: HttpRequest, vote_id: Id):
    """End the vote early (or on time) and store its Art. 278 outcome."""
    return services.close_vote(actor=request.user, vote=selectors.vote(request.user, vote_id))


@router.post("/{vote_id}/ballots", response={201: CastOut, **ERRORS}, operation_id="cast_ballot")
def cast_ballot(request: HttpRequest, vote_id: Id, payload: BallotIn):
    """Cast the house's one ballot: as its owner, or with `acting_for` as a household member for an owner."""
    user = request.user
    vote = selectors.vote(user, vote_id)
    house = places.house(user, payload.house_id)
    owner = None
    if payload.acting_for is not None:
        owner = Person.objects.restrict(user, "view").filter(pk=payload.acting_for).first()
        if owner is None:
            raise field_error("acting_for", _("被代表的人不是该房屋的业主"))
    cast = services.cast_ballot(actor=user, vote=vote, house=house, choice=payload.choice, on_behalf_of=owner)
    return Status(201, {"ballot": cast.ballot, "salt": cast.salt})


@router.get("/{vote_id}/ballots", response={200: paged(BallotOut), **ERRORS}, operation_id="list_vote_ballots")
def list_vote_ballots(request: HttpRequest, vote_id: Id, pg: Query[PageQuery]):
    """An owner's own houses' ballots (with their receipts); organisers see every real-name ballot."""
    vote = selectors.vote(request.user, vote_id)
    return page(selectors.my_ballots(request.user, vote).order_by("house_id", "id"), pg)


@router.get("/{vote_id}/result", response={200: VoteResultOut, **ERRORS}, operation_id="get_vote_result")
def get_vote_result(request: HttpRequest, vote_id: Id):
    """The stored outcome; 409 until the vote is closed."""
    result = selectors.result(request.user, vote_id)
    vote = selectors.vote(request.user, vote_id)
    return {"vote_id": vote.pk, "closed_at": vote.closed_at, "result": result}


@router.get("/{vote_id}/receipts", response={200: ReceiptsOut, **ERRORS}, operation_id="list_vote_receipts")
def list_vote_receipts(request: HttpRequest, vote_id: Id):
    """Every counted ballot's receipt and choice, sorted by receipt (no house, no time); 409 until closed.

    The whole list, so anyone can recount the tally; an owner finds their own with their salt."""
    receipts = selectors.published_receipts(request.user, vote_id)
    return {"vote_id": vote_id, "count": len(receipts),
            "receipts": [{"receipt": r, "choice": c} for r, c in receipts]}
