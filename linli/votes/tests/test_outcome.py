"""The Art. 278 outcome at each threshold's edge, in both directions, on crafted houses and areas."""

from decimal import Decimal
from fractions import Fraction

from linli.votes.outcome import CastChoice, ElectorRow, art278_outcome


def _estate(*areas, owners=None):
    """Houses 1..n with these exclusive areas, each owned by its own person unless `owners` says."""
    owners = owners or list(range(1, len(areas) + 1))
    return [ElectorRow(house_id=i, owner_id=o, area=Decimal(str(a))) for i, (a, o) in
            enumerate(zip(areas, owners, strict=True), start=1)]


def _ballots(approve=(), oppose=(), abstain=()):
    return ([CastChoice(h, "approve") for h in approve] + [CastChoice(h, "oppose") for h in oppose]
            + [CastChoice(h, "abstain") for h in abstain])


def test_exactly_two_thirds_of_the_area_taking_part_meets_the_quorum():
    out = art278_outcome(_estate(100, 100, 100, 100, 100, 100), _ballots(approve=(1, 2, 3, 4)), major=False)
    assert out.participation_area_share == Fraction(2, 3)
    assert out.participation_area_met and out.participation_headcount_met and out.passed


def test_one_square_metre_short_of_two_thirds_of_the_area_fails_the_quorum():
    out = art278_outcome(_estate(100, 100, 100, 99, 100, 101), _ballots(approve=(1, 2, 3, 4)), major=False)
    assert out.participating_area == 399 and out.total_area == 600
    assert not out.participation_area_met and out.participation_headcount_met
    assert not out.quorate and not out.passed


def test_exactly_two_thirds_of_the_owners_taking_part_meets_the_quorum():
    estate = _estate(300, 300, 300, 300, 300, 10, 10, 10, 10)
    out = art278_outcome(estate, _ballots(approve=(1, 2, 3, 4, 5, 6)), major=False)
    assert out.participation_headcount_share == Fraction(2, 3)
    assert out.participation_headcount_met and out.passed


def test_one_owner_short_of_two_thirds_fails_the_quorum_even_with_most_of_the_area():
    estate = _estate(300, 300, 300, 300, 300, 10, 10, 10, 10)
    out = art278_outcome(estate, _ballots(approve=(1, 2, 3, 4, 5)), major=False)
    assert out.participation_headcount_share == Fraction(5, 9)
    assert out.participation_area_met and not out.participation_headcount_met and not out.passed


def test_exactly_half_the_participating_area_approving_does_not_pass():
    out = art278_outcome(_estate(100, 100, 50, 125, 125), _ballots(approve=(1, 2, 3), oppose=(4, 5)), major=False)
    assert out.quorate and out.approval_area_share == Fraction(1, 2)
    assert out.approval_headcount_met and not out.approval_area_met and not out.passed


def test_one_square_metre_over_half_the_participating_area_passes():
    out = art278_outcome(_estate(100, 100, 51, 124, 125), _ballots(approve=(1, 2, 3), oppose=(4, 5)), major=False)
    assert out.approval_area_share == Fraction(251, 500)
    assert out.approval_area_met and out.approval_headcount_met and out.passed


def test_exactly_half_the_participating_owners_approving_does_not_pass():
    out = art278_outcome(_estate(200, 200, 10, 30, 30, 30), _ballots(approve=(1, 2, 3), oppose=(4, 5, 6)),
                         major=False)
    assert out.approval_headcount_share == Fraction(1, 2)
    assert out.approval_area_met and not out.approval_headcount_met and not out.passed


def test_one_owner_over_half_the_participating_owners_passes():
    out = art278_outcome(_estate(200, 200, 10, 30, 30, 30), _ballots(approve=(1, 2, 3, 4), oppose=(5, 6)),
                         major=False)
    assert out.approval_headcount_share == Fraction(2, 3) and out.passed


def test_a_major_matter_passes_at_exactly_three_quarters_of_area_and_owners():
    # 四分之三以上 includes three quarters itself (Civil Code Art. 1259).
    out = art278_outcome(_estate(100, 100, 100, 100), _ballots(approve=(1, 2, 3), oppose=(4,)), major=True)
    assert out.approval_area_share == Fraction(3, 4) == out.approval_headcount_share
    assert out.passed


def test_a_major_matter_passes_over_three_quarters():
    out = art278_outcome(_estate(100, 100, 100, 100, 100), _ballots(approve=(1, 2, 3, 4), oppose=(5,)), major=True)
    assert out.approval_area_share == Fraction(4, 5) and out.passed


def test_a_major_matter_fails_one_square_metre_under_three_quarters_of_the_area():
    out = art278_outcome(_estate(100, 100, 99, 101), _ballots(approve=(1, 2, 3), oppose=(4,)), major=True)
    assert out.approval_area_share == Fraction(299, 400)
    assert out.approval_headcount_met and not out.approval_area_met and not out.passed


def test_a_major_matter_fails_under_three_quarters_of_the_owners():
    estate = _estate(100, 100, 100, 100, 100, 1, 1, 1)
    out = art278_outcome(estate, _ballots(approve=(1, 2, 3, 4, 5), oppose=(6, 7, 8)), major=True)
    assert out.approval_headcount_share == Fraction(5, 8)
    assert out.approval_area_met and not out.approval_headcount_met and not out.passed


def test_two_thirds_approval_passes_an_ordinary_matter_but_not_a_major_one():
    estate, ballots = _estate(100, 100, 100), _ballots(approve=(1, 2), oppose=(3,))
    assert art278_outcome(estate, ballots, major=False).passed
    assert not art278_outcome(estate, ballots, major=True).passed


def test_an_abstention_takes_part_but_does_not_approve():
    out = art278_outcome(_estate(100, 100, 100), _ballots(approve=(1,), abstain=(2, 3)), major=False)
    assert out.quorate and out.participating_owners == 3 and out.approving_owners == 1 and not out.passed


def test_an_owner_of_several_houses_is_one_head_but_every_house_weighs_its_area():
    # Owner 1 owns houses 1-3; owners 2 and 3 one house each: three heads, five houses.
    estate = _estate(100, 100, 100, 100, 100, owners=[1, 1, 1, 2, 3])
    out = art278_outcome(estate, _ballots(approve=(1, 2, 3), oppose=(4,)), major=False)
    assert out.total_owners == 3 and out.participating_owners == 2
    assert out.participation_headcount_share == Fraction(2, 3) and out.participating_area == 400
    assert out.approval_headcount_share == Fraction(1, 2) and not out.passed


def test_an_owner_who_splits_their_houses_ballots_approves_by_area_only():
    estate = _estate(100, 100, 100, owners=[1, 1, 2])
    out = art278_outcome(estate, _ballots(approve=(1, 3), oppose=(2,)), major=False)
    assert out.approving_area == 200 and out.approving_owners == 1 and out.participating_owners == 2


def test_areas_to_the_hundredth_are_compared_exactly():
    just_met = art278_outcome(_estate("66.67", "33.33"), _ballots(approve=(1,)), major=False)
    just_short = art278_outcome(_estate("66.66", "33.34"), _ballots(approve=(1,)), major=False)
    assert just_met.participation_area_met and not just_short.participation_area_met


def test_a_ballot_outside_the_electorate_and_an_empty_vote_count_for_nothing():
    out = art278_outcome(_estate(100, 100, 100), _ballots(approve=(9,)), major=False)
    assert out.participating_owners == 0 and not out.quorate and not out.passed
    empty = art278_outcome([], [], major=False)
    assert not empty.quorate and not empty.passed and empty.as_record()["passed"] is False
