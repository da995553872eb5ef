"""REST endpoints for visitors (/api/visitors/…): invitations (list, create, detail, cancel), admission
by code at the gate, walk-ins registered at the booth and answered by the household, and visits.

The clear invitation code (and its QR code) is in the answer to its creation only; the visitor's
phone is only ever shown masked. A refused admission answers 409 with `error.code` the reason.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, IsoDateTime, PageQuery, Payload, error_body, page, paged
from linli.core.errors import Forbidden
from linli.places import selectors as places
from linli.visitors import selectors, services
from linli.visitors.models import MAX_USES, InvitationStatus, VisitKind, VisitStatus
from linli.visitors.qr import qr_svg

router = Router(tags=["visitors"])


class InvitationOut(Schema):
    id: int
    compound_id: int
    house_id: int
    house_address: str = Field(alias="house.standard_address")
    host_user_id: int | None
    visitor_name: str
    visitor_phone: str = Field("", alias="visitor_phone_masked", description="masked")
    plate: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    uses_allowed: int
    uses_made: int
    status: InvitationStatus
    note: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class InvitationCreatedOut(InvitationOut):
    code: str = Field(description="the clear code: shown this once, never stored")
    qr_svg: str = Field(description="the code as an inline SVG QR code")


class InvitationFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    active_only: bool = False


class InviteIn(Payload):
    house_id: Id
    visitor_name: str = Field(min_length=1, max_length=40)
    visitor_phone: str = Field("", max_length=20)
    starts_at: IsoDateTime
    ends_at: IsoDateTime = Field(description="after starts_at, at most 7 days later")
    uses: int = Field(1, ge=1, le=MAX_USES)
    plate: str = Field("", max_length=12, description="the visitor's car, for visitor parking")
    note: str = Field("", max_length=200)


class VisitOut(Schema):
    id: int
    compound_id: int
    house_id: int
    house_address: str = Field(alias="house.standard_address")
    invitation_id: int | None
    kind: VisitKind
    status: VisitStatus
    visitor_name: str
    visitor_phone: str = Field("", alias="visitor_phone_masked", description="masked")
    purpose: str
    plate: str
    gate: str
    arrived_at: dt.datetime
    registered_by_id: int | None
    answer_by: dt.datetime | None
    answered_at: dt.datetime | None
    answered_by_id: int | None


class VisitFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    status: VisitStatus | None = None


class HonourIn(Payload):
    code: str = Field(min_length=1, max_length=64)
    gate: str = Field("", max_length=64)
    plate: str = Field("", max_length=12)


class WalkInIn(Payload):
    house_id: Id
    visitor_name: str = Field(min_length=1, max_length=40)
    visitor_phone: str = Field("", max_length=20)
    purpose: str = Field("", max_length=100)
    plate: str = Field("", max_length=12)


class AnswerIn(Payload):
    admit: bool


# --- invitations -------------------------------------------------------------------------------------

@router.get("/invitations", response={200: paged(InvitationOut), **ERRORS}, operation_id="list_invitations")
def list_invitations(request: HttpRequest, filters: Query[InvitationFilter], pg: Query[PageQuery]):
    """A household sees its own invitations; guards and property staff their compounds'."""
    return page(selectors.invitations(request.user, **filters.dict()), pg)


@router.post("/invitations", response={201: InvitationCreatedOut, **ERRORS}, operation_id="create_invitation")
def create_invitation(request: HttpRequest, payload: InviteIn):
    """A resident of the house invites a visitor; the answer carries the code and its QR code, once."""
    house = places.house(request.user, payload.house_id)
    fields = payload.dict()
    fields.pop("house_id")
    invitation, code = services.invite(actor=request.user, house=house, **fields)
    invitation = selectors.invitation(request.user, invitation.pk)
    invitation.code, invitation.qr_svg = code, qr_svg(code)
    return Status(201, invitation)


@router.get("/invitations/{invitation_id}", response={200: InvitationOut, **ERRORS}, operation_id="get_invitation")
def get_invitation(request: HttpRequest, invitation_id: Id):
    return selectors.invitation(request.user, invitation_id)


@router.post("/invitations/{invitation_id}/cancel", response={200: InvitationOut, **ERRORS},
             operation_id="cancel_invitation")
def cancel_invitation(request: HttpRequest, invitation_id: Id):
    invitation = services.cancel_invitation(actor=request.user,
                                            invitation=selectors.invitation(request.user, invitation_id))
    return selectors.invitation(request.user, invitation.pk)


@router.post("/honour", response={200: VisitOut, **ERRORS}, operation_id="honour_invitation")
def honour_invitation(request: HttpRequest, payload: HonourIn):
    """A guard (or property manager) admits a visitor by code: one use is consumed. A refusal
    answers 409 with `error.code` one of unknown_code, not_yet_valid, expired, used_up, cancelled,
    wrong_plate; a code of another compound is unknown."""
    if not request.user.scope().allows("visitors.honour_invitation"):
        raise Forbidden(_("无权核验访客邀请"))
    try:
        visit = services.honour_invitation(code=payload.code, gate=payload.gate, plate=payload.plate,
                                           actor=request.user)
    except services.VisitRefused as refused:
        return Status(409, error_body(refused.reason, str(refused)))
    return selectors.visit(request.user, visit.pk)


# --- walk-ins and visits ----------------------------------------------------------------------------

@router.post("/walk-ins", response={201: VisitOut, **ERRORS}, operation_id="register_walk_in")
def register_walk_in(request: HttpRequest, payload: WalkInIn):
    """A guard registers a visitor without an invitation; the household is asked to confirm within 10 minutes."""
    house = places.house(request.user, payload.house_id)
    fields = payload.dict()
    fields.pop("house_id")
    visit = services.register_walk_in(actor=request.user, house=house, **fields)
    return Status(201, selectors.visit(request.user, visit.pk))


@router.post("/walk-ins/{visit_id}/answer", response={200: VisitOut, **ERRORS}, operation_id="answer_walk_in")
def answer_walk_in(request: HttpRequest, visit_id: Id, payload: AnswerIn):
    """A resident of the visited house admits or refuses the waiting visitor."""
    visit = services.answer_walk_in(actor=request.user, visit=selectors.visit(request.user, visit_id),
                                    admit=payload.admit)
    return selectors.visit(request.user, visit.pk)


@router.get("/visits", response={200: paged(VisitOut), **ERRORS}, operation_id="list_visits")
def list_visits(request: HttpRequest, filters: Query[VisitFilter], pg: Query[PageQuery]):
    f = filters.dict()
    f["status"] = f["status"] or ""
    return page(selectors.visits(request.user, **f), pg)


@router.get("/visits/{visit_id}", response={200: VisitOut, **ERRORS}, operation_id="get_visit")
def get_visit(request: HttpRequest, visit_id: Id):
    return selectors.visit(request.user, visit_id)
