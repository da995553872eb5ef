"""The portal as an installable web app: manifest, service worker (offline shell, Web Push) and the
offline page. The worker is served from /m/ so its scope covers the whole portal."""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

THEME_COLOUR = "#1f6f5c"
# Bump when the shell changes so browsers drop the old cache.
SHELL_VERSION = "portal-shell-1"


@cache_control(max_age=3600)
def manifest(request):
    data = {
        "name": _("邻里"),
        "short_name": _("邻里"),
        "description": _("小区居民服务：报修、缴费、快递、访客、公告与表决"),
        "lang": "zh-CN",
        "start_url": "/m/",
        "scope": "/m/",
        "display": "standalone",
        "background_color": "#f4f6f5",
        "theme_color": THEME_COLOUR,
        "icons": [
            {"src": static("portal/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("portal/icons/icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "any maskable"},
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json",
                        json_dumps_params={"ensure_ascii": False})


@cache_control(no_cache=True)
def service_worker(request):
    shell = ["/m/offline/", static("portal/portal.css"), static("portal/portal.js"),
             static("portal/icons/icon-192.png"), static("portal/icons/icon-512.png")]
    answer = render(request, "portal/offline/sw.js", {"version": json.dumps(SHELL_VERSION),
                                                       "shell": json.dumps(shell),
                                                       "app_name": json.dumps(_("邻里"), ensure_ascii=False)},
                    content_type="text/javascript")
    answer["Service-Worker-Allowed"] = "/m/"
    return answer


def offline(request):
    return render(request, "portal/offline/offline.html", {"hide_tabs": True})
