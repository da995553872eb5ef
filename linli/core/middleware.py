"""Sets the change context for each web request so services can audit who did what, and logs
each refused request (403) as one line."""

from __future__ import annotations

import logging

from linli.core.context import _current, context_for_user

refusals = logging.getLogger("linli.refusals")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        source = "api" if request.path.startswith("/api/") else "console"
        ctx = context_for_user(request.user, source=source, ip=request.META.get("REMOTE_ADDR"))
        request.change_context = ctx
        token = _current.set(ctx)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        if response.status_code == 403:
            log_refusal(request)
        return response


def log_refusal(request) -> None:
    """A refusal is the permission model working, not a fault: INFO, no traceback, and the user by id
    only (the path, never the query string, which may hold a searched phone number)."""
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else "-"
    refusals.info("refused %s %s user=%s", request.method, request.path, user_id)


class DjangoRefusalFilter(logging.Filter):
    """Drops `django.request`'s own line for a 403 (a WARNING, with a traceback when a view raised
    PermissionDenied): `log_refusal` has written the one line a refusal gets."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 403
