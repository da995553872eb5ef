"""End to end in a real browser: a property manager walks the place tree to a house, edits the
owner, and finds the change in the audit log; then the console switches to English.

Runs Debian's Chromium through Playwright (no downloaded browser). Skipped where Chromium is
absent, except on CI (CI=true), where a missing browser is a failure.
"""

import os
import re

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{CHROMIUM} is required on CI for the browser tests")
    pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls in the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_a_property_manager_edits_an_owner_found_through_the_place_tree(live_server, browser_page):
    from linli.core.models import AuditEntry
    from linli.core.testing import ID_NUMBERS, PASSWORD, build_district

    district = build_district()
    page = browser_page
    expect = playwright.expect

    page.goto(f"{live_server.url}/places/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.fill("#id_staff-username", "property_manager_a")
    page.fill("#id_staff-password", PASSWORD)
    page.click("#staff-login button[type=submit]")
    expect(page.locator("h1")).to_have_text("地点")

    # One htmx request per level: open each branch and wait for its children.
    for label in ["山东省", "青岛市", "胶州市", "阜安街道", "阜安社区", "阜安小区", "3号楼", "2单元"]:
        page.locator("#place-tree summary", has_text=label).first.click()
    page.locator("#place-tree a", has_text="501室").click()
    expect(page.locator("h1")).to_contain_text("501室")
    expect(page.locator("#residents")).to_contain_text("A家属")

    page.locator("#residents a", has_text="A业主").click()
    expect(page.locator("h1")).to_have_text("A业主")
    assert ID_NUMBERS["a_owner"] not in page.content()
    page.click("#reveal button")
    expect(page.locator("#reveal")).to_contain_text(ID_NUMBERS["a_owner"])

    page.locator("a.button", has_text="编辑").click()
    page.fill("#id_name", "A业主（已核对）")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1")).to_have_text("A业主（已核对）")

    page.locator(".sidenav a", has_text="审计日志").click()
    row = page.locator("tbody tr", has_text="A业主（已核对）").filter(has_text="修改")
    expect(row).to_have_count(1)
    row.locator("a").first.click()
    expect(page.locator("table.diff")).to_contain_text("A业主（已核对）")
    expect(page.locator("table.diff tr.changed")).to_contain_text("A业主")
    assert AuditEntry.objects.filter(object_id=str(district.a.owner.pk), action="update").count() == 1

    page.select_option("#language", "en")
    expect(page.locator(".sidenav")).to_contain_text("People")
    expect(page.locator(".sidenav")).to_contain_text("Audit log")
    expect(page.locator("html")).to_have_attribute("lang", "en")
