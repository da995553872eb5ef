"""End to end in a real browser: an integrator registers a device, issues its push token, sees the
token once and never again, and the gateway's token lookup accepts it."""

import re

import pytest

from linli.web.tests.test_console_e2e import browser_page, playwright  # noqa: F401 - the shared browser fixture


@pytest.mark.django_db(transaction=True)
def test_an_integrator_registers_a_device_and_issues_its_token(live_server, browser_page):  # noqa: F811
    from linli.core.testing import PASSWORD, build_district
    from linli.devices.services import device_for_http_token

    district = build_district()
    page = browser_page
    expect = playwright.expect

    page.goto(f"{live_server.url}/devices/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.fill("#id_staff-username", "integrator_a")
    page.fill("#id_staff-password", PASSWORD)
    page.click("#staff-login button[type=submit]")
    expect(page.locator("h1")).to_have_text("设备")

    page.locator("a.button", has_text="登记设备").click()
    page.select_option("#id_compound", str(district.a.compound.pk))
    page.select_option("#id_device_type", label="智能地锁")
    page.fill("#id_serial", "GL-E2E")
    page.fill("#id_name", "东门地锁")
    page.fill("#id_code", "east-gate-lock")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("东门地锁")

    page.select_option("#id_kind", "http_token")
    page.click("#rotate button[type=submit]")
    secret = page.locator("#secret").inner_text().strip()
    assert len(secret) >= 40
    assert device_for_http_token(secret).code == "east-gate-lock"

    page.locator("a.button", has_text="返回设备").click()
    expect(page.locator("#credentials")).to_contain_text("HTTP令牌")
    assert secret not in page.content()
