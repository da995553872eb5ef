"""The ASGI app `linli web` serves: HTTP to Django, websockets (the live feed) to Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

from linli.core.runtime import settle_after_startup

# Django first: it sets up the app registry the websocket routes' imports need.
http_app = get_asgi_application()

from linli.notify.routing import websocket_app  # noqa: E402

application = ProtocolTypeRouter({"http": http_app, "websocket": websocket_app()})
settle_after_startup()
