"""API plumbing shared by every router: authentication, one error body, pagination.

Error body, for every 4xx:
    {"error": {"code": "validation_error", "message": "…", "fields": {"id_number": ["…"]}}}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from linli.core.context import _current, context_for_user
from linli.core.errors import Conflict, Forbidden, NotFound

MAX_PAGE = 500


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ll_…` for apps and integrations."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from linli.accounts.services import user_for_token

        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        # The middleware set an anonymous context before auth ran; the change now has an author.
        ctx = context_for_user(user, source="api", ip=request.META.get("REMOTE_ADDR"))
        request.change_context = ctx
        _current.set(ctx)
        return user


class ConsoleSession(APIKeyCookie):
    """The console's session cookie, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


AUTH = [TokenAuth(), ConsoleSession(csrf=True)]


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class ErrorBody(Schema):
    error: ErrorDetail


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_of(loc: list[Any]) -> str:
    # ninja reports ("body", "payload", "id_number") or ("query", "limit"); the last name is the field.
    names = [str(p) for p in loc if not isinstance(p, int) and p not in ("body", "query", "path", "form", "file")]
    return names[-1] if names else "request"


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(NinjaValidationError)
    def request_invalid(request, exc: NinjaValidationError):
        fields: dict[str, list[str]] = {}
        for err in exc.errors:
            fields.setdefault(_field_of(list(err.get("loc", []))), []).append(str(err.get("msg", "invalid")))
        names = ", ".join(sorted(fields))
        return api.create_response(request, error_body("validation_error", f"invalid input: {names}", fields),
                                   status=422)

    @api.exception_handler(DjangoValidationError)
    def domain_invalid(request, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        else:
            fields = {"request": [str(m) for m in exc.messages]}
        names = ", ".join(sorted(fields))
        return api.create_response(request, error_body("validation_error", f"invalid input: {names}", fields),
                                   status=422)

    @api.exception_handler(NotFound)
    def not_found(request, exc: NotFound):
        return api.create_response(request, error_body("not_found", str(exc)), status=404)

    @api.exception_handler(Forbidden)
    def forbidden(request, exc: Forbidden):
        return api.create_response(request, error_body("forbidden", str(exc)), status=403)

    @api.exception_handler(Conflict)
    def conflict(request, exc: Conflict):
        fields = {exc.field: [str(exc)]} if exc.field else {}
        return api.create_response(request, error_body("conflict", str(exc), fields), status=409)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return api.create_response(request, error_body("unauthenticated", "authentication required"), status=401)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict"}.get(exc.status_code, "error")
        return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="page size")
    offset: int = Field(0, ge=0, description="rows to skip")


def page(qs: QuerySet, query: PageQuery) -> dict[str, Any]:
    """One page plus the total: two queries whatever the page size.

    The window of ids is found first on the narrow index (a deferred join), and only those rows
    are joined and fetched; walking deep offsets over full joined rows was what made large
    lists slow (docs/benchmarks.md).
    """
    window = qs.values("pk")[query.offset: query.offset + query.limit]
    return {"count": qs.count(), "items": list(qs.filter(pk__in=window))}


ERRORS = {401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody}


def paged(item: type[Schema]) -> type[Schema]:
    """The response schema of a list endpoint: `{"count": N, "items": [item, …]}`."""
    name = item.__name__.removesuffix("Out") + "Page"
    return type(name, (Schema,), {"__annotations__": {"count": int, "items": list[item]}})
