"""An uploaded sheet kept between the console's check and its confirmation (one hour at most).

Sheets hold ID and phone numbers in clear, so the kept copy is sealed with the field key,
bound to the user who uploaded it, and deleted once imported or expired.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from linli.core import crypto

_FOLDER = "exchange/pending"
_CONTEXT = "exchange.upload"
KEEP_FOR = dt.timedelta(hours=1)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _path(user: Any, token: str) -> str:
    return f"{_FOLDER}/{int(user.pk)}-{token}.sealed"


def keep(*, user: Any, data: bytes) -> str:
    """Store `data` for `user`; returns the token the confirmation form sends back."""
    purge_expired()
    token = secrets.token_urlsafe(24)
    sealed = crypto.encrypt(base64.b64encode(data).decode("ascii"), context=_CONTEXT)
    default_storage.save(_path(user, token), ContentFile(sealed.encode("ascii")))
    return token


def take(*, user: Any, token: str) -> bytes | None:
    """The data kept under `token` for this user, or None when it is unknown, someone else's or expired."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    path = _path(user, token)
    if not default_storage.exists(path) or _expired(path):
        return None
    with default_storage.open(path, "rb") as fh:
        sealed = fh.read().decode("ascii")
    try:
        return base64.b64decode(crypto.decrypt(sealed, context=_CONTEXT))
    except (ValueError, UnicodeDecodeError, InvalidTag):
        return None


def discard(*, user: Any, token: str) -> None:
    if _TOKEN.fullmatch(token or ""):
        default_storage.delete(_path(user, token))


def _expired(path: str) -> bool:
    try:
        return timezone.now() - default_storage.get_modified_time(path) > KEEP_FOR
    except (OSError, NotImplementedError):
        return False


def purge_expired() -> None:
    try:
        _dirs, files = default_storage.listdir(_FOLDER)
    except (OSError, NotImplementedError):
        return
    for name in files:
        path = f"{_FOLDER}/{name}"
        if _expired(path):
            default_storage.delete(path)
