"""Importing a sheet (all rows or none, in one transaction) and exporting a list (audited).

An import checks every row before it writes anything and reports every bad row; a real
import re-checks inside its transaction so nothing changed between check and write.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.context import change_context, context_for_user, current_context
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.models import AuditAction
from linli.core.scope import scope_of
from linli.exchange.formats import RowError
from linli.exchange.importers import IMPORTERS, Importer
from linli.exchange.selectors import EXPORT_LISTS, EXPORT_PERMISSION, ExportList
from linli.exchange.workbooks import read_sheet, template_workbook, write_export
from linli.places.models import Compound


@dataclass
class ImportReport:
    """What an import found and did: `errors` lists every bad row; `created` is empty unless written."""

    kind: str
    dry_run: bool
    rows: int
    errors: list[RowError] = field(default_factory=list)
    planned: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "kind": self.kind, "dry_run": self.dry_run, "rows": self.rows,
                "bad_rows": self.bad_rows, "errors": [e.as_json() for e in self.errors],
                "planned": self.planned, "created": self.created}


def importer_for(kind: str) -> type[Importer]:
    try:
        return IMPORTERS[kind]
    except KeyError:
        raise NotFound("import kind") from None


def import_kinds_for(user: Any) -> list[type[Importer]]:
    """The kinds `user` may import somewhere (the rows still decide compound by compound)."""
    if _is_resident(user):
        return []
    scope = scope_of(user)
    return [i for i in IMPORTERS.values() if scope.allows(i.permission)]


def _is_resident(user: Any) -> bool:
    # Bulk loading is staff work; a resident registers their own household's car one by one,
    # where the service checks it is their household.
    scope = scope_of(user)
    return not scope.unrestricted and bool(scope.grants) and all(g.is_resident for g in scope.grants)


def import_template(kind: str) -> bytes:
    importer = importer_for(kind)
    return template_workbook(str(importer.title), importer.columns, importer.notes)


@contextlib.contextmanager
def _acting(actor: Any, source: str | None = None, **extra: Any) -> Iterator[None]:
    """Audit entries name `actor` even where the request's context was set before authentication."""
    base = current_context()
    ctx = context_for_user(actor, source=source or base.source, ip=base.ip, **extra)
    with change_context(replace(ctx, parent_id=base.id)):
        yield


def import_workbook(*, actor: Any, kind: str, data: bytes, dry_run: bool = True) -> ImportReport:
    """Check (and unless `dry_run`, write) every row of an uploaded sheet.

    Raises NotFound for an unknown kind, Forbidden for a resident's account and ImportFileError
    for a file that cannot be read; bad rows never raise, they are in the report, and then
    nothing is written.
    """
    importer_cls = importer_for(kind)
    if _is_resident(actor):
        raise Forbidden(_("居民账号不能批量导入"))
    rows = read_sheet(data, importer_cls.columns)
    report = ImportReport(kind=kind, dry_run=dry_run, rows=len(rows))
    with _acting(actor, source="import", kind=kind):
        importer = importer_cls(actor)
        if dry_run:
            _check(importer, rows, report)
            return report
        try:
            with transaction.atomic():
                if _check(importer, rows, report):
                    report.created = importer.write()
        except Conflict as exc:
            # Someone else wrote a clashing row after our check; the transaction rolled back whole.
            report.created = {}
            report.errors.append(RowError(0, "", _("导入失败，未写入任何数据：%(reason)s") % {"reason": str(exc)}))
    return report


def _check(importer: Importer, rows: list, report: ImportReport) -> bool:
    importer.check(rows)
    order = {c.header: i for i, c in enumerate(importer.columns)}
    report.errors = sorted((e for row in rows for e in row.errors),
                           key=lambda e: (e.row, order.get(e.column, 99)))
    report.planned = importer.planned if report.ok else {}
    return report.ok


# Exports -------------------------------------------------------------------------------------


@dataclass
class ExportFile:
    file: IO[bytes]
    filename: str
    rows: int


def export_list_for(name: str) -> ExportList:
    try:
        return EXPORT_LISTS[name]
    except KeyError:
        raise NotFound("export list") from None


def may_export(user: Any, export: ExportList) -> bool:
    return not export.personal or scope_of(user).allows(EXPORT_PERMISSION)


def exportable_lists(user: Any) -> list[ExportList]:
    return [e for e in EXPORT_LISTS.values() if may_export(user, e)]


def export_list(*, actor: Any, name: str, params: Mapping[str, Any]) -> ExportFile:
    """The rows of list `name` the actor can see, filtered like the list page, as an .xlsx file.

    The file is built first and the export is audited before it is handed out, so an export
    nobody recorded never leaves the server.
    """
    export = export_list_for(name)
    if not may_export(actor, export):
        raise Forbidden(_("无权导出含个人信息的列表"))
    filters = export.parse_filters(params)
    export.check_references(actor, filters)
    per_compound: Counter[int | None] = Counter()

    def rows() -> Iterator[list[Any]]:
        for obj in export.queryset(actor, filters).iterator(chunk_size=2000):
            per_compound[getattr(obj, "compound_id", None)] += 1
            yield export.row(obj)

    out = write_export(str(export.title), export.headers, rows())
    detail = {"export": name, "filters": export.recorded_filters(filters)}
    with _acting(actor), transaction.atomic():
        record_export(actor=actor, detail=detail, per_compound=per_compound)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return ExportFile(out, f"{name}-{stamp}.xlsx", sum(per_compound.values()))


def record_export(*, actor: Any, detail: dict[str, Any], per_compound: Mapping[int | None, int]) -> None:
    """One audit entry per compound whose rows left in the file, so each compound's log shows it;
    rows that belong to no compound (or an empty export) are logged against the exporting user."""
    compounds = Compound.objects.in_bulk([pk for pk in per_compound if pk is not None])
    changes = [
        audit.Change(AuditAction.EXPORT, compound, None, {**detail, "rows": count})
        for pk, count in sorted(per_compound.items(), key=lambda item: item[0] or 0)
        if pk is not None and (compound := compounds.get(pk)) is not None
    ]
    loose = sum(count for pk, count in per_compound.items() if pk is None or pk not in compounds)
    if loose or not changes:
        changes.append(audit.Change(AuditAction.EXPORT, actor, None, {**detail, "rows": loose}))
    audit.record(changes)
