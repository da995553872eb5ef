"""REST endpoints for work orders (/api/workorders/…): categories, reporting, the scoped lists,
the grab pool, every move of an order as POST /workorders/{id}/<action>, and SLA figures.

Thin: reads go through `linli.workorders.selectors`, writes through `linli.workorders.services`
(which check who may make each move). Prices are integer fen; the contact phone only masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ValidationInfo, field_validator

from linli.core.api import (
    ERRORS,
    Count,
    ErrorBody,
    Fen,
    Id,
    IsoDate,
    PageQuery,
    Payload,
    api_enum,
    page,
    paged,
    patch_field,
)
from linli.core.errors import Forbidden
from linli.core.selectors import get_visible
from linli.core.services import compounds_where, field_error, require
from linli.places import selectors as places
from linli.places.models import Compound
from linli.workorders import dispatch, photos, selectors, services
from linli.workorders.models import Category, Channel, DispatchMode, Kind, WorkOrder
from linli.workorders.models import Status as OrderStatus

WorkOrderStatus = api_enum("WorkOrderStatus", OrderStatus)
ReportChannel = api_enum("ReportChannel", Channel)

router = Router(tags=["workorders"])


# --- categories ----------------------------------------------------------------------------------

class CategoryOut(Schema):
    id: int
    compound_id: int
    code: str
    kind: Kind
    name: str
    deadline_minutes: int
    warning_minutes: int
    dispatch_mode: DispatchMode
    required_skill: str
    paid: bool
    escalation_levels: int
    escalation_interval_minutes: int
    reopen_window_hours: int
    active: bool


class CategoryFilter(Schema):
    compound_id: Id | None = None


class CategoryIn(Payload):
    compound_id: Id
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    kind: Kind
    name: str = Field(min_length=1, max_length=60)
    deadline_minutes: int = Field(ge=1, le=90 * 24 * 60)
    warning_minutes: Count = 0
    dispatch_mode: DispatchMode = DispatchMode.ASSIGN
    required_skill: str = Field("", max_length=40)
    paid: bool = False
    escalation_levels: int = Field(3, ge=0, le=3)
    escalation_interval_minutes: Count = Field(60, ge=1)
    reopen_window_hours: Count = 7 * 24
    active: bool = True


class CategoryPatch(Payload):
    kind: Kind = patch_field()
    name: str = patch_field(min_length=1, max_length=60)
    deadline_minutes: int = patch_field(ge=1, le=90 * 24 * 60)
    warning_minutes: Count = patch_field()
    dispatch_mode: DispatchMode = patch_field()
    required_skill: str = patch_field(max_length=40)
    paid: bool = patch_field()
    escalation_levels: int = patch_field(ge=0, le=3)
    escalation_interval_minutes: Count = patch_field(ge=1)
    reopen_window_hours: Count = patch_field()
    active: bool = patch_field()


def _category(request: HttpRequest, category_id: int) -> Category:
    return get_visible(Category.objects.all(), request.user, category_id)


@router.get("/categories", response={200: paged(CategoryOut), **ERRORS}, operation_id="list_workorder_categories")
def list_workorder_categories(request: HttpRequest, filters: Query[CategoryFilter], pg: Query[PageQuery]):
    return page(selectors.categories(request.user, **filters.dict()).order_by("compound_id", "kind", "name", "id"),
                pg)


@router.get("/categories/{category_id}", response={200: CategoryOut, **ERRORS},
            operation_id="get_workorder_category")
def get_workorder_category(request: HttpRequest, category_id: Id):
    return _category(request, category_id)


@router.post("/categories", response={201: CategoryOut, **ERRORS}, operation_id="create_workorder_category")
def create_workorder_category(request: HttpRequest, payload: CategoryIn):
    fields = payload.dict()
    compound = places.compound(request.user, fields.pop("compound_id"))
    return Status(201, services.create_category(actor=request.user, compound=compound, **fields))


@router.patch("/categories/{category_id}", response={200: CategoryOut, **ERRORS},
              operation_id="update_workorder_category")
def update_workorder_category(request: HttpRequest, category_id: Id, payload: CategoryPatch):
    category = _category(request, category_id)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return services.update_category(actor=request.user, category=category, **changes)


# --- orders --------------------------------------------------------------------------------------

class WorkOrderOut(Schema):
    id: int
    compound_id: int
    category_id: int
    category_name: str = Field(alias="category.name")
    kind: Kind = Field(alias="category.kind")
    building_id: int | None
    house_id: int | None
    place: str
    title: str
    description: str
    channel: ReportChannel
    reporter_person_id: int | None
    contact_phone: str = Field("", alias="contact_phone_masked", description="masked")
    status: WorkOrderStatus
    assignee_id: int | None
    deadline_at: dt.datetime
    escalation_level: int
    price_fen: int | None
    rating: int | None
    rating_comment: str
    photos: list = Field(description="completion photos: GET /workorders/{id}/photos/completion/{index}")
    report_photos: list = Field(description="the reporter's photos: GET /workorders/{id}/photos/report/{index}")
    bill_id: int | None = Field(None, description="the bill of a paid repair, once completed")
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    assigned_at: dt.datetime | None
    started_at: dt.datetime | None
    done_at: dt.datetime | None
    visited_at: dt.datetime | None
    closed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    reopen_count: int


class StepOut(Schema):
    id: int
    at: dt.datetime
    action: str
    from_status: str
    to_status: str
    actor_id: int | None
    actor_label: str
    note: str
    photos: list
    details: dict


class WorkOrderDetailOut(WorkOrderOut):
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj) -> list:
        return obj.steps_seen


class WorkOrderFilter(Schema):
    compound_id: Id | None = None
    status: WorkOrderStatus | None = None
    kind: Kind | None = None
    category_id: Id | None = None
    assignee_id: Id | None = None


class ReportIn(Payload):
    compound_id: Id
    category_id: Id
    title: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    house_id: Id | None = None
    building_id: Id | None = None
    place: str = Field("", max_length=120)
    contact_phone: str = Field("", max_length=20)
    channel: ReportChannel | None = Field(None, description="staff only; a resident's report is always `portal`")
    reporter_person_id: Id | None = Field(None, description="staff only: the person reported for")
    photos: list[str] = Field([], max_length=9, description="references from POST /workorders/photos")


def _order(request: HttpRequest, order_id: int) -> WorkOrder:
    return selectors.work_order(request.user, order_id)


def _detail(request: HttpRequest, order: WorkOrder) -> WorkOrder:
    order = selectors.work_order(request.user, order.pk)
    order.steps_seen = list(selectors.steps(request.user, order))
    return order


# --- photos --------------------------------------------------------------------------------------

class PhotoRefOut(Schema):
    ref: str


_PHOTO = {200: {"description": "the photo, a JPEG without metadata",
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}}


# Before "/{order_id}": a path segment "photos" must not be read as an order id.
@router.post("/photos", response={201: PhotoRefOut, **ERRORS}, operation_id="upload_workorder_photo")
def upload_workorder_photo(request: HttpRequest, compound_id: Form[Id], file: File[UploadedFile]):
    """Upload one photo (JPEG, PNG or WebP, at most 10 MB) for a report or a completion in the compound.

    It is stored upright, at most 2048 px, re-encoded without EXIF (no GPS position); name the
    returned `ref` in `photos` when reporting or completing."""
    if file.size is not None and file.size > photos.MAX_UPLOAD_BYTES:
        raise field_error("photo", _("照片不能超过10MB"))
    content = file.read(photos.MAX_UPLOAD_BYTES + 1)
    try:
        ref = photos.store_photo(actor=request.user, compound_id=compound_id, content=content,
                                 filename=file.name or "")
    except OSError as exc:
        raise HttpError(503, _("媒体存储暂不可用，请稍后重试")) from exc
    return Status(201, {"ref": ref})


@router.get("", response={200: paged(WorkOrderOut), **ERRORS}, operation_id="list_work_orders")
def list_work_orders(request: HttpRequest, filters: Query[WorkOrderFilter], pg: Query[PageQuery]):
    """Staff see their compounds' orders; a resident the orders they reported."""
    f = filters.dict()
    f["status"], f["kind"] = f["status"] or "", f["kind"] or ""
    return page(selectors.work_orders(request.user, **f), pg)


@router.get("/pool", response={200: paged(WorkOrderOut), **ERRORS}, operation_id="list_grab_pool")
def list_grab_pool(request: HttpRequest, filters: Query[CategoryFilter], pg: Query[PageQuery]):
    """抢单池: accepted orders of grab categories that nobody has taken yet."""
    return page(selectors.grab_pool(request.user, compound_id=filters.compound_id), pg)


@router.get("/{order_id}", response={200: WorkOrderDetailOut, **ERRORS}, operation_id="get_work_order")
def get_work_order(request: HttpRequest, order_id: Id):
    return _detail(request, _order(request, order_id))


@router.post("", response={201: WorkOrderDetailOut, **ERRORS}, operation_id="report_work_order")
def report_work_order(request: HttpRequest, payload: ReportIn):
    """A resident reports for their own house (channel portal); staff file on someone's behalf."""
    user = request.user
    compound = places.compound(user, payload.compound_id)
    category = Category.objects.filter(compound=compound, pk=payload.category_id).first()
    if category is None:
        raise field_error("category_id", _("该类别不属于本小区或已停用"))
    house = places.house(user, payload.house_id) if payload.house_id else None
    building = places.building(user, payload.building_id) if payload.building_id else None
    reporter = None
    if payload.reporter_person_id and getattr(user, "kind", "") != "resident":
        from linli.people import selectors as people

        reporter = people.person(user, payload.reporter_person_id)
    order = services.submit(actor=user, compound=compound, category=category, title=payload.title,
                            description=payload.description, house=house, building=building, place=payload.place,
                            contact_phone=payload.contact_phone, channel=payload.channel, reporter_person=reporter,
                            photos=payload.photos)
    return Status(201, _detail(request, order))


@router.get("/{order_id}/photos/{which}/{index}", response={**ERRORS, 503: ErrorBody},
            operation_id="get_workorder_photo", openapi_extra={"responses": _PHOTO})
def get_workorder_photo(request: HttpRequest, order_id: Id, which: Literal["report", "completion"], index: Count):
    """One photo of an order: `report` (the reporter's) or `completion` (the technician's); scoped like the order."""
    try:
        content, kind = selectors.photo_content(request.user, order_id, index, which)
    except OSError as exc:
        raise HttpError(503, _("媒体存储暂不可用，请稍后重试")) from exc
    response = HttpResponse(content, content_type=kind)
    # A reference never changes content; only this user's browser may keep it.
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- moves ---------------------------------------------------------------------------------------

class NoteIn(Payload):
    note: str = Field("", max_length=500)


class ReasonIn(Payload):
    reason: str = Field(min_length=1, max_length=500)


class CancelIn(Payload):
    reason: str = Field("", max_length=500)


class AssigneeIn(Payload):
    assignee_id: Id
    note: str = Field("", max_length=500)


class WorkOrderReturnIn(Payload):
    note: str = Field(min_length=1, max_length=500, description="why the order is given back")


class CompleteIn(Payload):
    note: str = Field("", max_length=500)
    photos: list[str] = Field([], max_length=9, description="references to completion photos already uploaded")
    price_fen: Fen | None = Field(None, description="paid categories only")


class VisitIn(Payload):
    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=500)


def _technician(order: WorkOrder, assignee_id: int):
    user = dispatch.technicians_of(order.compound_id).filter(pk=assignee_id).first()
    if user is None:
        raise field_error("assignee_id", _("该用户不是本小区的维修师傅"))
    return user


MOVE = {200: WorkOrderDetailOut, **ERRORS}


@router.post("/{order_id}/accept", response=MOVE, operation_id="accept_work_order")
def accept_work_order(request: HttpRequest, order_id: Id, payload: NoteIn):
    return _detail(request, services.accept(actor=request.user, order=_order(request, order_id), note=payload.note))


@router.post("/{order_id}/assign", response=MOVE, operation_id="assign_work_order")
def assign_work_order(request: HttpRequest, order_id: Id, payload: AssigneeIn):
    order = _order(request, order_id)
    require(request.user, order, "dispatch")
    order = services.assign(actor=request.user, order=order, assignee=_technician(order, payload.assignee_id),
                            note=payload.note)
    return _detail(request, order)


@router.post("/{order_id}/grab", response=MOVE, operation_id="grab_work_order")
def grab_work_order(request: HttpRequest, order_id: Id):
    """抢单: the first technician wins; a later grab answers 409."""
    return _detail(request, services.grab(actor=request.user, order=_order(request, order_id)))


@router.post("/{order_id}/start", response=MOVE, operation_id="start_work_order")
def start_work_order(request: HttpRequest, order_id: Id, payload: NoteIn):
    return _detail(request, services.start(actor=request.user, order=_order(request, order_id), note=payload.note))


@router.post("/{order_id}/complete", response=MOVE, operation_id="complete_work_order")
def complete_work_order(request: HttpRequest, order_id: Id, payload: CompleteIn):
    order = services.complete(actor=request.user, order=_order(request, order_id), note=payload.note,
                              photos=payload.photos, price_fen=payload.price_fen)
    return _detail(request, order)


@router.post("/{order_id}/visit", response=MOVE, operation_id="visit_work_order")
def visit_work_order(request: HttpRequest, order_id: Id, payload: VisitIn):
    """回访: the reporter's rating (1–5), recorded by customer service or by the reporter."""
    order = services.follow_up(actor=request.user, order=_order(request, order_id), rating=payload.rating,
                               comment=payload.comment)
    return _detail(request, order)


@router.post("/{order_id}/close", response=MOVE, operation_id="close_work_order")
def close_work_order(request: HttpRequest, order_id: Id, payload: NoteIn):
    return _detail(request, services.close(actor=request.user, order=_order(request, order_id), note=payload.note))


@router.post("/{order_id}/transfer", response=MOVE, operation_id="transfer_work_order")
def transfer_work_order(request: HttpRequest, order_id: Id, payload: AssigneeIn):
    order = _order(request, order_id)
    require(request.user, order, "dispatch")
    order = services.transfer(actor=request.user, order=order, assignee=_technician(order, payload.assignee_id),
                              note=payload.note)
    return _detail(request, order)


@router.post("/{order_id}/return", response=MOVE, operation_id="return_work_order")
def return_work_order(request: HttpRequest, order_id: Id, payload: WorkOrderReturnIn):
    order = services.return_to_pool(actor=request.user, order=_order(request, order_id), note=payload.note)
    return _detail(request, order)


@router.post("/{order_id}/suspend", response=MOVE, operation_id="suspend_work_order")
def suspend_work_order(request: HttpRequest, order_id: Id, payload: ReasonIn):
    """挂起: the SLA clock stops until the order is resumed."""
    order = services.suspend(actor=request.user, order=_order(request, order_id), reason=payload.reason)
    return _detail(request, order)


@router.post("/{order_id}/resume", response=MOVE, operation_id="resume_work_order")
def resume_work_order(request: HttpRequest, order_id: Id, payload: NoteIn):
    return _detail(request, services.resume(actor=request.user, order=_order(request, order_id), note=payload.note))


@router.post("/{order_id}/reopen", response=MOVE, operation_id="reopen_work_order")
def reopen_work_order(request: HttpRequest, order_id: Id, payload: ReasonIn):
    order = services.reopen(actor=request.user, order=_order(request, order_id), reason=payload.reason)
    return _detail(request, order)


@router.post("/{order_id}/cancel", response=MOVE, operation_id="cancel_work_order")
def cancel_work_order(request: HttpRequest, order_id: Id, payload: CancelIn):
    order = services.cancel(actor=request.user, order=_order(request, order_id), reason=payload.reason)
    return _detail(request, order)


# --- SLA -----------------------------------------------------------------------------------------

class PeriodQuery(Schema):
    since: IsoDate = Field(description="first day (Asia/Shanghai)")
    until: IsoDate = Field(description="day after the last (exclusive)")

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        since = info.data.get("since")
        if since is not None and value <= since:
            raise ValueError("must be after since")
        return value


class SlaFiguresOut(Schema):
    category_id: int
    submitted: int
    finished: int
    on_time: int
    on_time_rate: float | None
    mean_accept_s: float | None
    mean_complete_s: float | None
    rated: int
    mean_rating: float | None
    satisfied_share: float | None = Field(description="share of the ratings that are 4 or 5")
    visited: int
    visit_rate: float | None = Field(description="回访率: share of the finished orders visited")


class CompoundFiguresOut(SlaFiguresOut):
    category_id: None = None


class SlaOut(Schema):
    compound_id: int
    since: dt.date
    until: dt.date
    overall: CompoundFiguresOut | None = Field(description="the whole compound; null when nothing was submitted")
    categories: list[SlaFiguresOut]


@router.get("/compounds/{compound_id}/sla", response={200: SlaOut, **ERRORS}, operation_id="get_workorder_sla")
def get_workorder_sla(request: HttpRequest, compound_id: Id, period: Query[PeriodQuery]):
    """On-time rate, mean times and satisfaction (mean rating, share rated 4–5, 回访率) of the orders
    submitted in the period, for the compound and per category."""
    compound = places.compound(request.user, compound_id)
    # Staff and government read the figures; a resident (who sees only their own orders) does not.
    readers = Compound.objects.filter(compounds_where(request.user, "workorders.view_sla"), pk=compound.pk)
    if not readers.exists():
        raise Forbidden(_("无权在此小区执行该操作"))
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(period.since, dt.time(), tzinfo=tz)
    until = dt.datetime.combine(period.until, dt.time(), tzinfo=tz)
    figures = selectors.sla_figures(request.user, since=since, until=until, compound_id=compound.pk)
    overall = selectors.sla_figures(request.user, since=since, until=until, compound_id=compound.pk,
                                    by_category=False)
    return {"compound_id": compound.pk, "since": period.since, "until": period.until,
            "overall": overall[0] if overall else None, "categories": figures}
