"""Every link a console user is shown opens for that user: no role is walked into a 403."""

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

MAX_PAGES = 200  # per role: every kind of console page is reached well before this
NOT_CONSOLE = ("/api/", "/static/", "/media/", "/i18n/", "/m/", "/pay/", "/logout/")
STAFF_ROLES = ["city_admin", "street_officer", "community_officer", "grid_worker", "property_manager", "guard",
               "technician", "cashier", "customer_service", "integrator"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def console_links(html: str, page: str) -> set[str]:
    """The console pages a page links to: same site, path and query, no fragment."""
    parser = _Links()
    parser.feed(html)
    found = set()
    for href in parser.hrefs:
        parts = urlsplit(urldefrag(href).url)
        if parts.scheme or parts.netloc or (not parts.path and not parts.query):
            continue
        target = parts.path or urlsplit(page).path
        if not target.startswith("/") or target.startswith(NOT_CONSOLE):
            continue
        found.add(target + (f"?{parts.query}" if parts.query else ""))
    return found


def refused_links(client) -> list[str]:
    """Walk the console from its home page, opening every link shown on each page reached; the links
    that answered 403, each with the page that showed it."""
    answers = {"/": client.get("/")}
    queue, refused = deque(["/"]), []
    pages = 0
    while queue and pages < MAX_PAGES:
        page = queue.popleft()
        response = answers[page]
        pages += 1
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        for link in sorted(console_links(response.content.decode(), page) - answers.keys()):
            answers[link] = client.get(link)
            if answers[link].status_code == 403:
                refused.append(f"{link} (on {page})")
            else:
                queue.append(link)
    return refused


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_no_link_a_role_is_shown_leads_to_a_refusal(district, client_for, role):
    user = district.city_admin if role == "city_admin" else district.a.users[role]
    refused = refused_links(client_for(user))
    assert not refused, "links that answer 403:\n" + "\n".join(refused)
