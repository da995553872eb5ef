"""Owners' votes: draft, open (freezing the electorate), cast one ballot per house, close with the
Art. 278 outcome. Organisers are property managers and community officers; owners cast ballots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import Conflict, Forbidden
from linli.core.services import (
    bulk_create_audited,
    field_error,
    require,
    require_in_compound,
    save_changes,
    save_new,
    service,
)
from linli.people.models import Person, Residency, ResidencyRole
from linli.places.models import Compound, House
from linli.votes.models import AreaBasis, Ballot, Choice, Elector, MatterKind, Vote, VoteStatus
from linli.votes.outcome import CastChoice, ElectorRow, Outcome, art278_outcome
from linli.votes.receipts import new_salt, receipt_of


def current_owner_residencies(on: dt.date) -> Any:
    """Owner residencies in force on `on` (an end date is the last day of the residency)."""
    return Residency.objects.filter(role=ResidencyRole.OWNER, since__lte=on).filter(
        Q(until__isnull=True) | Q(until__gte=on))


@service
def create_vote(*, actor: Any, compound: Compound, title: str, closes_at: dt.datetime, description: str = "",
                matter_kind: str = MatterKind.ORDINARY, major_matter: str = "",
                opens_at: dt.datetime | None = None) -> Vote:
    require_in_compound(actor, Vote, "add", compound.pk)
    if matter_kind == MatterKind.MAJOR and not major_matter:
        raise field_error("major_matter", _("重大事项须注明事项类别"))
    if matter_kind == MatterKind.ORDINARY and major_matter:
        raise field_error("matter_kind", _("所列事项属于重大事项，须按重大事项表决"))
    if closes_at <= (opens_at or timezone.now()):
        raise field_error("closes_at", _("截止时间须晚于开始时间"))
    vote = Vote(compound=compound, title=title, description=description, matter_kind=matter_kind,
                major_matter=major_matter, opens_at=opens_at, closes_at=closes_at, organiser=actor)
    return save_new(vote, exclude=("area_basis",))


@service
def open_vote(*, actor: Any, vote: Vote) -> Vote:
    """Put the vote to the owners and freeze its electorate: every house with a current owner."""
    require(actor, vote, "change")
    if vote.status != VoteStatus.DRAFT:
        raise Conflict(_("只有草稿状态的表决可以开始"), field="status")
    now = timezone.now()
    if vote.closes_at <= now:
        raise field_error("closes_at", _("截止时间须晚于开始时间"))
    today = timezone.localtime(now).date()
    owner_of: dict[int, int] = {}
    # The owner of record is the longest-standing current owner; co-owners of one house are one head.
    for house_id, person_id in (current_owner_residencies(today).filter(house__compound_id=vote.compound_id)
                                .order_by("since", "id").values_list("house_id", "person_id")):
        owner_of.setdefault(house_id, person_id)
    houses = list(House.objects.filter(pk__in=owner_of).order_by("pk"))
    if not houses:
        raise Conflict(_("该小区没有登记的业主，无法发起表决"))
    # One basis for the whole vote: inner (exclusive) area when every house has it, else built area.
    basis = AreaBasis.INNER if all(h.inner_area is not None for h in houses) else AreaBasis.BUILT
    electors = [Elector(compound_id=vote.compound_id, vote=vote, house=h, owner_id=owner_of[h.pk],
                        area=h.inner_area if basis == AreaBasis.INNER else h.built_area) for h in houses]
    bulk_create_audited(Elector, electors)
    return save_changes(vote, {"status": VoteStatus.OPEN, "opens_at": now, "area_basis": basis})


@dataclass(frozen=True)
class CastBallot:
    """What a voter gets back: the ballot and the salt to check its receipt in the published list."""

    ballot: Ballot
    salt: str


@service
def cast_ballot(*, actor: Any, vote: Vote, house: House, choice: str, on_behalf_of: Person | None = None) -> CastBallot:
    """Cast the house's one ballot. The actor must be a current owner of the house, or a current
    member of the household casting `on_behalf_of` an owner (recorded as acting for them)."""
    require(actor, vote, "view")
    require_in_compound(actor, Ballot, "add", vote.compound_id)
    vote = Vote.objects.select_for_update().get(pk=vote.pk)
    now = timezone.now()
    if vote.status != VoteStatus.OPEN or now >= vote.closes_at:
        raise Conflict(_("表决未在进行中"), field="vote")
    if choice not in Choice.values:
        raise field_error("choice", _("请选择同意、反对或弃权"))
    elector = Elector.objects.filter(vote=vote, house=house).first()
    if elector is None:
        raise field_error("house", _("该房屋不在本次表决的业主名册中"))
    person_id = getattr(actor, "person_id", None)
    today = timezone.localtime(now).date()
    owners = current_owner_residencies(today).filter(house=house)
    acting_person_id = None
    if on_behalf_of is None:
        if person_id is None or not owners.filter(person_id=person_id).exists():
            raise Forbidden(_("只有该房屋的业主可以投票"))
        owner_id = person_id
    else:
        if not owners.filter(person_id=on_behalf_of.pk).exists():
            raise field_error("on_behalf_of", _("被代表的人不是该房屋的业主"))
        household = Residency.objects.filter(house=house, person_id=person_id, since__lte=today).filter(
            Q(until__isnull=True) | Q(until__gte=today))
        if person_id is None or person_id == on_behalf_of.pk or not household.exists():
            raise Forbidden(_("只有该房屋的家庭成员可以代业主投票"))
        owner_id, acting_person_id = on_behalf_of.pk, person_id
    if Ballot.objects.filter(vote=vote, house=house).exists():
        raise Conflict(_("该房屋已经投过票"), field="house")
    salt = new_salt()
    ballot = Ballot(compound_id=vote.compound_id, vote=vote, house=house, owner_id=owner_id, choice=choice,
                    cast_at=now, cast_by=actor, acting_person_id=acting_person_id,
                    receipt=receipt_of(vote_id=vote.pk, house_id=house.pk, choice=choice, salt=salt))
    return CastBallot(save_new(ballot), salt)


def outcome_of(vote: Vote) -> Outcome:
    """The Art. 278 outcome from the vote's frozen electorate and its ballots (no residency read)."""
    electorate = [ElectorRow(e.house_id, e.owner_id, e.area)
                  for e in Elector.objects.filter(vote=vote).only("house_id", "owner_id", "area")]
    ballots = [CastChoice(h, c) for h, c in Ballot.objects.filter(vote=vote).values_list("house_id", "choice")]
    return art278_outcome(electorate, ballots, major=vote.is_major)


@service
def close_vote(*, actor: Any, vote: Vote) -> Vote:
    require(actor, vote, "change")
    return _close(vote)


CLOSER_LABEL = "vote-closer"


def close_due_votes(*, now: dt.datetime | None = None) -> list[int]:
    """System job: close every open vote past its closing time; the ids it closed. No actor; audited
    through save_changes. Safe to run twice at once (the second finds each vote closed under its row
    lock and skips it) and to run late (whatever fell due meanwhile is closed, with the ballots cast
    before `closes_at`, since none is taken after it)."""
    from linli.core.context import ChangeContext, change_context

    now = now or timezone.now()
    closed = []
    due = Vote.objects.filter(status=VoteStatus.OPEN, closes_at__lte=now).order_by("pk").values_list("pk", flat=True)
    with change_context(ChangeContext(source="job", actor=CLOSER_LABEL)):
        for pk in due:
            # One transaction per vote, so one failure does not hold back the others' results.
            try:
                with transaction.atomic():
                    _close(Vote(pk=pk))
            except Conflict:
                continue  # another worker closed it first
            closed.append(pk)
    return closed


def _close(vote: Vote) -> Vote:
    vote = Vote.objects.select_for_update().get(pk=vote.pk)
    if vote.status != VoteStatus.OPEN:
        raise Conflict(_("只有进行中的表决可以结束"), field="status")
    return save_changes(vote, {"status": VoteStatus.CLOSED, "closed_at": timezone.now(),
                               "result": outcome_of(vote).as_record()})
