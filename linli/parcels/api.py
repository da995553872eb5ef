"""REST endpoints for parcels (/api/parcels/…): the scoped list and detail, registration at the booth,
pickup and return to the courier.

The pickup code appears only in answers to the parcel's own household; staff get it empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, PageQuery, Payload, api_enum, page, paged
from linli.parcels import selectors, services
from linli.parcels.models import Parcel, PickupMethod, Source
from linli.parcels.models import Status as ParcelStatusChoices
from linli.places import selectors as places

ParcelStatus = api_enum("ParcelStatus", ParcelStatusChoices)

router = Router(tags=["parcels"])


class ParcelOut(Schema):
    id: int
    compound_id: int
    house_id: int
    house_address: str = Field(alias="house.standard_address")
    source: Source
    courier: str
    tracking_last4: str = Field(description="the last four characters of the tracking number; no more is kept")
    position: str
    pickup_code: str = Field("", alias="pickup_code_shown",
                             description="only for the parcel's own household; empty for staff")
    status: ParcelStatus
    note: str
    registered_at: dt.datetime
    picked_up_at: dt.datetime | None
    picked_up_by_id: int | None
    pickup_method: PickupMethod | None = None
    returned_at: dt.datetime | None
    return_reason: str
    locked_until: dt.datetime | None
    reminders_sent: int
    last_reminded_at: dt.datetime | None

    @staticmethod
    def resolve_pickup_method(obj) -> str | None:
        return obj.pickup_method or None


class ParcelFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    status: ParcelStatus | None = None
    tracking_no: str = Field("", max_length=40, description="the full tracking number, matched by digest")


class RegisterIn(Payload):
    house_id: Id
    courier: str = Field("", max_length=40)
    tracking_no: str = Field("", max_length=40)
    position: str = Field("", max_length=40, description="shelf or locker box, e.g. A-03")
    source: Source = Source.BOOTH
    note: str = Field("", max_length=200)


class PickupIn(Payload):
    pickup_code: str | None = Field(None, max_length=12,
                                    description="staff must give the household's code; a resident of the house need not")


class ParcelReturnIn(Payload):
    reason: str = Field(min_length=1, max_length=200)


def _shown(request: HttpRequest, items: Iterable[Parcel]) -> list[Parcel]:
    readable = selectors.code_readable_houses(request.user)
    out = list(items)
    for item in out:
        item.pickup_code_shown = selectors.pickup_code_for(request.user, item, readable)
    return out


def _one(request: HttpRequest, item: Parcel) -> Parcel:
    return _shown(request, [selectors.parcel(request.user, item.pk)])[0]


@router.get("", response={200: paged(ParcelOut), **ERRORS}, operation_id="list_parcels")
def list_parcels(request: HttpRequest, filters: Query[ParcelFilter], pg: Query[PageQuery]):
    """Staff see their compounds' parcels; a resident their households' parcels, with the codes."""
    f = filters.dict()
    f["status"] = f["status"] or ""
    result = page(selectors.parcels(request.user, **f), pg)
    result["items"] = _shown(request, result["items"])
    return result


@router.get("/{parcel_id}", response={200: ParcelOut, **ERRORS}, operation_id="get_parcel")
def get_parcel(request: HttpRequest, parcel_id: Id):
    return _shown(request, [selectors.parcel(request.user, parcel_id)])[0]


@router.post("", response={201: ParcelOut, **ERRORS}, operation_id="register_parcel")
def register_parcel(request: HttpRequest, payload: RegisterIn):
    """A guard or the service desk registers a parcel; the household is notified (without the code)."""
    house = places.house(request.user, payload.house_id)
    fields = payload.dict()
    fields.pop("house_id")
    return Status(201, _one(request, services.register_parcel(actor=request.user, house=house, **fields)))


@router.post("/{parcel_id}/pickup", response={200: ParcelOut, **ERRORS}, operation_id="pick_up_parcel")
def pick_up_parcel(request: HttpRequest, parcel_id: Id, payload: PickupIn):
    """Staff hand over a parcel when told its code (wrong codes lock it for a while); a resident of
    the house confirms their own pickup without one. A second pickup answers 409."""
    parcel = services.confirm_pickup(actor=request.user, parcel=selectors.parcel(request.user, parcel_id),
                                     pickup_code=payload.pickup_code)
    return _one(request, parcel)


@router.post("/{parcel_id}/return", response={200: ParcelOut, **ERRORS}, operation_id="return_parcel")
def return_parcel(request: HttpRequest, parcel_id: Id, payload: ParcelReturnIn):
    parcel = services.return_to_courier(actor=request.user, parcel=selectors.parcel(request.user, parcel_id),
                                        reason=payload.reason)
    return _one(request, parcel)
