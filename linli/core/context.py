"""The cause of a change — request or device event — carried to the audit log.

Like Home Assistant's Context: every change knows who did it and in answer to what.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class ChangeContext:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    parent_id: str | None = None
    user_id: int | None = None
    actor: str = "system"
    source: str = "system"  # request, api, command, event, import, demo
    ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = {"id": self.id, "source": self.source}
        if self.parent_id:
            data["parent_id"] = self.parent_id
        if self.ip:
            data["ip"] = self.ip
        data.update(self.extra)
        return data


_current: contextvars.ContextVar[ChangeContext | None] = contextvars.ContextVar("linli_change_context", default=None)


def current_context() -> ChangeContext:
    return _current.get() or ChangeContext()


@contextlib.contextmanager
def change_context(ctx: ChangeContext | None = None, **changes: Any) -> Iterator[ChangeContext]:
    """Run a block under `ctx`, or under the current context with `changes` applied."""
    if ctx is None:
        base = current_context()
        ctx = replace(base, id=uuid.uuid4().hex, parent_id=base.id, **changes)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def context_for_user(user: Any, *, source: str, ip: str | None = None, **extra: Any) -> ChangeContext:
    if user is not None and getattr(user, "is_authenticated", False):
        return ChangeContext(user_id=user.pk, actor=user.get_username(), source=source, ip=ip, extra=extra)
    return ChangeContext(source=source, ip=ip, extra=extra)
