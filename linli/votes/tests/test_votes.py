"""Owners' votes end to end: the frozen electorate, one ballot per house, acting for an owner,
receipts owners can check, results only after closing, and nothing crossing compounds."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.accounts import services as accounts
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.people import services as people
from linli.places import services as places
from linli.places.models import House
from linli.votes import selectors, services
from linli.votes.models import Ballot, Elector, Vote
from linli.votes.receipts import receipt_of

SINCE = dt.date(2015, 1, 1)


def _owner(district, number, area, passport):
    """A further house in compound a with its own owner and resident account."""
    s, admin = district.a, district.admin
    house = places.create_house(actor=admin, unit=s.unit, number=number, floor=int(number[0]), built_area=area)
    person = people.create_person(actor=admin, compound=s.compound, name=f"业主{number}", id_type="passport",
                                  id_number=passport, phone=f"13600136{number}")
    people.add_residency(actor=admin, person=person, house=house, role="owner", since=SINCE)
    return house, accounts.create_resident_account(actor=admin, person=person)


def _vote(district, *, major=False, opened=True):
    manager = district.a.users["property_manager"]
    vote = services.create_vote(
        actor=manager, compound=district.a.compound, title="更换小区电梯", closes_at=timezone.now() + dt.timedelta(days=7),
        matter_kind="major" if major else "ordinary", major_matter="rebuild" if major else "")
    return services.open_vote(actor=manager, vote=vote) if opened else vote


def test_opening_a_vote_freezes_every_owned_house_with_its_area_and_owner(district):
    house, _ = _owner(district, "601", "120.00", "E10000001")
    vote = _vote(district)
    electors = {e.house_id: e for e in Elector.objects.filter(vote=vote)}
    assert set(electors) == {district.a.house.pk, house.pk}  # the 502 has no owner on record
    assert electors[district.a.house.pk].area == Decimal("86.50") and vote.area_basis == "built"
    assert electors[district.a.house.pk].owner_id == district.a.owner.pk and vote.status == "open"


def test_the_inner_area_weighs_each_house_when_every_house_on_the_roll_has_one(district):
    house, _ = _owner(district, "601", "120.00", "E10000001")
    House.objects.filter(pk=district.a.house.pk).update(inner_area=Decimal("70.25"))
    assert _vote(district).area_basis == "built"  # the 601 has no inner area: built area for all
    House.objects.filter(pk=house.pk).update(inner_area=Decimal("99.75"))
    vote = _vote(district)
    assert vote.area_basis == "inner"
    assert services.outcome_of(vote).total_area == 170


def test_an_owner_casts_once_and_a_second_ballot_for_the_house_is_refused(district):
    vote = _vote(district)
    resident = district.a.users["resident"]
    cast = services.cast_ballot(actor=resident, vote=vote, house=district.a.house, choice="approve")
    assert cast.ballot.owner_id == district.a.owner.pk and not cast.ballot.acting_for_owner
    with pytest.raises(Conflict):
        services.cast_ballot(actor=resident, vote=vote, house=district.a.house, choice="oppose")
    assert Ballot.objects.get(vote=vote).choice == "approve"


def test_a_household_member_who_is_not_an_owner_cannot_vote_in_their_own_name(district):
    vote = _vote(district)
    family = accounts.create_resident_account(actor=district.admin, person=district.a.family)
    with pytest.raises(Forbidden):
        services.cast_ballot(actor=family, vote=vote, house=district.a.house, choice="approve")
    assert not Ballot.objects.filter(vote=vote).exists()


def test_an_owner_cannot_vote_for_a_neighbours_house(district):
    house, _ = _owner(district, "601", "120.00", "E10000001")
    vote = _vote(district)
    with pytest.raises((Forbidden, NotFound)):
        services.cast_ballot(actor=district.a.users["resident"], vote=vote, house=house, choice="approve")


def test_a_family_member_acting_for_an_elderly_owner_is_recorded_as_such(district):
    vote = _vote(district)
    family = accounts.create_resident_account(actor=district.admin, person=district.a.family)
    cast = services.cast_ballot(actor=family, vote=vote, house=district.a.house, choice="approve",
                                on_behalf_of=district.a.owner)
    ballot = Ballot.objects.get(pk=cast.ballot.pk)
    assert ballot.owner_id == district.a.owner.pk and ballot.acting_person_id == district.a.family.pk
    assert ballot.cast_by == family and ballot.acting_for_owner
    with pytest.raises(Conflict):
        services.cast_ballot(actor=district.a.users["resident"], vote=vote, house=district.a.house, choice="oppose")


def test_staff_and_strangers_cannot_act_for_an_owner(district):
    _, neighbour = _owner(district, "601", "120.00", "E10000001")
    vote = _vote(district)
    with pytest.raises(Forbidden):
        services.cast_ballot(actor=neighbour, vote=vote, house=district.a.house, choice="approve",
                             on_behalf_of=district.a.owner)
    with pytest.raises((Forbidden, NotFound)):
        services.cast_ballot(actor=district.a.users["guard"], vote=vote, house=district.a.house,
                             choice="approve", on_behalf_of=district.a.owner)
    assert not Ballot.objects.filter(vote=vote).exists()


def test_results_stay_as_frozen_when_residencies_change_during_and_after_the_vote(district):
    house, neighbour = _owner(district, "601", "120.00", "E10000001")
    vote = _vote(district)
    services.cast_ballot(actor=district.a.users["resident"], vote=vote, house=district.a.house, choice="approve")
    services.cast_ballot(actor=neighbour, vote=vote, house=house, choice="oppose")
    # A new owner moves into the 502 after the vote opened: not on the roll, cannot vote.
    newcomer = people.create_person(actor=district.admin, compound=district.a.compound, name="新业主",
                                    id_type="passport", id_number="E10000002", phone="13600136999")
    people.add_residency(actor=district.admin, person=newcomer, house=district.a.other_house, role="owner",
                         since=SINCE)
    newcomer_account = accounts.create_resident_account(actor=district.admin, person=newcomer)
    with pytest.raises(ValidationError):
        services.cast_ballot(actor=newcomer_account, vote=vote, house=district.a.other_house, choice="approve")
    closed = services.close_vote(actor=district.a.users["property_manager"], vote=vote)
    before = closed.result
    people.end_residency(actor=district.admin, residency=district.a.residency, until=timezone.localdate())
    assert services.outcome_of(vote).as_record() == before == Vote.objects.get(pk=vote.pk).result
    assert before["total_area"] == "413/2" and before["participating_owners"] == 2
    assert before["approving_area"] == "173/2" and before["passed"] is False


def test_owners_see_results_and_receipts_only_after_closing_and_can_find_their_own(district):
    vote = _vote(district)
    resident = district.a.users["resident"]
    cast = services.cast_ballot(actor=resident, vote=vote, house=district.a.house, choice="approve")
    with pytest.raises(Conflict):
        selectors.result(resident, vote.pk)
    services.close_vote(actor=district.a.users["property_manager"], vote=vote)
    assert selectors.result(resident, vote.pk)["passed"] is True
    mine = receipt_of(vote_id=vote.pk, house_id=district.a.house.pk, choice="approve", salt=cast.salt)
    assert (mine, "approve") in selectors.published_receipts(resident, vote.pk)
    forged = receipt_of(vote_id=vote.pk, house_id=district.a.house.pk, choice="oppose", salt=cast.salt)
    assert forged not in dict(selectors.published_receipts(resident, vote.pk))


def test_residents_never_see_a_draft_and_no_ballot_is_taken_before_opening(district):
    draft = _vote(district, opened=False)
    resident = district.a.users["resident"]
    assert not selectors.votes(resident).exists()
    with pytest.raises(NotFound):
        services.cast_ballot(actor=resident, vote=draft, house=district.a.house, choice="approve")


def test_no_ballot_is_taken_after_the_closing_time(district):
    vote = _vote(district)
    Vote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(Conflict):
        services.cast_ballot(actor=district.a.users["resident"], vote=vote, house=district.a.house, choice="approve")
    assert services.close_due_votes() == [vote.pk]
    assert Vote.objects.get(pk=vote.pk).status == "closed"


def test_only_managers_and_community_officers_organise_votes(district):
    officer_vote = services.create_vote(actor=district.a.users["community_officer"], compound=district.a.compound,
                                        title="选聘物业服务企业", closes_at=timezone.now() + dt.timedelta(days=3))
    assert officer_vote.status == "draft"
    for role in ("guard", "cashier", "street_officer", "resident"):
        with pytest.raises((Forbidden, NotFound)):
            services.create_vote(actor=district.a.users[role], compound=district.a.compound, title="x",
                                 closes_at=timezone.now() + dt.timedelta(days=3))
    assert selectors.votes(district.a.users["street_officer"]).filter(pk=officer_vote.pk).exists()


def test_a_major_matter_must_name_its_category(district):
    with pytest.raises(ValidationError):
        services.create_vote(actor=district.a.users["property_manager"], compound=district.a.compound,
                             title="利用电梯广告经营", closes_at=timezone.now() + dt.timedelta(days=3),
                             matter_kind="major")
    assert _vote(district, major=True).is_major


def test_compound_b_staff_see_nothing_of_compound_a_votes(district):
    vote = _vote(district)
    services.cast_ballot(actor=district.a.users["resident"], vote=vote, house=district.a.house, choice="approve")
    b_manager, b_resident = district.b.users["property_manager"], district.b.users["resident"]
    assert not selectors.votes(b_manager).exists() and not selectors.votes(b_resident).exists()
    assert not Ballot.objects.restrict(b_manager).exists() and not Elector.objects.restrict(b_manager).exists()
    with pytest.raises(NotFound):
        selectors.vote(b_manager, vote.pk)
    with pytest.raises(NotFound):
        services.close_vote(actor=b_manager, vote=vote)
    with pytest.raises(NotFound):
        services.create_vote(actor=b_manager, compound=district.a.compound, title="x",
                             closes_at=timezone.now() + dt.timedelta(days=3))
    with pytest.raises(NotFound):
        services.cast_ballot(actor=b_resident, vote=vote, house=district.a.house, choice="oppose")
