"""The REST API: one NinjaAPI with a router per app, mounted at /api/."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Linli API", version="1", urls_namespace="api")
