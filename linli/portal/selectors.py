"""Reads for the portal's pages, always through the scoped selectors of the apps they show."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from linli.core.selectors import get_visible
from linli.people.models import CareTag, Person, Residency, ResidencyRole
from linli.places.models import Building, Compound, House, Unit
from linli.portal.models import BindingRequest
from linli.votes import selectors as vote_selectors
from linli.votes.models import Vote, VoteStatus

ELDERLY_TAGS = {CareTag.ELDERLY, CareTag.ELDERLY_ALONE}
ELDERLY_AGE = 60


def households(user: Any) -> list[Residency]:
    """The resident's current residencies (one per house), with the house and its place."""
    today = timezone.localdate()
    return list(Residency.objects.restrict(user, "view")
                .filter(person_id=user.person_id, since__lte=today)
                .filter(Q(until__isnull=True) | Q(until__gte=today))
                .select_related("house", "house__building", "house__unit", "house__compound")
                .order_by("house__compound__name", "house__building__number", "house__number"))


def _current(qs: Any) -> Any:
    today = timezone.localdate()
    return qs.filter(since__lte=today).filter(Q(until__isnull=True) | Q(until__gte=today))


def owned_house_ids(user: Any) -> set[int]:
    """Houses the user currently owns (they manage its family members and vote for it)."""
    if user.person_id is None:
        return set()
    return set(_current(Residency.objects.filter(person_id=user.person_id, role=ResidencyRole.OWNER))
               .values_list("house_id", flat=True))


def household_members(user: Any, house_ids: set[int] | list[int]) -> list[Residency]:
    """Current residencies of the given houses that the user may see (their own households)."""
    return list(_current(Residency.objects.restrict(user, "view").filter(house_id__in=house_ids))
                .select_related("person").order_by("house_id", "role", "id"))


def is_elderly(person: Person) -> bool:
    """Tagged as elderly by staff, or 60 or over by the birth date the ID number gave."""
    if set(person.care_tags or ()) & ELDERLY_TAGS:
        return True
    if person.birth_date is None:
        return False
    today = timezone.localdate()
    age = today.year - person.birth_date.year - ((today.month, today.day) < (person.birth_date.month,
                                                                              person.birth_date.day))
    return age >= ELDERLY_AGE


def elderly_in_my_households(user: Any) -> list[Person]:
    """Elderly people living in a house with the user, for whom the user may act (代办)."""
    if user.person_id is None:
        return []
    mine = _current(Residency.objects.filter(person_id=user.person_id)).values("house_id")
    others = (_current(Residency.objects.restrict(user, "view").filter(house_id__in=mine))
              .exclude(person_id=user.person_id).select_related("person"))
    seen: dict[int, Person] = {}
    for residency in others:
        if residency.person_id not in seen and is_elderly(residency.person):
            seen[residency.person_id] = residency.person
    return list(seen.values())


def binding_requests(user: Any, *, status: str = "", compound_id: int | None = None) -> QuerySet[BindingRequest]:
    qs = BindingRequest.objects.restrict(user, "view").select_related("house", "compound", "decided_by")
    if status:
        qs = qs.filter(status=status)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs.order_by("-id")


def binding_request(user: Any, pk: int) -> BindingRequest:
    return get_visible(BindingRequest.objects.select_related("house", "compound"), user, pk)


# The place tree an applicant picks their house from. Compound, building, unit and house numbers are
# not personal data; who lives where never appears here.

def bindable_compounds() -> QuerySet[Compound]:
    return Compound.objects.order_by("name").only("id", "name")


def bindable_buildings(compound_id: int | None) -> QuerySet[Building]:
    return Building.objects.filter(compound_id=compound_id).order_by("number").only("id", "number", "name")


def bindable_units(building_id: int | None) -> QuerySet[Unit]:
    return Unit.objects.filter(building_id=building_id).order_by("number").only("id", "number")


def bindable_houses(unit_id: int | None) -> QuerySet[House]:
    return House.objects.filter(unit_id=unit_id).order_by("floor", "number").only("id", "number", "unit_id")


# Votes --------------------------------------------------------------------------------------

def votes_for(user: Any) -> QuerySet[Vote]:
    """Open and closed votes of the resident's compounds, open ones first."""
    return (vote_selectors.votes(user).filter(status__in=(VoteStatus.OPEN, VoteStatus.CLOSED))
            .select_related("compound").order_by("-status", "-closes_at"))
