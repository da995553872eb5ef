"""HTTP push ingress: authenticate the device, run its vendor adapter, store, then answer.

Every refusal is a dead letter plus a 4xx naming the problem; a database that cannot
store answers 503 so the device resends. Nothing here raises a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import web
from django.db import close_old_connections
from django.utils import timezone

from linli.devices.adapters import nbiot_webhook
from linli.devices.adapters.base import (
    AdapterError,
    EvidenceFile,
    PushRequest,
    adapters,
    charset_of,
    decode_text,
)
from linli.devices.directory import DeviceDirectory, DeviceRef
from linli.devices.models import Lifecycle, Protocol
from linli.events import media
from linli.events.pipeline import dead_letter
from linli.events.writer import EventWriter

log = logging.getLogger("linli.gateway.http")

MAX_BODY_BYTES = 8 * 1024 * 1024  # a multipart ISAPI alert with a few full-size JPEGs
# Bodies above this (pictures) are parsed in a thread so the event loop keeps answering gates.
PARSE_INLINE_MAX_BYTES = 64 * 1024
RAW_BYTES_READ = 4 * 8000  # enough bytes for the dead letter's 8,000 characters in any charset
TOKEN_QUERY = "token"  # noqa: S105 — cameras cannot set headers: their push URL carries the token
UNREADABLE = "message could not be read"  # the reason when our own code failed on a message
WRITER_KEY = web.AppKey("writer", EventWriter)
DIRECTORY_KEY = web.AppKey("directory", DeviceDirectory)


class Refusal(Exception):
    """A push we will not use: answered with `status`, kept as a dead letter with `reason`."""

    def __init__(self, status: int, reason: str, device: DeviceRef | None = None, detail: str = ""):
        super().__init__(reason)
        self.status, self.reason, self.device, self.detail = status, reason, device, detail


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query.get(TOKEN_QUERY, "")


def _authenticate(request: web.Request, code: str, protocol: str | None) -> DeviceRef:
    """The device named in the path, proven by its token; `protocol` None accepts any (Linli JSON)."""
    directory = request.app[DIRECTORY_KEY]
    token = _bearer(request)
    named = directory.device_for_code(code)
    if not token:
        raise Refusal(401, "missing device token", named)
    device = directory.device_for_token(token)
    if device is None:
        raise Refusal(401, "unknown or revoked device token", named)
    if device.code != code:
        raise Refusal(403, "token belongs to another device", named or device)
    if protocol is not None and device.protocol != protocol:
        raise Refusal(400, f"device speaks {device.protocol}, not {protocol}", device)
    return device


def _write_files(files: list[EvidenceFile]) -> None:
    # Before the events are stored, so no event ever names a missing file; files of messages that
    # then fail or turn out duplicates are swept as orphans by the retention purge.
    for file in files:
        media.save(file.relpath, file.data)


def _dead_letter_in_thread(**fields: Any) -> bool:
    close_old_connections()
    try:
        dead_letter(**fields)
    except Exception as exc:
        log.warning("dead letter not stored (%s): %s", type(exc).__name__, fields.get("reason"))
        return False
    return True


def _raw_text(body: bytes, headers) -> str | bytes:
    """The body for the dead letter, read in the charset the device declared (GBK stays readable)."""
    charset = charset_of(headers.get("Content-Type", ""))
    if charset is None:
        return body  # kept as UTF-8, undecodable bytes replaced
    try:
        return decode_text(body[:RAW_BYTES_READ], charset, errors="replace")
    except AdapterError:  # a charset Python does not know
        return body


async def _refuse(request: web.Request, source: str, body: bytes, refusal: Refusal) -> web.Response:
    device = refusal.device
    kept = await asyncio.to_thread(_dead_letter_in_thread, source=source, reason=refusal.reason,
                                   raw=_raw_text(body, request.headers),
                                   detail=refusal.detail, headers=dict(request.headers),
                                   device_id=device.id if device else None,
                                   compound_id=device.compound_id if device else None)
    if not kept:
        # The database is away, so the refusal could not be kept: the device resends and the
        # message is refused, and kept, once the database is back. Never dropped unseen.
        return web.json_response({"error": "database unavailable, resend later"}, status=503)
    return web.json_response({"error": refusal.reason}, status=refusal.status)


async def _ingest(request: web.Request, slug: str, device: DeviceRef, body: bytes) -> web.Response:
    adapter = adapters()[slug]
    push = PushRequest(body=body, headers=request.headers, query=request.query, device=device,
                       received_at=timezone.now(), route=request.match_info)
    try:
        parsed = (adapter.parse(push) if len(body) <= PARSE_INLINE_MAX_BYTES
                  else await asyncio.to_thread(adapter.parse, push))
    except AdapterError as exc:
        raise Refusal(400, exc.reason, device, exc.detail) from exc
    except Exception as exc:  # an adapter bug must not become a 500 or lose the message
        log.exception("adapter %s failed", slug)
        raise Refusal(400, UNREADABLE, device, type(exc).__name__) from exc
    try:
        if parsed.files:
            await asyncio.to_thread(_write_files, parsed.files)
        stored = await request.app[WRITER_KEY].submit_many(parsed.messages)
    except OSError as exc:
        log.error("evidence not written: %s", type(exc).__name__)
        return web.json_response({"error": "storage unavailable, resend later"}, status=503)
    except Exception as exc:  # database down or refusing: the device resends (at-least-once)
        log.warning("push not stored: %s", type(exc).__name__)
        return web.json_response({"error": "database unavailable, resend later"}, status=503)
    status, answer = adapter.respond(parsed, stored)
    return web.json_response(answer, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _read(request: web.Request) -> bytes:
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise Refusal(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise Refusal(413, f"body larger than {MAX_BODY_BYTES} bytes") from exc


def _device_push(slug: str, protocol: str | None):
    source = f"http:{protocol or Protocol.LINLI_JSON}"

    async def handler(request: web.Request) -> web.Response:
        body = b""
        started = time.perf_counter()
        try:
            body = await _read(request)
            device = _authenticate(request, request.match_info["code"], protocol)
            response = await _ingest(request, slug, device, body)
        except Refusal as refusal:
            return await _refuse(request, source, body, refusal)
        except Exception as exc:  # a bug of ours must still not become a 500 or lose the message
            log.exception("%s push failed", slug)
            return await _refuse(request, source, body, Refusal(400, UNREADABLE, detail=type(exc).__name__))
        log.debug("%s push answered in %.1f ms", slug, (time.perf_counter() - started) * 1000)
        return response

    return handler


async def nbiot_push(request: web.Request) -> web.Response:
    platform = request.match_info["platform"]
    source = f"http:{Protocol.NBIOT_WEBHOOK}"
    body = b""
    try:
        body = await _read(request)
        try:
            nbiot_webhook.verify_signature(platform, request.headers, body)
            imei = nbiot_webhook.read_report(platform, body, charset_of(request.headers.get("Content-Type", ""))).imei
        except nbiot_webhook.SignatureError as exc:
            raise Refusal(401, exc.reason) from exc
        except AdapterError as exc:
            raise Refusal(400, exc.reason) from exc
        device = request.app[DIRECTORY_KEY].device_for_serial(Protocol.NBIOT_WEBHOOK, imei)
        if device is None or device.lifecycle == Lifecycle.DISABLED:
            raise Refusal(404, "unknown IMEI")
        return await _ingest(request, "nbiot", device, body)
    except Refusal as refusal:
        return await _refuse(request, source, body, refusal)
    except Exception as exc:  # a bug of ours must still not become a 500 or lose the message
        log.exception("nbiot push failed")
        return await _refuse(request, source, body, Refusal(400, UNREADABLE, detail=type(exc).__name__))


async def healthz(request: web.Request) -> web.Response:
    directory = request.app[DIRECTORY_KEY]
    return web.json_response({"ok": True, "devices": len(directory.by_code)})


def build_app(*, writer: EventWriter, directory: DeviceDirectory) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[WRITER_KEY] = writer
    app[DIRECTORY_KEY] = directory
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/push/linli/{code}", _device_push("linli", None))
    app.router.add_post("/push/alarm-info-plate/{code}", _device_push("alarm-info-plate", Protocol.ALARM_INFO_PLATE))
    app.router.add_post("/push/hik/{code}", _device_push("hik", Protocol.HIK_ISAPI))
    app.router.add_post("/push/nbiot/{platform}", nbiot_push)
    return app
