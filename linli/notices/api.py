"""REST endpoints for notices (/api/notices/…): the scoped list and detail, drafting, publishing,
withdrawal, read receipts, the read rate for staff and the emergency broadcast.

Thin: reads go through `linli.notices.selectors`, writes through `linli.notices.services`.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, IsoDateTime, PageQuery, Payload, page, paged
from linli.notices import selectors, services
from linli.notices.models import MAX_BODY, NoticeAudience, NoticeCategory, NoticeStatus
from linli.places import selectors as places

router = Router(tags=["notices"])


class NoticeOut(Schema):
    id: int
    compound_id: int
    audience: NoticeAudience
    building_id: int | None
    unit_id: int | None
    roles: list[str]
    title: str
    body: str
    category: NoticeCategory
    status: NoticeStatus
    publish_at: dt.datetime | None
    published_at: dt.datetime | None
    expires_at: dt.datetime | None
    pinned: bool
    author_id: int | None
    withdrawn_at: dt.datetime | None
    withdraw_reason: str
    read_at: dt.datetime | None = Field(None, description="when the caller read it; null if not yet")

    @staticmethod
    def resolve_roles(obj) -> list[str]:
        return obj.role_list


class NoticeFilter(Schema):
    compound_id: Id | None = None
    status: NoticeStatus | None = None
    category: NoticeCategory | None = None
    building_id: Id | None = None


class NoticeIn(Payload):
    compound_id: Id
    title: str = Field(min_length=1, max_length=120)
    # Checked by the service: a request error on a field named "body" would not name it.
    body: str = Field(description=f"plain text, at most {MAX_BODY} characters")
    category: NoticeCategory = NoticeCategory.ORDINARY
    building_id: Id | None = None
    unit_id: Id | None = None
    roles: list[str] = Field([], description="staff role codes; such a notice never reaches residents")
    publish_at: IsoDateTime | None = None
    expires_at: IsoDateTime | None = None
    pinned: bool = False


class WithdrawIn(Payload):
    reason: str = Field(min_length=1, max_length=200)


class EmergencyIn(Payload):
    building_id: Id
    title: str = Field(min_length=1, max_length=120)
    # Checked by the service: a request error on a field named "body" would not name it.
    body: str = Field(description=f"plain text, at most {MAX_BODY} characters")


class ReadOut(Schema):
    notice_id: int
    read_at: dt.datetime


class ReadFiguresOut(Schema):
    notice_id: int
    readers: int
    audience: int
    rate: float | None = Field(description="readers / audience; null for an empty audience")


class NoticesUnreadOut(Schema):
    unread: int


@router.get("", response={200: paged(NoticeOut), **ERRORS}, operation_id="list_notices")
def list_notices(request: HttpRequest, filters: Query[NoticeFilter], pg: Query[PageQuery]):
    return page(selectors.notices_for(request.user, **filters.dict()), pg)


@router.get("/unread-count", response={200: NoticesUnreadOut, **ERRORS}, operation_id="count_unread_notices")
def count_unread_notices(request: HttpRequest):
    return {"unread": selectors.unread_count(request.user)}


@router.post("/emergency", response={201: NoticeOut, **ERRORS}, operation_id="broadcast_emergency_notice")
def broadcast_emergency_notice(request: HttpRequest, payload: EmergencyIn):
    """To every current resident of the building on every channel (SMS and WeChat included), at once."""
    building = places.building(request.user, payload.building_id)
    notice = services.emergency_broadcast(actor=request.user, building=building, title=payload.title,
                                          body=payload.body)
    return Status(201, selectors.notice(request.user, notice.pk))


@router.get("/{notice_id}", response={200: NoticeOut, **ERRORS}, operation_id="get_notice")
def get_notice(request: HttpRequest, notice_id: Id):
    return selectors.notice(request.user, notice_id)


@router.post("", response={201: NoticeOut, **ERRORS}, operation_id="create_notice")
def create_notice(request: HttpRequest, payload: NoticeIn):
    fields = payload.dict()
    compound = places.compound(request.user, fields.pop("compound_id"))
    building_id, unit_id = fields.pop("building_id"), fields.pop("unit_id")
    building = places.building(request.user, building_id) if building_id else None
    unit = places.unit(request.user, unit_id) if unit_id else None
    fields["roles"] = tuple(fields["roles"])
    notice = services.draft_notice(actor=request.user, compound=compound, building=building, unit=unit, **fields)
    return Status(201, selectors.notice(request.user, notice.pk))


@router.post("/{notice_id}/publish", response={200: NoticeOut, **ERRORS}, operation_id="publish_notice")
def publish_notice(request: HttpRequest, notice_id: Id):
    """Publishes now, or schedules when `publish_at` lies ahead."""
    notice = services.publish_notice(actor=request.user, notice=selectors.notice(request.user, notice_id))
    return selectors.notice(request.user, notice.pk)


@router.post("/{notice_id}/withdraw", response={200: NoticeOut, **ERRORS}, operation_id="withdraw_notice")
def withdraw_notice(request: HttpRequest, notice_id: Id, payload: WithdrawIn):
    notice = services.withdraw_notice(actor=request.user, notice=selectors.notice(request.user, notice_id),
                                      reason=payload.reason)
    return selectors.notice(request.user, notice.pk)


@router.post("/{notice_id}/read", response={200: ReadOut, **ERRORS}, operation_id="mark_notice_read")
def mark_notice_read(request: HttpRequest, notice_id: Id):
    receipt = services.mark_notice_read(actor=request.user, notice=selectors.notice(request.user, notice_id))
    return {"notice_id": receipt.notice_id, "read_at": receipt.read_at}


@router.get("/{notice_id}/reads", response={200: ReadFiguresOut, **ERRORS}, operation_id="get_notice_reads")
def get_notice_reads(request: HttpRequest, notice_id: Id):
    notice = selectors.notice(request.user, notice_id)
    readers, audience = selectors.read_figures(request.user, notice)
    return {"notice_id": notice.pk, "readers": readers, "audience": audience,
            "rate": readers / audience if audience else None}
