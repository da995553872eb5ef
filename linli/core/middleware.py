"""Sets the change context for each web request so services can audit who did what."""

from __future__ import annotations

from linli.core.context import _current, context_for_user


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        source = "api" if request.path.startswith("/api/") else "console"
        ctx = context_for_user(request.user, source=source, ip=request.META.get("REMOTE_ADDR"))
        request.change_context = ctx
        token = _current.set(ctx)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
