"""Votes on the phone: an owner casts one ballot per house and keeps the receipt; a family member casts
for an elderly owner in 代办 mode; after closing the result and the receipts list are published."""

import datetime as dt

from django.utils import timezone

from linli.accounts import services as accounts
from linli.people import services as people
from linli.votes import services as votes
from linli.votes.models import Ballot

RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"


def _open_vote(district, side="a", title="更换小区电梯"):
    manager = getattr(district, side).users["property_manager"]
    vote = votes.create_vote(actor=manager, compound=getattr(district, side).compound, title=title,
                             closes_at=timezone.now() + dt.timedelta(days=7))
    return votes.open_vote(actor=manager, vote=vote)


def test_the_list_shows_my_compounds_open_votes_only(district, client, django_assert_max_num_queries):
    _open_vote(district)
    _open_vote(district, "b", "B小区表决")
    manager = district.a.users["property_manager"]
    votes.create_vote(actor=manager, compound=district.a.compound, title="草稿表决",
                      closes_at=timezone.now() + dt.timedelta(days=7))
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    with django_assert_max_num_queries(10):
        text = client.get("/m/votes/").content.decode()
    assert "更换小区电梯" in text and "B小区表决" not in text and "草稿表决" not in text


def test_an_owner_casts_once_and_sees_the_receipt_with_its_salt(district, client):
    vote = _open_vote(district)
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    page = client.post(f"/m/votes/{vote.pk}/", {"house": district.a.house.pk, "choice": "approve"})
    text = page.content.decode()
    ballot = Ballot.objects.get(vote=vote)
    assert page.status_code == 200 and ballot.receipt in text and 'class="salt"' in text
    again = client.post(f"/m/votes/{vote.pk}/", {"house": district.a.house.pk, "choice": "oppose"})
    assert again.status_code == 400 and "该房屋已经投过票" in again.content.decode()
    assert Ballot.objects.get(vote=vote).choice == "approve"


def test_a_family_member_casts_for_the_elderly_owner_only_in_acting_mode(district, client):
    vote = _open_vote(district)
    people.update_person(actor=district.admin, person=district.a.owner, care_tags=["elderly"])
    family = accounts.create_resident_account(actor=district.admin, person=district.a.family)
    client.force_login(family, backend=RESIDENT_BACKEND)
    page = client.get(f"/m/votes/{vote.pk}/").content.decode()
    assert 'class="form cast"' not in page  # not an owner, not acting
    client.post("/m/me/acting/", {"person": district.a.owner.pk})
    page = client.get(f"/m/votes/{vote.pk}/").content.decode()
    assert 'class="form cast"' in page and "正在为A业主办理" in page
    client.post(f"/m/votes/{vote.pk}/", {"house": district.a.house.pk, "choice": "approve"})
    ballot = Ballot.objects.get(vote=vote)
    assert ballot.owner == district.a.owner and ballot.acting_person == district.a.family and ballot.cast_by == family


def test_after_closing_the_result_and_receipts_are_published_and_mine_is_marked(district, client):
    vote = _open_vote(district)
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    client.post(f"/m/votes/{vote.pk}/", {"house": district.a.house.pk, "choice": "approve"})
    open_page = client.get(f"/m/votes/{vote.pk}/").content.decode()
    assert 'id="result"' not in open_page
    votes.close_vote(actor=district.a.users["property_manager"], vote=vote)
    page = client.get(f"/m/votes/{vote.pk}/").content.decode()
    receipt = Ballot.objects.get(vote=vote).receipt
    assert 'id="result"' in page and 'class="mine"' in page and receipt in page and "100.0%" in page


def test_a_vote_of_another_compound_is_not_found(district, client):
    vote = _open_vote(district, "b", "B小区表决")
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    assert client.get(f"/m/votes/{vote.pk}/").status_code == 404
