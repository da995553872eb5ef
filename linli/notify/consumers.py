"""The live feed websocket (`/ws/feed/`): a logged-in console receives, as JSON,
`{"type": "notification" | "alarm", "id", "compound_id", "at", "data"}` for the compounds it
may see and the notifications addressed to its user. Anonymous connections are refused.

Groups are worked out when the socket connects; a console picks up changed grants on reconnect.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from linli.notify import feed

CLOSE_UNAUTHENTICATED = 4401


class FeedConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.feed_groups = await feed.in_db_thread(feed.groups_for_user, user)
        for group in self.feed_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        feed.BRIDGE.ensure_started()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "feed_groups", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Consoles only listen; a ping keeps proxies from closing an idle socket.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def feed_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])


class SameOriginValidator:
    """Refuse a browser's websocket from another site (cross-site websocket hijacking): the
    Origin must be this host or one of `CSRF_TRUSTED_ORIGINS`. Clients that send no Origin
    (apps, tests) still need a session to get anything."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        if origin and not _same_origin(origin, host):
            await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.app(scope, receive, send)


def _same_origin(origin: str, host: str) -> bool:
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parsed = urlparse(origin)
    return bool(parsed.netloc) and parsed.netloc == host
