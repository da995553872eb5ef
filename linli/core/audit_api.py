"""Read-only REST endpoints over the audit log (/api/audit/…), scoped like everything else."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema

from linli.core import selectors
from linli.core.api import ERRORS, Id, IsoDateTime, PageQuery, page, paged
from linli.core.models import AuditAction

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    user_id: int | None
    actor: str
    action: AuditAction
    object_type: str
    object_id: str
    object_repr: str
    compound_id: int | None
    before: dict | None
    after: dict | None
    context: dict
    hash: str
    prev_hash: str


class AuditFilter(Schema):
    object_type: str = ""
    object_id: str = ""
    action: AuditAction | None = None
    actor: str = ""
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    compound_id: Id | None = None


@router.get("/entries", response={200: paged(AuditEntryOut), **ERRORS}, operation_id="list_audit_entries")
def list_audit_entries(request: HttpRequest, filters: Query[AuditFilter], pg: Query[PageQuery]):
    return page(selectors.audit_entries(request.user, **filters.dict()), pg)


@router.get("/entries/{entry_id}", response={200: AuditEntryOut, **ERRORS}, operation_id="get_audit_entry")
def get_audit_entry(request: HttpRequest, entry_id: Id):
    return selectors.audit_entry(request.user, entry_id)
