"""REST endpoints for imports and exports (/api/exchange/…): templates, sheet uploads, list downloads.

An import answers with a report: `{"ok", "rows", "errors": [{"row", "column", "message"}], "created"}`;
a real import with bad rows writes nothing and answers 400 with the same report.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import File, Form, Query, Router, Schema, UploadedFile
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import WithJsonSchema, create_model

from linli.core.api import ERRORS, ErrorBody, Id, IsoDate
from linli.core.errors import NotFound
from linli.exchange import services
from linli.exchange.formats import ImportFileError
from linli.exchange.importers import IMPORTERS
from linli.exchange.selectors import EXPORT_LISTS
from linli.exchange.workbooks import MAX_UPLOAD_BYTES, XLSX_CONTENT_TYPE

router = Router(tags=["exchange"])

_XLSX = {200: {"description": "an .xlsx workbook", "content": {XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}}}


# Documented as enums (clients and the privacy scan see every value); checked in the view so an
# unknown name is a 404 that says which names exist, not a generic validation error.
ImportKind = Annotated[str, WithJsonSchema({"type": "string", "enum": list(IMPORTERS)})]
ListName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(EXPORT_LISTS)})]


# Every filter any list reads, as the list endpoints type them: documented, and checked at the edge.
_FILTER_TYPES: dict[type, Any] = {int: Id, str: str, dt.date: IsoDate,
                                  bool: Literal["1", "true", "yes", "是", "0", "false", "no", "否"]}


def _export_filters() -> type[Schema]:
    filters: dict[str, type] = {}
    for export in EXPORT_LISTS.values():
        for name, kind in export.filters.items():
            if filters.setdefault(name, kind) is not kind:
                raise TypeError(f"export filter {name!r} has two types")
    return create_model("ExportFilters", __base__=Schema,
                        **{name: (_FILTER_TYPES[kind] | None, None) for name, kind in sorted(filters.items())})


ExportFilters = _export_filters()


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportReportOut(Schema):
    ok: bool
    kind: str
    dry_run: bool
    rows: int
    bad_rows: int
    errors: list[RowErrorOut]
    planned: dict[str, int]
    created: dict[str, int]


@router.get("/templates/{kind}", response={**ERRORS}, operation_id="download_import_template",
            openapi_extra={"responses": _XLSX})
def download_import_template(request: HttpRequest, kind: ImportKind):
    """An empty .xlsx for one import kind (buildings, houses, persons, vehicles) with a sheet of instructions."""
    try:
        services.importer_for(kind)
    except NotFound:
        raise HttpError(404, f"unknown import kind '{kind}'; use one of: {', '.join(IMPORTERS)}") from None
    response = HttpResponse(services.import_template(kind), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, f"{kind}-template.xlsx")
    return response


@router.post("/imports", response={200: ImportReportOut, 400: ImportReportOut | ErrorBody, **ERRORS},
             operation_id="import_sheet")
def import_sheet(request: HttpRequest, kind: Form[str], file: File[UploadedFile], dry_run: Form[bool] = True):
    """Check an uploaded sheet row by row; unless `dry_run`, write it — all rows in one transaction, or none."""
    if kind not in IMPORTERS:
        raise HttpError(404, f"unknown import kind '{kind}'; use one of: {', '.join(IMPORTERS)}")
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        raise HttpError(400, f"file too large (at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB)")
    try:
        report = services.import_workbook(actor=request.user, kind=kind, data=file.read(), dry_run=dry_run)
    except ImportFileError as exc:
        raise HttpError(400, str(exc)) from exc
    if not report.ok and not dry_run:
        return Status(400, report.as_json())
    return Status(200, report.as_json())


@router.get("/exports/{list_name}", response={**ERRORS}, operation_id="export_list",
            openapi_extra={"responses": _XLSX})
def export_list(request: HttpRequest, list_name: ListName, filters: Query[ExportFilters]):
    """The list as .xlsx, filtered by the same query parameters as the list endpoint (each list reads
    its own and ignores the others); personal data masked."""
    try:
        services.export_list_for(list_name)
    except NotFound:
        raise HttpError(404, f"unknown list '{list_name}'; use one of: {', '.join(EXPORT_LISTS)}") from None
    export = services.export_list(actor=request.user, name=list_name, params=request.GET)
    return FileResponse(export.file, as_attachment=True, filename=export.filename, content_type=XLSX_CONTENT_TYPE)
