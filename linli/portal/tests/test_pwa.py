"""The portal installs as an app: a manifest with icons, a service worker scoped to /m/ that keeps the
shell for offline use and handles push, and the offline page it falls back to."""

import json

from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image


def test_the_manifest_names_the_app_and_its_installable_icons(db):
    answer = Client().get("/m/manifest.webmanifest")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/manifest+json"
    manifest = json.loads(answer.content)
    assert manifest["name"] == "邻里" and manifest["start_url"] == "/m/" and manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")
    for icon in manifest["icons"]:
        size = int(icon["sizes"].split("x")[0])
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path and Image.open(path).size == (size, size)
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}


def test_the_service_worker_is_served_for_the_portal_scope_and_handles_push(db):
    answer = Client().get("/m/sw.js")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/javascript")
    assert answer["Service-Worker-Allowed"] == "/m/"
    script = answer.content.decode()
    for handler in ("install", "fetch", "push", "notificationclick"):
        assert f'addEventListener("{handler}"' in script
    assert '"/m/offline/"' in script and "/static/portal/portal.css" in script


def test_the_offline_page_needs_no_login(db):
    answer = Client().get("/m/offline/")
    assert answer.status_code == 200 and 'id="offline"' in answer.content.decode()


def test_every_portal_page_links_the_manifest_and_the_script(district, client):
    client.force_login(district.a.users["resident"], backend="linli.accounts.backends.ResidentCodeBackend")
    for url in ("/m/", "/m/me/", "/m/login/"):
        page = client.get(url).content.decode()
        assert 'rel="manifest" href="/m/manifest.webmanifest"' in page and "portal/portal.js" in page, url
