"""A local HTTP endpoint standing in for an external service (SMS, WeChat, a push service).

Each test hands it a function (method, path, query, headers, body) → (status, headers, body);
the server records every request so the test can check what was really sent on the wire.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes | dict | None]
Handler = Callable[[Seen], Answer]


class FakeService:
    def __init__(self, handler: Handler):
        self.handler = handler
        self.seen: list[Seen] = []
        fake = self

        class _Request(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, parsed.path, dict(parse_qsl(parsed.query, keep_blank_values=True)),
                            {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                fake.seen.append(seen)
                status, headers, body = fake.handler(seen)
                raw = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeService:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
