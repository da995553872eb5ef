"""Family members: an owner adds a household member (the owner's word is the verification) and
ends a member's residency; nobody else manages the household."""

import pytest
from django.core.exceptions import ValidationError

from linli.accounts.models import User
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.testing import PHONES
from linli.people.identity import mainland_id_check_char
from linli.people.models import Person, Residency
from linli.portal import selectors, services

CHILD_ID = "37028120100505001" + mainland_id_check_char("37028120100505001")
CHILD_PHONE = "13500135009"
RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"


def _family_account(district):
    from linli.accounts import services as accounts

    return accounts.create_resident_account(actor=district.admin, person=district.a.family)


def test_an_owner_adds_a_member_who_is_verified_by_the_owner_and_can_log_in(district):
    owner = district.a.users["resident"]
    residency = services.add_family_member(actor=owner, house=district.a.house, name="A孩子", phone=CHILD_PHONE,
                                           id_number=CHILD_ID)
    assert residency.verified_by == owner and residency.verified_at and residency.role == "family"
    account = User.objects.get(person=residency.person)
    assert [r.house for r in selectors.households(account)] == [district.a.house]


def test_a_first_time_member_needs_an_id_number(district):
    with pytest.raises(ValidationError) as refused:
        services.add_family_member(actor=district.a.users["resident"], house=district.a.house, name="A孩子",
                                   phone=CHILD_PHONE)
    assert "id_number" in refused.value.message_dict and not Person.objects.filter(name="A孩子").exists()


def test_a_person_already_living_there_is_not_added_twice(district):
    with pytest.raises(Conflict):
        services.add_family_member(actor=district.a.users["resident"], house=district.a.house, name="A家属",
                                   phone=PHONES["a_family"])


def test_a_family_member_or_another_owner_cannot_manage_this_household(district):
    family = _family_account(district)
    with pytest.raises(Forbidden):
        services.add_family_member(actor=family, house=district.a.house, name="A孩子", phone=CHILD_PHONE,
                                   id_number=CHILD_ID)
    with pytest.raises(NotFound):
        services.add_family_member(actor=district.b.users["resident"], house=district.a.house, name="A孩子",
                                   phone=CHILD_PHONE, id_number=CHILD_ID)


def test_the_owner_ends_a_members_residency_but_not_their_own(district):
    owner = district.a.users["resident"]
    member = Residency.objects.get(person=district.a.family, house=district.a.house)
    ended = services.end_family_member(actor=owner, residency=member)
    assert ended.until is not None
    with pytest.raises(Forbidden):
        services.end_family_member(actor=owner, residency=district.a.residency)


def test_the_family_page_shows_the_household_and_adds_a_member(district, client, django_assert_max_num_queries):
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    with django_assert_max_num_queries(12):
        page = client.get("/m/family/")
    text = page.content.decode()
    assert "A家属" in text and "B家属" not in text and "添加家庭成员" in text
    refused = client.post(f"/m/family/houses/{district.a.house.pk}/members/",
                          {"member-name": "A孩子", "member-phone": CHILD_PHONE, "member-role": "family",
                           "member-id_type": "mainland_id", "member-id_number": ""})
    assert refused.status_code == 400 and "首次登记的成员须填写证件号码" in refused.content.decode()
    added = client.post(f"/m/family/houses/{district.a.house.pk}/members/",
                        {"member-name": "A孩子", "member-phone": CHILD_PHONE, "member-role": "family",
                         "member-id_type": "mainland_id", "member-id_number": CHILD_ID})
    assert added.status_code == 302
    member = Residency.objects.get(person__name="A孩子")
    assert client.post(f"/m/family/members/{member.pk}/end/").status_code == 302
    assert Residency.objects.get(pk=member.pk).until is not None
