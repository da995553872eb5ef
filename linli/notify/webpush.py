"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291), via pywebpush.

The VAPID key pair is made on first use and kept in the data dir (`vapid_private_key.pem`,
mode 0600), or comes from `LINLI_VAPID_PRIVATE_KEY`; browsers subscribe with its public key
(`GET /api/notifications/webpush/key`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils.translation import gettext as _

from linli.core.services import field_error
from linli.notify.providers import SendError

KEY_FILE = "vapid_private_key.pem"
TTL_S = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_or_create() -> ec.EllipticCurvePrivateKey:
    if pem := os.environ.get("LINLI_VAPID_PRIVATE_KEY"):
        return serialization.load_pem_private_key(pem.encode(), password=None)  # type: ignore[return-value]
    path = settings.DATA_DIR / KEY_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem_bytes)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)  # type: ignore[return-value]


@functools.cache
def vapid_private_key() -> ec.EllipticCurvePrivateKey:
    return _load_or_create()


def vapid_public_key() -> str:
    """The application server key browsers pass to `PushManager.subscribe` (base64url, 65 bytes)."""
    point = vapid_private_key().public_key().public_bytes(serialization.Encoding.X962,
                                                         serialization.PublicFormat.UncompressedPoint)
    return b64url(point)


def validate_subscription(*, endpoint: str, p256dh: str, auth: str) -> None:
    parsed = urlparse(endpoint)
    allowed = {"https"} | ({"http"} if settings.NOTIFY_WEBPUSH_ALLOW_HTTP else set())
    if parsed.scheme not in allowed or not parsed.netloc:
        raise field_error("endpoint", _("推送地址必须是 https 地址"))
    try:
        key = b64url_decode(p256dh)
        secret = b64url_decode(auth)
    except (binascii.Error, ValueError):
        raise field_error("keys", _("推送密钥格式不正确")) from None
    if len(key) != 65 or key[0] != 4 or len(secret) != 16:
        raise field_error("keys", _("推送密钥格式不正确"))
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError:
        raise field_error("keys", _("推送密钥格式不正确")) from None


@dataclass
class PushResult:
    subscription_id: int
    status: int  # HTTP status, or 0 when the push service could not be reached
    location: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (200, 201, 202)

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)

    @property
    def retry(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


def push_one(subscription: Any, payload: dict[str, Any], *, urgent: bool) -> PushResult:
    """Encrypt `payload` for one subscription and post it to its push service."""
    import requests
    from py_vapid import Vapid
    from pywebpush import WebPusher

    endpoint = subscription.endpoint
    origin = f"{urlparse(endpoint).scheme}://{urlparse(endpoint).netloc}"
    claims = {"sub": settings.VAPID_SUBJECT, "aud": origin, "exp": int(time.time()) + 12 * 3600}
    headers = Vapid(vapid_private_key()).sign(claims)
    headers["Urgency"] = "high" if urgent else "normal"
    info = {"endpoint": endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    data = json.dumps(payload, ensure_ascii=False).encode()
    try:
        response = WebPusher(info).send(data=data, headers=headers, ttl=TTL_S,
                                        timeout=settings.NOTIFY_SEND_TIMEOUT_SECONDS)
    except requests.RequestException:
        return PushResult(subscription.pk, 0)
    return PushResult(subscription.pk, response.status_code, response.headers.get("Location", ""))


def push_to_all(subscriptions: list[Any], payload: dict[str, Any], *, urgent: bool) -> tuple[str, list[PushResult]]:
    """Push to every subscription of a user. Sent when one browser took it; retried when none
    did but one may later (5xx, 429, unreachable); refused for good when none can."""
    if not subscriptions:
        raise SendError("webpush_no_subscription", retry=False)
    results = [push_one(s, payload, urgent=urgent) for s in subscriptions]
    accepted = [r for r in results if r.ok]
    if accepted:
        return accepted[0].location or f"webpush-{accepted[0].subscription_id}", results
    worst = next((r for r in results if r.retry), results[0])
    raise _PushFailed(f"webpush_http_{worst.status}", retry=any(r.retry for r in results), results=results)


class _PushFailed(SendError):
    def __init__(self, reason: str, *, retry: bool, results: list[PushResult]):
        super().__init__(reason, retry=retry)
        self.results = results
