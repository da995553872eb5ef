"""The "我的" page: elderly mode and language are remembered per account and carried into each log-in;
a family member acts for an elderly owner (代办) with a banner on every page; push is offered."""

from django.test import Client

from linli.accounts import services as accounts
from linli.core.testing import PHONES
from linli.notify.providers import ConsoleSmsProvider
from linli.people import services as people
from linli.portal.models import PortalPreference
from linli.portal.selectors import elderly_in_my_households, is_elderly

RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"


def _log_in(phone):
    ConsoleSmsProvider.sent.clear()
    client = Client()
    client.post("/m/login/", {"step": "phone", "resident-phone": phone})
    code = ConsoleSmsProvider.sent[-1].params["code"]
    client.post("/m/login/", {"step": "code", "code-phone": phone, "code-code": code, "next": "/m/"})
    return client


def test_elderly_mode_is_stored_and_the_home_page_keeps_four_big_buttons(district, client):
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    assert 'class="portal"' in client.get("/m/").content.decode()
    client.post("/m/me/elderly/", {"elderly_mode": "on"})
    assert PortalPreference.objects.get(user=district.a.users["resident"]).elderly_mode
    home = client.get("/m/").content.decode()
    assert 'class="portal elderly"' in home and 'id="elderly-buttons"' in home and 'id="shortcuts"' not in home
    assert "呼叫物业" in home and 'data-shortcut="inbox"' not in home
    # A new session on another phone starts in elderly mode too.
    fresh = _log_in(PHONES["a_owner"])
    assert 'class="portal elderly"' in fresh.get("/m/").content.decode()
    client.post("/m/me/elderly/", {})
    assert 'class="portal"' in client.get("/m/").content.decode()


def test_the_language_choice_is_kept_and_applied_at_the_next_log_in(district, client):
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    answer = client.post("/m/me/language/", {"language": "en", "next": "/m/me/"})
    assert answer.status_code == 302 and answer["Location"] == "/m/me/"
    assert client.cookies["django_language"].value == "en"
    assert PortalPreference.objects.get(user=district.a.users["resident"]).language == "en"
    fresh = _log_in(PHONES["a_owner"])
    assert fresh.cookies["django_language"].value == "en"


def test_elderly_means_a_care_tag_or_sixty_and_over(district):
    assert not is_elderly(district.a.owner)
    district.a.owner.care_tags = ["elderly_alone"]
    assert is_elderly(district.a.owner)
    assert is_elderly(district.b.owner)  # born 1960 by the ID number


def _elderly_owner_with_family(district):
    people.update_person(actor=district.admin, person=district.a.owner, care_tags=["elderly"])
    return accounts.create_resident_account(actor=district.admin, person=district.a.family)


def test_a_family_member_acts_for_the_elderly_owner_with_a_banner_on_every_page(district, client):
    family = _elderly_owner_with_family(district)
    assert [p.pk for p in elderly_in_my_households(family)] == [district.a.owner.pk]
    client.force_login(family, backend=RESIDENT_BACKEND)
    me = client.get("/m/me/").content.decode()
    assert 'id="acting-for"' in me
    client.post("/m/me/acting/", {"person": district.a.owner.pk})
    for page in ("/m/", "/m/me/", "/m/inbox/", "/m/votes/"):
        assert "正在为A业主办理" in client.get(page).content.decode(), page
    client.post("/m/me/acting/", {"stop": "1"})
    assert "正在为" not in client.get("/m/").content.decode()


def test_nobody_acts_for_a_person_outside_their_household(district, client):
    family = _elderly_owner_with_family(district)
    client.force_login(family, backend=RESIDENT_BACKEND)
    client.post("/m/me/acting/", {"person": district.b.owner.pk})
    assert "正在为" not in client.get("/m/").content.decode()


def test_the_owner_without_elderly_household_members_is_offered_no_acting(district, client):
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    page = client.get("/m/me/").content.decode()
    assert 'id="acting-for"' not in page and 'id="push-button"' in page and "未开启推送" in page


def test_the_push_subscription_the_page_sends_is_accepted_with_the_session_and_csrf(district):
    from linli.notify.webpush import b64url

    client = Client(enforce_csrf_checks=True)
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    client.get("/m/me/")
    token = client.cookies["csrftoken"].value
    key = client.get("/api/notifications/webpush/key")
    assert key.status_code == 200 and key.json()["public_key"]
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962,
                                                                             PublicFormat.UncompressedPoint)
    body = {"endpoint": "https://push.example.test/send/abc", "keys": {"p256dh": b64url(point), "auth": b64url(b"0" * 16)}}
    refused = client.post("/api/notifications/webpush/subscriptions", body, content_type="application/json")
    assert refused.status_code == 403
    answer = client.post("/api/notifications/webpush/subscriptions", body, content_type="application/json",
                         HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 201
    assert "已开启推送" in client.get("/m/me/").content.decode()
