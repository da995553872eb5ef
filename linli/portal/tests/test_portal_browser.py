"""In a phone-sized Chromium: a newcomer applies to bind a house and logs in once staff approve; elderly
mode enlarges the type and a family member votes for an elderly owner; the app installs (manifest and
service worker); English is one tap away."""

import datetime as dt

import pytest
from django.utils import timezone

from linli.accounts import services as accounts
from linli.core.testing import PASSWORD, PHONES, build_district
from linli.notify.providers import ConsoleSmsProvider
from linli.people import services as people
from linli.people.identity import mainland_id_check_char
from linli.portal.tests.conftest import log_in_resident, log_in_staff
from linli.votes import services as votes
from linli.votes.models import Ballot

NEW_PHONE = "13500135011"
NEW_ID = "37028119900101002" + mainland_id_check_char("37028119900101002")


@pytest.mark.django_db(transaction=True)
def test_a_newcomer_binds_a_house_staff_approve_and_the_newcomer_logs_in_to_it(live_server, phone_browser):
    district = build_district()
    s, base = district.a, live_server.url
    ConsoleSmsProvider.sent.clear()
    page = phone_browser.new_page()
    page.goto(f"{base}/m/bind/")
    page.fill("#id_resident-phone", NEW_PHONE)
    page.click("#phone-form button[type=submit]")
    page.wait_for_selector("#code-form")
    page.fill("#id_code-code", next(m.params["code"] for m in ConsoleSmsProvider.sent if m.phone == NEW_PHONE))
    page.click("#code-form button[type=submit]")
    page.wait_for_selector("#bind-form")
    page.fill("#id_bind-name", "新住户")
    # Each level reloads the form with the next one's choices (portal.js), like a chained picker.
    page.select_option("#id_bind-compound", str(s.compound.pk))
    page.wait_for_selector(f"#id_bind-building option[value='{s.building.pk}']", state="attached")
    page.select_option("#id_bind-building", str(s.building.pk))
    page.wait_for_selector(f"#id_bind-unit option[value='{s.unit.pk}']", state="attached")
    page.select_option("#id_bind-unit", str(s.unit.pk))
    page.wait_for_selector(f"#id_bind-house option[value='{s.other_house.pk}']", state="attached")
    page.select_option("#id_bind-house", str(s.other_house.pk))
    page.select_option("#id_bind-role", "tenant")
    page.fill("#id_bind-id_number", NEW_ID)
    page.check("#id_bind-privacy")
    page.click("#bind-form button[type=submit]")
    phone_browser.expect(page.locator("#binding-submitted")).to_contain_text(str(s.other_house))

    staff = phone_browser.new_page()
    log_in_staff(staff, base, s.users["customer_service"].username, PASSWORD, next_url="/bindings/")
    staff.click("#binding-list a")
    staff.click("#approve-form button[type=submit]")
    staff.wait_for_url(f"{base}/bindings/")

    log_in_resident(page, base, NEW_PHONE)
    phone_browser.expect(page.locator("#households")).to_contain_text(s.other_house.number)


@pytest.mark.django_db(transaction=True)
def test_elderly_mode_enlarges_the_type_and_a_family_member_votes_for_the_elderly_owner(live_server, phone_browser):
    district = build_district()
    s, base = district.a, live_server.url
    people.update_person(actor=district.admin, person=s.owner, care_tags=["elderly"])
    accounts.create_resident_account(actor=district.admin, person=s.family)
    manager = s.users["property_manager"]
    vote = votes.open_vote(actor=manager, vote=votes.create_vote(
        actor=manager, compound=s.compound, title="加装电梯", closes_at=timezone.now() + dt.timedelta(days=7)))

    owner = phone_browser.new_page()
    log_in_resident(owner, base, PHONES["a_owner"])
    size = owner.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).fontSize)")
    owner.goto(f"{base}/m/me/")
    with owner.expect_navigation():
        owner.check("#elderly-switch")
    owner.goto(f"{base}/m/")
    larger = owner.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).fontSize)")
    assert larger >= size * 1.3
    phone_browser.expect(owner.locator("#elderly-buttons a")).to_have_count(4)

    family = phone_browser.new_page()
    log_in_resident(family, base, PHONES["a_family"])
    family.goto(f"{base}/m/me/")
    family.click(f"#acting-for button[data-person='{s.owner.pk}']")
    phone_browser.expect(family.locator("#acting-banner")).to_contain_text("正在为A业主办理")
    family.goto(f"{base}/m/votes/")
    family.click(f"a[data-vote='{vote.pk}']")
    family.click(".elector button.choice-approve")
    phone_browser.expect(family.locator("#receipt")).to_be_visible()
    ballot = Ballot.objects.get(vote=vote)
    assert ballot.acting_person_id == s.family.pk and ballot.owner_id == s.owner.pk
    phone_browser.expect(family.locator("#receipt .receipt")).to_have_text(ballot.receipt)


@pytest.mark.django_db(transaction=True)
def test_the_portal_installs_with_its_manifest_and_service_worker(live_server, phone_browser):
    build_district()
    base = live_server.url
    page = phone_browser.new_page()
    log_in_resident(page, base, PHONES["a_owner"])
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{base}/m/"
    manifest = page.evaluate("""async () => {
        const link = document.querySelector('link[rel=manifest]');
        const data = await (await fetch(link.href)).json();
        const sizes = [];
        for (const icon of data.icons) {
            const answer = await fetch(icon.src);
            const bitmap = await createImageBitmap(await answer.blob());
            sizes.push(`${bitmap.width}x${bitmap.height}` === icon.sizes);
        }
        return {name: data.name, display: data.display, sizes};
    }""")
    assert manifest == {"name": "邻里", "display": "standalone", "sizes": [True, True]}
    # The subscription JSON a browser hands over becomes the API body; no push service here, so say so.
    subscription = {"endpoint": "https://push.example.test/x", "expirationTime": None,
                    "keys": {"p256dh": "BKey", "auth": "secret"}}
    body = page.evaluate("(json) => window.linliPortal.subscriptionToBody(json)", subscription)
    assert body == {"endpoint": subscription["endpoint"], "keys": subscription["keys"]}
    assert page.evaluate("() => { try { window.linliPortal.subscriptionToBody({endpoint: 'x'}); return 'ok'; }"
                         " catch (e) { return 'refused'; } }") == "refused"
    # With the network gone, a portal page falls back to the offline page the worker keeps.
    page.reload()
    page.context.set_offline(True)
    page.goto(f"{base}/m/inbox/")
    phone_browser.expect(page.locator("#offline")).to_be_visible()
    page.context.set_offline(False)
    page.goto(f"{base}/m/me/")
    page.click("#push-button")
    phone_browser.expect(page.locator("#push-state")).not_to_have_text("未开启推送")


@pytest.mark.django_db(transaction=True)
def test_a_resident_switches_the_portal_to_english(live_server, phone_browser):
    build_district()
    page = phone_browser.new_page()
    log_in_resident(page, live_server.url, PHONES["a_owner"])
    page.goto(f"{live_server.url}/m/me/")
    with page.expect_navigation():
        page.click("#lang-en")
    assert page.evaluate("document.documentElement.lang") == "en"
    phone_browser.expect(page.locator("#lang-en")).to_have_attribute("aria-pressed", "true")
