"""In a phone-sized Chromium: a resident logs in with the code sent to their phone."""

import pytest

from linli.core.testing import PHONES, build_district
from linli.portal.tests.conftest import log_in_resident


@pytest.mark.django_db(transaction=True)
def test_a_resident_logs_in_on_a_phone_and_lands_on_their_households(live_server, phone_browser):
    district = build_district()
    page = phone_browser.new_page()
    log_in_resident(page, live_server.url, PHONES["a_owner"])
    phone_browser.expect(page.locator("#households")).to_contain_text(district.a.house.number)
    assert page.viewport_size["width"] == 390
