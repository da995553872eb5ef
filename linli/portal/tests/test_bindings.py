"""House binding: a person proves their phone, applies for a house, and staff of that compound verify
the request; approval gives a verified residency, a resident account and a message to the applicant."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from linli.accounts.models import AccountKind, OneTimeCode, User
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.testing import PHONES
from linli.notify.models import Delivery
from linli.notify.providers import ConsoleSmsProvider
from linli.people.identity import mainland_id_check_char
from linli.people.models import Person, Residency
from linli.portal import selectors, services
from linli.portal.models import BindingRequest

NEW_PHONE = "13500135001"
NEW_ID = "37028119900101001" + mainland_id_check_char("37028119900101001")
STAFF_BACKEND = "linli.accounts.backends.StaffPasswordBackend"


def _apply(district, *, phone=NEW_PHONE, id_number="", house=None, role="tenant", actor=None):
    return services.submit_binding(actor=actor, phone=phone, name="新住户", house=house or district.a.other_house,
                                   role=role, privacy_accepted=True, id_number=id_number)


def _options(page, level):
    select = re.search(rf'<select name="bind-{level}".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="(\d+)"', select))


def _code_for(phone):
    return next(m.params["code"] for m in reversed(ConsoleSmsProvider.sent) if m.phone == phone)


def test_the_code_step_answers_the_same_for_a_registered_and_an_unknown_phone(district):
    ConsoleSmsProvider.sent.clear()
    pages = []
    for phone in (PHONES["a_owner"], NEW_PHONE):
        answer = Client().post("/m/bind/", {"step": "phone", "resident-phone": phone})
        assert answer.status_code == 200
        pages.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", answer.content.decode())
                     .replace(phone, "PHONE"))
    assert pages[0] == pages[1]
    assert {m.phone for m in ConsoleSmsProvider.sent} == {PHONES["a_owner"], NEW_PHONE}


def test_a_newcomer_proves_the_phone_picks_the_house_level_by_level_and_files_a_request(district):
    ConsoleSmsProvider.sent.clear()
    client = Client()
    client.post("/m/bind/", {"step": "phone", "resident-phone": NEW_PHONE})
    form = client.post("/m/bind/", {"step": "code", "code-phone": NEW_PHONE, "code-code": _code_for(NEW_PHONE)})
    assert form.status_code == 200 and 'id="bind-form"' in form.content.decode()
    s = district.a
    picked = {"step": "house", "reload": "1", "bind-compound": s.compound.pk}
    page = client.post("/m/bind/", picked).content.decode()
    assert _options(page, "building") == {str(b.pk) for b in s.compound.buildings.all()}
    assert _options(page, "unit") == set()  # one level at a time
    picked.update({"bind-building": s.building.pk, "bind-unit": s.unit.pk})
    page = client.post("/m/bind/", picked).content.decode()
    assert _options(page, "house") == {str(s.house.pk), str(s.other_house.pk)} and 'class="error"' not in page
    del picked["reload"]
    picked.update({"bind-house": s.other_house.pk, "bind-name": "新住户", "bind-role": "tenant",
                   "bind-id_type": "mainland_id", "bind-id_number": "", "bind-privacy": "on"})
    done = client.post("/m/bind/", picked)
    assert done.status_code == 200 and 'id="binding-submitted"' in done.content.decode()
    request = BindingRequest.objects.get()
    assert request.status == "pending" and request.house == s.other_house and request.phone_masked == "135****5001"
    assert NEW_PHONE not in request.phone_cipher and request.privacy_version
    # The verifiers of that compound hear of it, with the house and nothing personal.
    told = Delivery.objects.filter(notification__title="新的房屋绑定申请", channel="inbox")
    assert set(told.values_list("recipient_id", flat=True)) == {s.users["property_manager"].pk,
                                                                s.users["customer_service"].pk}
    assert NEW_PHONE not in told.first().notification.body


def test_the_form_refuses_without_consent_and_names_the_field(district):
    with pytest.raises(ValidationError) as refused:
        services.submit_binding(phone=NEW_PHONE, name="新住户", house=district.a.other_house, role="tenant",
                                privacy_accepted=False)
    assert "privacy" in refused.value.message_dict


def test_a_second_pending_request_for_the_same_house_is_refused(district):
    _apply(district)
    with pytest.raises(Conflict):
        _apply(district)


def test_five_wrong_signup_codes_burn_the_code(district):
    ConsoleSmsProvider.sent.clear()
    from linli.accounts import services as accounts

    accounts.request_signup_code(phone=NEW_PHONE)
    code = _code_for(NEW_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(Forbidden):
            accounts.verify_signup_code(phone=NEW_PHONE, code=wrong)
    assert OneTimeCode.objects.get().attempts == 5
    with pytest.raises(Forbidden):
        accounts.verify_signup_code(phone=NEW_PHONE, code=code)


def test_a_signup_code_never_logs_anyone_in(district):
    from linli.accounts import services as accounts

    ConsoleSmsProvider.sent.clear()
    accounts.request_signup_code(phone=PHONES["a_owner"])
    with pytest.raises(Forbidden):
        accounts.verify_login_code(phone=PHONES["a_owner"], code=_code_for(PHONES["a_owner"]))


def test_approval_registers_the_person_binds_them_verified_and_tells_them(district, django_capture_on_commit_callbacks):
    request = _apply(district, id_number=NEW_ID)
    staff = district.a.users["customer_service"]
    ConsoleSmsProvider.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_binding(actor=staff, request=request)
    request.refresh_from_db()
    person = Person.objects.get(phone_digest=request.phone_digest)
    residency = Residency.objects.get(person=person, house=district.a.other_house)
    assert residency.verified_by == staff and residency.verified_at and residency.role == "tenant"
    account = User.objects.get(person=person)
    assert account.kind == AccountKind.RESIDENT and request.applicant == account and request.status == "approved"
    assert [m.template for m in ConsoleSmsProvider.sent if m.phone == NEW_PHONE] == ["notification"]
    assert Delivery.objects.filter(recipient=account, notification__title="房屋绑定已通过").exists()
    assert selectors.households(account)[0].house == district.a.other_house


def test_an_unregistered_applicant_without_an_id_needs_staff_to_enter_the_checked_id(district):
    request = _apply(district)
    staff = district.a.users["property_manager"]
    with pytest.raises(ValidationError) as refused:
        services.approve_binding(actor=staff, request=request)
    assert "id_number" in refused.value.message_dict
    services.approve_binding(actor=staff, request=request, id_number=NEW_ID)
    assert Person.objects.filter(id_digest=Person.id_digest_of(NEW_ID)).exists()


def test_a_known_resident_binding_another_house_is_the_same_person(district):
    owner = district.a.users["resident"]
    request = _apply(district, phone=PHONES["a_owner"], role="owner", actor=owner)
    persons = Person.objects.count()
    services.approve_binding(actor=district.a.users["property_manager"], request=request)
    assert Person.objects.count() == persons
    assert {r.house for r in selectors.households(owner)} == {district.a.house, district.a.other_house}


def test_rejection_needs_a_reason_and_texts_the_applicant(district, django_capture_on_commit_callbacks):
    request = _apply(district)
    staff = district.a.users["customer_service"]
    with pytest.raises(ValidationError):
        services.reject_binding(actor=staff, request=request, reason=" ")
    ConsoleSmsProvider.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_binding(actor=staff, request=request, reason="房屋信息不符")
    request.refresh_from_db()
    assert request.status == "rejected" and request.decided_by == staff
    assert [m.params["title"] for m in ConsoleSmsProvider.sent if m.phone == NEW_PHONE] == ["房屋绑定未通过"]
    with pytest.raises(Conflict):
        services.approve_binding(actor=staff, request=request, id_number=NEW_ID)


@pytest.mark.parametrize("who", ["b_manager", "a_guard", "a_cashier", "a_resident"])
def test_nobody_but_the_compounds_verifiers_decides(district, who):
    request = _apply(district, id_number=NEW_ID)
    tag, role = who.split("_", 1)
    user = getattr(district, tag).users["property_manager" if role == "manager" else role]
    with pytest.raises((NotFound, Forbidden)):
        services.approve_binding(actor=user, request=request)
    assert BindingRequest.objects.get().status == "pending"


def test_the_console_lists_pending_requests_and_approves_one(district, client, django_assert_max_num_queries):
    for phone in ("13500135001", "13500135002", "13500135003"):
        _apply(district, phone=phone, id_number="" if phone != NEW_PHONE else NEW_ID)
    _apply(district, phone="13500135004", house=district.b.other_house)
    client.force_login(district.a.users["customer_service"], backend=STAFF_BACKEND)
    with django_assert_max_num_queries(12):
        page = client.get("/bindings/")
    text = page.content.decode()
    assert page.status_code == 200 and text.count("135****500") == 3 and "13500135001" not in text
    assert 'href="/bindings/"' in text  # the console's navigation offers the page
    request = BindingRequest.objects.get(phone_digest=Person.phone_digest_of(NEW_PHONE))
    answer = client.post(f"/bindings/{request.pk}/approve/", {"id_number": ""})
    assert answer.status_code == 302
    assert BindingRequest.objects.get(pk=request.pk).status == "approved"
    other = BindingRequest.objects.get(compound=district.b.compound)
    assert client.get(f"/bindings/{other.pk}/").status_code == 404


def test_the_console_refusal_names_the_missing_id(district, client):
    request = _apply(district)
    client.force_login(district.a.users["property_manager"], backend=STAFF_BACKEND)
    answer = client.post(f"/bindings/{request.pk}/approve/", {"id_number": ""})
    assert answer.status_code == 400 and "请核对并填写其证件号码" in answer.content.decode()
    answer = client.post(f"/bindings/{request.pk}/reject/", {"reason": "查无此人"})
    assert answer.status_code == 302 and BindingRequest.objects.get().reason == "查无此人"


def test_a_logged_in_resident_binds_another_house_without_proving_the_phone_again(district, client):
    client.force_login(district.a.users["resident"], backend="linli.accounts.backends.ResidentCodeBackend")
    s = district.a
    page = client.get("/m/bind/")
    assert 'id="bind-form"' in page.content.decode() and "138****8001" in page.content.decode()
    client.post("/m/bind/", {"step": "house", "bind-compound": s.compound.pk, "bind-building": s.building.pk,
                             "bind-unit": s.unit.pk, "bind-house": s.other_house.pk, "bind-name": "A业主",
                             "bind-role": "owner", "bind-id_type": "mainland_id", "bind-privacy": "on"})
    request = BindingRequest.objects.get()
    assert request.applicant == s.users["resident"]
    mine = client.get("/m/bindings/").content.decode()
    assert str(s.other_house) in mine and "待审核" in mine
