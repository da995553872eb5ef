"""Browser fixtures for the portal: Debian's Chromium on a phone-sized screen, and log-in helpers.

Browser tests skip where Chromium is absent, except on CI (CI=true), where a missing browser fails.
"""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


def _playwright():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{CHROMIUM} is required on CI for the browser tests")
        pytest.skip(f"{CHROMIUM} not installed")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture
def phone_browser(monkeypatch):
    """A Chromium on a phone screen; `new_page()` gives a fresh session (one per person in a story)."""
    playwright = _playwright()
    # Playwright's sync API runs an event loop in this thread; the ORM calls in the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        contexts = []

        class Phones:
            expect = staticmethod(playwright.expect)

            def new_page(self):
                context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True,
                                              device_scale_factor=2)
                context.set_default_timeout(10_000)
                contexts.append(context)
                return context.new_page()

        try:
            yield Phones()
        finally:
            for context in contexts:
                context.close()
            browser.close()


def log_in_resident(page, base_url: str, phone: str) -> None:
    """Through the portal's real phone log-in: the code comes from the demo SMS provider's record."""
    from linli.notify.providers import ConsoleSmsProvider

    ConsoleSmsProvider.sent.clear()
    page.goto(f"{base_url}/m/login/")
    page.fill("#id_resident-phone", phone)
    page.click("#phone-form button[type=submit]")
    page.wait_for_selector("#code-form")
    code = next(m.params["code"] for m in reversed(ConsoleSmsProvider.sent) if m.phone == phone)
    page.fill("#id_code-code", code)
    page.click("#code-form button[type=submit]")
    page.wait_for_url(f"{base_url}/m/")


def log_in_staff(page, base_url: str, username: str, password: str, next_url: str = "/m/tech/") -> None:
    page.goto(f"{base_url}/login/?next={next_url}")
    page.fill("#id_staff-username", username)
    page.fill("#id_staff-password", password)
    page.click("#staff-login button[type=submit]")
    page.wait_for_url(f"{base_url}{next_url}")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each story starts with clean rate-limit counters: the code limits count per phone and per hour,
    and the same test phones log in across many tests of one run."""
    from django.core.cache import cache

    cache.clear()
    yield
