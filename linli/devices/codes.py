"""Device codes — 设备编码: the one name a device has outside Linli. It is the device's MQTT
username, a level of its topics (`linli/v1/{code}/…`) and a segment of URLs, so one rule here
decides which codes may exist; the model, the database and the broker files all apply it.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 64
# Lower-case ASCII letters and digits, then also '-' and '_'. This leaves out everything that
# changes what a line of the broker's files or a topic means: ':' (the password file's
# separator), '#' (a comment there, a wildcard in topics), '+', '/', '$' (system topics), '%'
# (ACL substitutions), blanks (Mosquitto trims them off a name) and upper case (two codes
# differing only by case would read as one name to a person). `\A…\Z` mean the same in
# Python and PostgreSQL; Python's '$' would also match before a trailing newline.
PATTERN = r"\A[0-9a-z][0-9a-z_-]{0,63}\Z"  # at most MAX_LENGTH characters
_PATTERN = re.compile(PATTERN)

# The broker account every gateway logs in with.
GATEWAY_USERNAME = "linli-gateway"
# Every account Linli itself keeps on the broker is `linli` or starts `linli-` / `linli_`, today
# only the gateway's; no device may hold such a name, so none can take one added later either.
SYSTEM_NAME = "linli"
SYSTEM_PREFIXES = (f"{SYSTEM_NAME}-", f"{SYSTEM_NAME}_")

INVALID = "invalid_device_code"
RESERVED = "reserved_device_code"


def is_well_formed(code: str) -> bool:
    return isinstance(code, str) and _PATTERN.match(code) is not None


def is_reserved(code: str) -> bool:
    """Whether `code` is, or could some day be, the name of one of Linli's own broker accounts."""
    folded = code.strip().casefold()
    return folded == SYSTEM_NAME or folded.startswith(SYSTEM_PREFIXES)


def is_allowed(code: str) -> bool:
    return is_well_formed(code) and not is_reserved(code)


def validate_device_code(code: Any) -> None:
    """The model field's validator: every write through a service (API, console, import, demo)."""
    if not is_well_formed(code):
        raise ValidationError(_("设备编码只能由小写字母、数字、连字符和下划线组成，以字母或数字开头，最多64个字符"),
                              code=INVALID)
    if is_reserved(code):
        raise ValidationError(_("linli 及以 linli- 或 linli_ 开头的名称为系统保留，不能用作设备编码"), code=RESERVED)


def code_problem(code: Any) -> str | None:
    """Why `code` may not be a device code (for a report that names the row), or None."""
    try:
        validate_device_code(code)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def allowed_q() -> Q:
    """The same rule as a database CHECK constraint (PostgreSQL and SQLite both apply it)."""
    q = Q(code__regex=PATTERN) & ~Q(code=SYSTEM_NAME)
    for prefix in SYSTEM_PREFIXES:
        q &= ~Q(code__startswith=prefix)
    return q


QUARANTINE_PREFIX = "quarantined"


def quarantine_unsafe_codes(device_model: Any, credential_model: Any, *, now: Any) -> list[tuple[int, str, str]]:
    """Take out of service every device whose code breaks the rule (left by a release before it):
    give it a safe code, disable it and revoke its credentials, so it can never again log in
    under the old name. Returns (device id, old code, new code) for each. Used by the migration
    that adds the database rule, with its historical models."""
    from linli.devices.models import Lifecycle

    fixed = []
    taken = set(device_model.objects.values_list("code", flat=True))
    for pk, old in device_model.objects.order_by("pk").values_list("pk", "code"):
        if is_allowed(old):
            continue
        new, n = f"{QUARANTINE_PREFIX}-{pk}", 1
        while new in taken:
            new, n = f"{QUARANTINE_PREFIX}-{pk}-{n}", n + 1
        taken.add(new)
        device_model.objects.filter(pk=pk).update(code=new, lifecycle=Lifecycle.DISABLED)
        credential_model.objects.filter(device_id=pk, revoked_at__isnull=True).update(revoked_at=now)
        fixed.append((pk, old, new))
    return fixed
