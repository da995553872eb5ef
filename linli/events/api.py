"""REST endpoints over the event log and dead letters (/api/events/…), read-only and scoped."""

from __future__ import annotations

import datetime as dt
import posixpath

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from linli.core.api import ERRORS, Count, ErrorBody, Id, IsoDateTime, PageQuery, page, paged
from linli.core.errors import NotFound
from linli.events import media, selectors
from linli.events.models import Lane

router = Router(tags=["events"])

_EVIDENCE = {200: {"description": "the evidence file (a JPEG snapshot, usually)",
                   "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                               "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


class EventOut(Schema):
    id: int
    compound_id: int
    device_id: int
    type: str
    at: dt.datetime
    received_at: dt.datetime
    message_id: str
    lane: Lane
    payload: dict
    evidence: list


class EventFilter(Schema):
    compound_id: Id | None = None
    device_id: Id | None = None
    type: str = ""
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None


class DeadLetterOut(Schema):
    id: int
    received_at: dt.datetime
    source: str
    device_id: int | None
    compound_id: int | None
    reason: str
    detail: str
    raw: str


@router.get("", response={200: paged(EventOut), **ERRORS}, operation_id="list_events")
def list_events(request: HttpRequest, filters: Query[EventFilter], pg: Query[PageQuery]):
    return page(selectors.events(request.user, **filters.dict()), pg)


@router.get("/dead-letters", response={200: paged(DeadLetterOut), **ERRORS}, operation_id="list_dead_letters")
def list_dead_letters(request: HttpRequest, pg: Query[PageQuery], source: str = "", compound_id: Id | None = None):
    return page(selectors.dead_letters(request.user, source=source, compound_id=compound_id), pg)


@router.get("/dead-letters/{dead_letter_id}", response={200: DeadLetterOut, **ERRORS},
            operation_id="get_dead_letter")
def get_dead_letter(request: HttpRequest, dead_letter_id: Id):
    return selectors.dead_letter(request.user, dead_letter_id)


@router.get("/{event_id}", response={200: EventOut, **ERRORS}, operation_id="get_event")
def get_event(request: HttpRequest, event_id: Id):
    return selectors.event(request.user, event_id)


@router.get("/{event_id}/evidence/{index}", response={**ERRORS, 503: ErrorBody}, operation_id="get_event_evidence",
            openapi_extra={"responses": _EVIDENCE})
def get_event_evidence(request: HttpRequest, event_id: Id, index: Count):
    """One evidence file of an event (`evidence[index]`), streamed with its content type; scoped like the event."""
    event = selectors.event(request.user, event_id)
    evidence = event.evidence if isinstance(event.evidence, list) else []
    item = evidence[index] if 0 <= index < len(evidence) else None
    ref = item.get("ref") if isinstance(item, dict) else None
    if not isinstance(ref, str):
        raise NotFound("evidence")
    try:
        body, size = media.stream(ref)
    except (media.MediaMissing, ValueError) as exc:  # purged, or never a valid reference
        raise NotFound("evidence") from exc
    except OSError as exc:
        raise HttpError(503, _("媒体存储暂不可用，请稍后重试")) from exc
    response = FileResponse(body, content_type=media.content_type(ref), filename=posixpath.basename(ref))
    response["Content-Length"] = str(size)
    # A reference never changes content; only this user's browser may keep it.
    response["Cache-Control"] = "private, max-age=86400"
    return response
