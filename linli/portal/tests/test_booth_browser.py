"""In phone-sized Chromium: a walk-in visitor registered at the booth waits for the household, and the
guard's page turns to the answer by itself."""

import pytest

from linli.core.testing import PASSWORD, PHONES, build_district
from linli.portal.tests.conftest import log_in_resident, log_in_staff


@pytest.mark.django_db(transaction=True)
def test_a_walk_in_is_let_in_by_the_household_and_the_booth_page_shows_it_unasked(live_server, phone_browser):
    from linli.visitors.models import Visit, VisitStatus

    district = build_district()
    a, expect = district.a, phone_browser.expect
    guard = phone_browser.new_page()
    log_in_staff(guard, live_server.url, "guard_a", PASSWORD, "/m/booth/")
    guard.click("#to-walk-in")
    with guard.expect_navigation():
        guard.select_option("#pick-building", str(a.building.pk))
    with guard.expect_navigation():
        guard.select_option("#pick-unit", str(a.unit.pk))
    guard.select_option("#id_house", str(a.house.pk))
    guard.fill("#id_visitor_name", "王五")
    guard.fill("#id_purpose", "送桶装水")
    guard.click("#walk-in-form button[type=submit]")
    expect(guard.locator("#verdict")).to_contain_text("等待住户确认")
    visit = Visit.objects.get()

    resident = phone_browser.new_page()
    log_in_resident(resident, live_server.url, PHONES["a_owner"])
    resident.goto(f"{live_server.url}/m/visitors/")
    expect(resident.locator(f"#visit-{visit.pk}")).to_contain_text("送桶装水")
    resident.locator(f"#visit-{visit.pk} button[value='1']").click()
    expect(resident.locator(".messages")).to_contain_text("已同意访客进入")

    expect(guard.locator("#verdict")).to_contain_text("允许进入")  # the page refreshes itself
    visit.refresh_from_db()
    assert visit.status == VisitStatus.ADMITTED and visit.answered_by == a.users["resident"]


# A phone whose browser reads QR codes: the camera is a blank canvas and the detector "sees" the code.
FAKE_SCANNER = """
window.BarcodeDetector = class { constructor() {} detect() { return Promise.resolve([{rawValue: window.__shown}]); } };
navigator.mediaDevices.getUserMedia = () => Promise.resolve(document.createElement("canvas").captureStream());
"""


@pytest.mark.django_db(transaction=True)
def test_where_the_phone_reads_qr_codes_the_guard_scans_the_visitors_code(live_server, phone_browser):
    import datetime as dt

    from django.utils import timezone

    from linli.visitors import services

    district = build_district()
    now = timezone.now()
    _invitation, code = services.invite(actor=district.a.users["resident"], house=district.a.house,
                                        visitor_name="张三", starts_at=now, ends_at=now + dt.timedelta(hours=1))
    plain = phone_browser.new_page()
    log_in_staff(plain, live_server.url, "guard_a", PASSWORD, "/m/booth/")
    phone_browser.expect(plain.locator("button.scan")).to_be_hidden()

    guard = phone_browser.new_page()
    guard.add_init_script(FAKE_SCANNER + f"window.__shown = {code!r};")
    log_in_staff(guard, live_server.url, "guard_a", PASSWORD, "/m/booth/")
    guard.click("button.scan")
    phone_browser.expect(guard.locator("#verdict")).to_contain_text("允许进入")
