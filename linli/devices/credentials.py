"""Device secrets: random tokens for HTTP push, and MQTT passwords hashed the way Mosquitto's
password file expects (PBKDF2-SHA512, `$7$iterations$salt$hash`), so Linli writes that file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MQTT_ITERATIONS = 101  # mosquitto_passwd's default for the $7$ (PBKDF2-SHA512) format


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = MQTT_ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(12)
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(derived).decode()}"


def mosquitto_verify(password: str, stored: str) -> bool:
    try:
        _, kind, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(base64.b64encode(derived).decode(), digest)
