"""API plumbing shared by every router: authentication, one error body, pagination.

Error body, for every 4xx:
    {"error": {"code": "validation_error", "message": "…", "fields": {"id_number": ["…"]}}}
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import math
import re
import typing
from typing import Annotated, Any

from annotated_types import Ge, Le
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.parser import Parser
from ninja.schema import NinjaGenerateJsonSchema
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from linli.core.context import _current, context_for_user
from linli.core.errors import Conflict, Forbidden, NotFound

MAX_PAGE = 500

# --- what a client may send: bounded, so nothing reaches a query that the database cannot hold --------

BIGINT_MAX = 2**63 - 1
"""The largest value of a bigint column (every id) in SQLite and PostgreSQL alike."""
INT_MAX = 2**31 - 1
"""The largest value of an integer column (minutes, hours, basis points) in PostgreSQL."""
MAX_FEN = 10**12
"""The largest amount of money one field may carry, ¥10 billion: sums of such amounts stay within a bigint."""

Id = Annotated[int, Ge(1), Le(BIGINT_MAX)]
"""A row id at the edge (path, query filter or body). Beyond a bigint no row can have it, and the
database would fail on it instead of answering "not found"."""
Count = Annotated[int, Ge(0), Le(INT_MAX)]
"""A non-negative integer stored in an integer column: minutes, hours, basis points, positions."""
Fen = Annotated[int, Ge(0), Le(MAX_FEN)]
"""An amount of money in fen."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _calendar_date_first(kind: str, message: Any) -> Any:
    # pydantic also reads numbers (and numeric strings) as Unix times, so `0.5` was 1970-01-01.
    def check(value: Any) -> Any:
        if isinstance(value, dt.date) or (isinstance(value, str) and _DATE.match(value)):
            return value
        raise PydanticCustomError(f"{kind}_format", str(message))

    return BeforeValidator(check)


_DAYS = (dt.date(1, 1, 2), dt.date(9999, 12, 30))
"""A day clear of Python's range at either end: a date is combined with a time zone and moved by
days, and 0001-01-01 at midnight in Asia/Shanghai is no moment in UTC (an OverflowError, a 500)."""


def _clear_of_the_edges(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not _DAYS[0] <= day <= _DAYS[1]:
        raise PydanticCustomError("date_range", _("日期超出可处理的范围"))
    return value


def _real_offset(value: dt.datetime) -> dt.datetime:
    # Python takes UTC offsets up to 24 hours, PostgreSQL up to 16 (a 500 beyond), the world up to 14.
    offset = value.utcoffset()
    if offset is not None and abs(offset) > dt.timedelta(hours=14):
        raise PydanticCustomError("datetime_offset", _("时区偏移应在 ±14:00 以内"))
    return value


IsoDate = Annotated[dt.date, _calendar_date_first("date", gettext_lazy("日期应写作 YYYY-MM-DD，如 2024-05-01")),
                    AfterValidator(_clear_of_the_edges)]
"""A date written YYYY-MM-DD."""
IsoDateTime = Annotated[dt.datetime, _calendar_date_first(
    "datetime", gettext_lazy("时间应按 ISO 8601 格式填写，如 2024-05-01T08:00:00+08:00")),
    AfterValidator(_clear_of_the_edges), AfterValidator(_real_offset)]
"""A moment written in ISO 8601, e.g. 2024-05-01T08:00:00+08:00, with a real-world UTC offset."""


def api_enum(name: str, choices: type[enum.Enum]) -> type[enum.StrEnum]:
    """A model's choices under a name of the API's own. Apps each call theirs `Status` or `Channel`,
    while the published schema holds one component per name (see LinliAPI)."""
    return enum.StrEnum(name, {member.name: member.value for member in choices})


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def patch_field(**constraints: Any) -> Any:
    """A field of a PATCH body: left out, the value stays as it is; null is refused, because the
    record cannot hold it (a field that may be emptied is declared `X | None = None` instead)."""
    return Field(None, json_schema_extra=_no_default, **constraints)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class Payload(Schema):
    """A request body: a JSON object, read as one. (ninja's Schema reads attributes off any value,
    so `[null, null]` or `"x"` used to pass as a body whose fields all have defaults.) Its text
    holds no NUL character, which PostgreSQL cannot store, and its numbers are finite ("nan" and
    "inf" were read as numbers, and broke the audit log's JSON)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _a_json_object(cls, value: Any, handler: Any) -> Any:
        if not isinstance(value, dict):
            raise PydanticCustomError("object_type", _("请求体应为 JSON 对象"))
        if _holds_nul(value):
            raise PydanticCustomError("nul_character", _("不能包含空字符（NUL）"))
        return handler(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond a double")
    return value


class EdgeParser(Parser):
    """Request bodies that are JSON by RFC 8259: Python's parser also reads NaN, Infinity and
    1e999, which no client should send and PostgreSQL's jsonb refuses (a body that fails here is a
    400). Query strings and forms, refused (422) where they hold a NUL character: PostgreSQL cannot
    store one and answered the query with an error, a 500."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_constant=_no_constant, parse_float=_finite)

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest) -> dict[str, Any]:
        values = super().parse_querydict(data, list_fields, request)
        refused = sorted(name for name, value in values.items() if _holds_nul(value))
        if refused:
            raise NinjaValidationError([{"loc": (name,), "msg": _("不能包含空字符（NUL）"), "type": "nul_character"}
                                        for name in refused])
        return values


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
    offset: int = Field(0, ge=0, le=BIGINT_MAX - MAX_PAGE, description="rows to skip")


def page(qs: QuerySet, query: PageQuery) -> dict[str, Any]:
    """One page plus the total: two queries whatever the page size.

    The window of ids is found first on the narrow index (a deferred join), and only those rows
    are joined and fetched; walking deep offsets over full joined rows was what made large
    lists slow (docs/benchmarks.md).
    """
    window = qs.values("pk")[query.offset: query.offset + query.limit]
    return {"count": qs.count(), "items": list(qs.filter(pk__in=window))}


ERRORS = {401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody}


@functools.cache  # one class per item: two list endpoints of one item share one component
def paged(item: type[Schema]) -> type[Schema]:
    """The response schema of a list endpoint: `{"count": N, "items": [item, …]}`."""
    name = item.__name__.removesuffix("Out") + "Page"
    return type(name, (Schema,), {"__annotations__": {"count": int, "items": list[item]}})


# --- the published schema: one component per name, and every answer the server gives documented -------


class LinliAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI schema refuses to document two schemas under one name (ninja keeps the
    last one it meets, so `/votes/{id}/result` was documented with the surveys' result) and documents
    the 400 that every operation with a request body answers to malformed JSON; its query strings
    and forms go through EdgeParser."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("parser", EdgeParser())
        super().__init__(**kwargs)
        self._schemas: dict[str, OpenAPISchema] = {}

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        """Built once per process and path prefix (a few seconds of work: /api/docs used to take
        15 s to show); the routes do not change while the process runs."""
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = self._schemas.get(path_prefix)
        if schema is None:
            schema = _CheckedSchema(self, path_prefix)
            schema.refuse_shared_names()
            self._schemas[path_prefix] = schema
        return schema


class _CheckedSchema(OpenAPISchema):
    def __init__(self, api: NinjaAPI, path_prefix: str) -> None:
        self.classes: dict[str, set[type]] = {}
        self.overwritten: set[str] = set()
        super().__init__(api, path_prefix)

    def add_schema_definitions(self, definitions: dict) -> None:
        # ninja keeps the last definition of a name; the same class may come twice, a different one never.
        self.overwritten |= {name for name, definition in definitions.items()
                             if self.schemas.get(name, definition) != definition}
        super().add_schema_definitions(definitions)

    def operation_details(self, operation: Any) -> dict[str, Any]:
        # ninja's own models (the parameters, the response wrappers) are never components; what they hold is.
        for model in [*operation.models, *operation.response_models.values()]:
            if isinstance(model, type) and issubclass(model, BaseModel):
                for model_field in model.model_fields.values():
                    _named_types(model_field.annotation, self.classes)
        details = super().operation_details(operation)
        if "requestBody" in details:
            details["responses"].setdefault(400, self._bad_request())
        return details

    def _bad_request(self) -> dict[str, Any]:
        """A body that is not JSON at all: ninja answers 400 (with the error body, see install_error_handlers)."""
        error = ErrorBody.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema,
                                            mode="serialization")
        self.add_schema_definitions({**error.pop("$defs", {}), "ErrorBody": error})
        return {"description": "Bad Request",
                "content": {self.api.renderer.media_type: {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorBody")}}}}

    def refuse_shared_names(self) -> None:
        """Two classes of one name would be one component whatever their fields, so they are refused
        even where today they generate the same definition; so is a class whose definition differs
        between uses (as a request and as a response, say)."""
        shared = {name: sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)
                  for name, classes in self.classes.items() if len(classes) > 1}
        shared.update({name: ["definitions differ"] for name in self.overwritten if name not in shared})
        if shared:
            names = "; ".join(f"{name} ({', '.join(where)})" for name, where in sorted(shared.items()))
            raise ImproperlyConfigured(f"schemas share a published name, give each its own: {names}")


def _named_types(annotation: Any, found: dict[str, set[type]]) -> None:
    """Every model and enum class reachable from an annotation, by the name its component gets."""
    if isinstance(annotation, type) and issubclass(annotation, (BaseModel, enum.Enum)):
        known = found.setdefault(annotation.__name__, set())
        if annotation in known:
            return
        known.add(annotation)
        if issubclass(annotation, BaseModel):
            for model_field in annotation.model_fields.values():
                _named_types(model_field.annotation, found)
        return
    for argument in typing.get_args(annotation):
        _named_types(argument, found)
