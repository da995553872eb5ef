"""Field encryption and keyed hashes for personal data (ID and phone numbers).

Values are sealed with AES-256-GCM; a keyed HMAC digest lets us find a record by
exact value without decrypting every row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = "v1"


@lru_cache(maxsize=4)
def _keys(master: str) -> tuple[bytes, bytes]:
    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=SHA256(), length=32, salt=b"linli-field-keys", info=info).derive(master.encode())

    return derive(b"encrypt"), derive(b"digest")


def _encrypt_key() -> bytes:
    return _keys(settings.FIELD_ENCRYPTION_KEY)[0]


def _digest_key() -> bytes:
    return _keys(settings.FIELD_ENCRYPTION_KEY)[1]


def encrypt(plain: str, *, context: str) -> str:
    """Seal `plain`; `context` (e.g. "person.id_number") is bound as associated data."""
    nonce = os.urandom(12)
    sealed = AESGCM(_encrypt_key()).encrypt(nonce, plain.encode(), context.encode())
    return f"{_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str, *, context: str) -> str:
    version, _, body = token.partition(":")
    if version != _VERSION:
        raise ValueError("unknown ciphertext version")
    raw = base64.urlsafe_b64decode(body)
    return AESGCM(_encrypt_key()).decrypt(raw[:12], raw[12:], context.encode()).decode()


def digest(value: str, *, context: str) -> str:
    """Keyed hash for exact-match search; stable for the same key, useless without it."""
    mac = hmac.new(_digest_key(), f"{context}\x00{value}".encode(), hashlib.sha256)
    return mac.hexdigest()


@dataclass(frozen=True)
class Sealed:
    cipher: str
    digest: str
    masked: str


def seal(value: str, *, context: str, masked: str) -> Sealed:
    return Sealed(encrypt(value, context=context), digest(value, context=context), masked)
