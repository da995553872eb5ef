"""Websocket routes of the ASGI app (linli/asgi.py)."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path

from linli.notify.consumers import FeedConsumer, SameOriginValidator

websocket_urlpatterns = [path("ws/feed/", FeedConsumer.as_asgi())]


def websocket_app():
    """Session-authenticated websockets, same origin only."""
    return SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
