"""What both payment providers share: one HTTP exchange with bounded retries, RSA-SHA256 signing
(PKCS#1 v1.5) and loading the keys merchants are handed by WeChat Pay and Alipay.

Nothing here logs a request's headers or body: they carry signatures, order numbers and, for
Alipay, the whole signed parameter set.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from linli.billing.providers.base import ProviderError

log = logging.getLogger("linli.billing")


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> dict:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def overload_reason(provider: str, answer: HttpAnswer) -> str | None:
    """The default "try again" rule: the provider's own trouble (5xx) and throttling (429)."""
    if answer.status >= 500 or answer.status == 429:
        return f"{provider}:{answer.status}:{answer.json().get('code') or 'no_code'}"
    return None


def exchange(build: Callable[[], urllib.request.Request], *, provider: str, tries: int, backoff_s: float,
             timeout_s: float, retry_reason: Callable[[str, HttpAnswer], str | None] = overload_reason,
             ) -> HttpAnswer:
    """Send the request `build` makes (afresh for every try, so each carries its own timestamp
    and nonce) and return the first answer not worth retrying. Network trouble and answers
    `retry_reason` names are tried again, up to `tries` times with doubling pauses; then
    ProviderError(retry=True) says "later". Both providers treat a repeated order or refund with
    the same out_trade_no / out_refund_no as the same request, so a retry cannot pay twice."""
    reason = f"{provider}:not_sent"
    answer: HttpAnswer | None
    for attempt in range(1, max(tries, 1) + 1):
        request = build()
        try:
            # The base URL comes from configuration, never from a request.
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                answer = HttpAnswer(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            answer = HttpAnswer(exc.code, _lower(exc.headers), exc.read())
        except (OSError, ValueError, http.client.HTTPException) as exc:
            answer = None
            reason = f"{provider}:network:{type(exc).__name__}"
        if answer is not None:
            again = retry_reason(provider, answer)
            if again is None:
                return answer
            reason = again
        if attempt < tries:
            log.warning("%s %s %s failed (%s); trying again (%d of %d)", provider, request.get_method(),
                        urllib.parse.urlsplit(request.full_url).path, reason, attempt, tries)
            time.sleep(backoff_s * 2 ** (attempt - 1))
    log.warning("%s gave up after %d tries (%s)", provider, tries, reason)
    raise ProviderError(reason, retry=True)


def _lower(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers or {}).items()}


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """An RSA private key as PEM (PKCS#1 or PKCS#8), or as the bare base64 Alipay's key tool writes."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(b"".join(data.split())), password=None)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        # Never echo the key material back in the error.
        raise ValueError("not a readable RSA private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """An RSA public key as PEM, as a PEM certificate (WeChat Pay platform certificates), or as
    the bare base64 Alipay's console shows."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        if b"BEGIN CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        elif b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(base64.b64decode(b"".join(data.split())))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise ValueError("not a readable RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign_sha256(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5), base64: WeChat Pay v3 and Alipay RSA2 both use exactly this."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify_sha256(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
