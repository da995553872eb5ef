import os
import pytest
from linli.web.tests.test_console_e2e import ARGS, CHROMIUM, audit_emptied_after  # noqa


@pytest.mark.django_db(transaction=True)
def test_shots(live_server, audit_emptied_after, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright
    from linli.core.testing import PASSWORD, build_district
    d = build_district()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for name, vp in (("desk", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})):
            c = b.new_context(locale="en-US", viewport=vp)
            pg = c.new_page()
            pg.goto(live_server.url + "/login/")
            pg.screenshot(path=f"/tmp/shots/en-{name}-login.png")
            pg.fill("#id_staff-username", "property_manager_a"); pg.fill("#id_staff-password", PASSWORD)
            pg.click("#staff-login button[type=submit]")
            pg.screenshot(path=f"/tmp/shots/en-{name}-home.png", full_page=True)
            pg.goto(live_server.url + "/places/")
            for label in ["山东省", "青岛市", "胶州市", "阜安街道", "阜安社区", "阜安小区", "3号楼", "2单元"]:
                pg.locator("#place-tree summary", has_text=label).first.click()
            pg.locator("#place-tree a", has_text="501").wait_for()
            pg.screenshot(path=f"/tmp/shots/en-{name}-tree.png", full_page=True)
            pg.goto(live_server.url + f"/houses/{d.a.house.pk}/")
            pg.screenshot(path=f"/tmp/shots/en-{name}-house.png", full_page=True)
            pg.goto(live_server.url + f"/persons/{d.a.owner.pk}/")
            pg.click("#reveal button"); pg.locator(".revealed").wait_for()
            pg.screenshot(path=f"/tmp/shots/en-{name}-person.png", full_page=True)
            pg.goto(live_server.url + "/persons/")
            pg.screenshot(path=f"/tmp/shots/en-{name}-persons.png", full_page=True)
            pg.goto(live_server.url + f"/persons/{d.a.owner.pk}/edit/")
            pg.screenshot(path=f"/tmp/shots/en-{name}-edit.png", full_page=True)
            pg.goto(live_server.url + "/audit/")
            pg.screenshot(path=f"/tmp/shots/en-{name}-audit.png", full_page=True)
            pg.locator("tbody a").first.click()
            pg.screenshot(path=f"/tmp/shots/en-{name}-auditdetail.png", full_page=True)
            c.close()
        b.close()
