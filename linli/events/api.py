"""REST endpoints over the event log and dead letters (/api/events/…), read-only and scoped."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema

from linli.core.api import ERRORS, PageQuery, page, paged
from linli.events import selectors
from linli.events.models import Lane

router = Router(tags=["events"])


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
    compound_id: int | None = None
    device_id: int | None = None
    type: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


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
def list_dead_letters(request: HttpRequest, pg: Query[PageQuery], source: str = "", compound_id: int | None = None):
    return page(selectors.dead_letters(request.user, source=source, compound_id=compound_id), pg)


@router.get("/dead-letters/{dead_letter_id}", response={200: DeadLetterOut, **ERRORS},
            operation_id="get_dead_letter")
def get_dead_letter(request: HttpRequest, dead_letter_id: int):
    return selectors.dead_letter(request.user, dead_letter_id)


@router.get("/{event_id}", response={200: EventOut, **ERRORS}, operation_id="get_event")
def get_event(request: HttpRequest, event_id: int):
    return selectors.event(request.user, event_id)
