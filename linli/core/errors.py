"""Errors services raise; the API and console turn them into 4xx answers naming the problem."""

from __future__ import annotations

from django.utils.translation import gettext as _


class NotFound(Exception):
    """The record does not exist or is outside the caller's scope (we never say which)."""

    def __init__(self, what: str = "object"):
        super().__init__(_("未找到该记录或无权访问"))
        self.what = what


class Forbidden(Exception):
    """The caller may see the record but not do this to it."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _("没有权限"))


class Conflict(Exception):
    """The change would break a uniqueness rule or a record still in use."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
