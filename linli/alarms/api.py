"""REST endpoints for alarms (/api/alarms/…): the board, the lifecycle and comments."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.accounts import selectors as accounts
from linli.alarms import selectors, services
from linli.alarms.models import AlarmStatus, Severity
from linli.core.api import ERRORS, Id, PageQuery, Payload, api_enum, page, paged

AlarmSeverity = api_enum("AlarmSeverity", Severity)

router = Router(tags=["alarms"])


class AlarmOut(Schema):
    id: int
    compound_id: int
    device_id: int | None
    source: str
    type: str
    severity: AlarmSeverity
    status: AlarmStatus
    life_safety: bool
    title: str
    details: dict
    evidence: list
    count: int
    raised_at: dt.datetime
    last_seen_at: dt.datetime
    acknowledged_at: dt.datetime | None
    assignee_id: int | None
    closed_at: dt.datetime | None
    escalation_level: int
    escalated_at: dt.datetime | None
    deadline_at: dt.datetime | None
    arrived_at: dt.datetime | None


class AlarmFilter(Schema):
    compound_id: Id | None = None
    status: AlarmStatus | None = None
    open_only: bool = False
    type: str = ""
    severity: AlarmSeverity | None = None


class DispatchIn(Payload):
    assignee_id: Id


class ResolveIn(Payload):
    false_alarm: bool = False
    note: str = Field("", max_length=500)


class CommentIn(Payload):
    text: str = Field(min_length=1, max_length=500)


class CommentOut(Schema):
    id: int
    alarm_id: int
    author_id: int | None
    at: dt.datetime
    text: str


@router.get("", response={200: paged(AlarmOut), **ERRORS}, operation_id="list_alarms")
def list_alarms(request: HttpRequest, filters: Query[AlarmFilter], pg: Query[PageQuery]):
    f = filters.dict()
    f["status"], f["severity"] = f["status"] or "", f["severity"] or ""
    return page(selectors.alarms(request.user, **f), pg)


@router.get("/{alarm_id}", response={200: AlarmOut, **ERRORS}, operation_id="get_alarm")
def get_alarm(request: HttpRequest, alarm_id: Id):
    return selectors.alarm(request.user, alarm_id)


@router.post("/{alarm_id}/acknowledge", response={200: AlarmOut, **ERRORS}, operation_id="acknowledge_alarm")
def acknowledge_alarm(request: HttpRequest, alarm_id: Id):
    return services.acknowledge(actor=request.user, alarm=selectors.alarm(request.user, alarm_id))


@router.post("/{alarm_id}/dispatch", response={200: AlarmOut, **ERRORS}, operation_id="dispatch_alarm")
def dispatch_alarm(request: HttpRequest, alarm_id: Id, payload: DispatchIn):
    alarm = selectors.alarm(request.user, alarm_id)
    assignee = accounts.staff_member(request.user, payload.assignee_id)
    return services.dispatch(actor=request.user, alarm=alarm, assignee=assignee)


@router.post("/{alarm_id}/resolve", response={200: AlarmOut, **ERRORS}, operation_id="resolve_alarm")
def resolve_alarm(request: HttpRequest, alarm_id: Id, payload: ResolveIn):
    alarm = selectors.alarm(request.user, alarm_id)
    return services.resolve(actor=request.user, alarm=alarm, false_alarm=payload.false_alarm, note=payload.note)


class ArriveIn(Payload):
    note: str = Field("", max_length=500)


@router.post("/{alarm_id}/arrive", response={200: AlarmOut, **ERRORS}, operation_id="arrive_alarm")
def arrive_alarm(request: HttpRequest, alarm_id: Id, payload: ArriveIn):
    """The person dispatched is on site (stops the arrival deadline of an entrapment)."""
    alarm = selectors.alarm(request.user, alarm_id)
    return services.arrive(actor=request.user, alarm=alarm, note=payload.note)


@router.post("/{alarm_id}/comments", response={201: CommentOut, **ERRORS}, operation_id="comment_alarm")
def comment_alarm(request: HttpRequest, alarm_id: Id, payload: CommentIn):
    alarm = selectors.alarm(request.user, alarm_id)
    return Status(201, services.comment(actor=request.user, alarm=alarm, text=payload.text))
