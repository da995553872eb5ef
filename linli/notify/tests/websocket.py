"""Drive an ASGI websocket app in-process, the way Channels' WebsocketCommunicator does
(whose package also imports Daphne, which Linli does not ship)."""

from __future__ import annotations

import json
from typing import Any

from asgiref.testing import ApplicationCommunicator


class WebsocketClient(ApplicationCommunicator):
    def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]):
        super().__init__(app, {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": b"",
                               "headers": headers, "subprotocols": [], "client": ("127.0.0.1", 50000),
                               "server": ("testserver", 80)})

    async def connect(self, wait_s: float = 3) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        answer = await self.receive_output(wait_s)
        if answer["type"] == "websocket.close":
            return False, answer.get("code", 1000)
        return True, answer.get("subprotocol")

    async def send_json_to(self, data: Any) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json_from(self, wait_s: float = 3) -> Any:
        answer = await self.receive_output(wait_s)
        assert answer["type"] == "websocket.send", answer
        return json.loads(answer["text"])

    async def disconnect(self, code: int = 1000, wait_s: float = 3) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(wait_s)
