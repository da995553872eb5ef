"""REST endpoints for rentals (/api/rentals/…): listings, tenancies and the police export of rental
registrations (出租房屋登记).

Thin: reads go through `linli.rentals.selectors`, writes through `linli.rentals.services`. Money is
integer fen; tenants' ID and phone numbers appear masked, except in the audited export.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Fen, Id, IsoDate, PageQuery, Payload, page, paged
from linli.people.identity import IdType
from linli.places import selectors as places
from linli.rentals import selectors, services
from linli.rentals.models import ListingStatus, TenancyPurpose, TenancyStatus

router = Router(tags=["rentals"])


# --- listings ------------------------------------------------------------------------------------

class ListingOut(Schema):
    id: int
    compound_id: int
    house_id: int
    house_address: str = Field(alias="house.standard_address")
    rent_fen: int
    deposit_fen: int
    available_from: dt.date
    description: str
    status: ListingStatus
    created_at: dt.datetime
    closed_at: dt.datetime | None


class ListingFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    status: ListingStatus | None = None


class ListingIn(Payload):
    house_id: Id
    rent_fen: Fen = Field(gt=0, description="per month, fen")
    deposit_fen: Fen = 0
    available_from: IsoDate
    description: str = Field("", max_length=2000)


@router.get("/listings", response={200: paged(ListingOut), **ERRORS}, operation_id="list_rental_listings")
def list_rental_listings(request: HttpRequest, filters: Query[ListingFilter], pg: Query[PageQuery]):
    return page(selectors.listings(request.user, **filters.dict()), pg)


@router.get("/listings/{listing_id}", response={200: ListingOut, **ERRORS}, operation_id="get_rental_listing")
def get_rental_listing(request: HttpRequest, listing_id: Id):
    return selectors.listing(request.user, listing_id)


@router.post("/listings", response={201: ListingOut, **ERRORS}, operation_id="create_rental_listing")
def create_rental_listing(request: HttpRequest, payload: ListingIn):
    fields = payload.dict()
    house = places.house(request.user, fields.pop("house_id"))
    listing = services.create_listing(actor=request.user, house=house, **fields)
    return Status(201, selectors.listing(request.user, listing.pk))


@router.post("/listings/{listing_id}/withdraw", response={200: ListingOut, **ERRORS},
             operation_id="withdraw_rental_listing")
def withdraw_rental_listing(request: HttpRequest, listing_id: Id):
    listing = services.withdraw_listing(actor=request.user, listing=selectors.listing(request.user, listing_id))
    return selectors.listing(request.user, listing.pk)


# --- tenancies -----------------------------------------------------------------------------------

class TenancyOut(Schema):
    id: int
    compound_id: int
    house_id: int
    house_address: str = Field(alias="house.standard_address")
    listing_id: int | None
    tenant_id: int
    tenant_name: str = Field(alias="tenant.name")
    tenant_id_type: IdType = Field(alias="tenant.id_type")
    tenant_id_number: str = Field(alias="tenant.id_masked", description="masked")
    tenant_phone: str = Field(alias="tenant.phone_masked", description="masked")
    landlord_id: int | None
    landlord_name: str
    lease_start: dt.date
    lease_end: dt.date
    rent_fen: int
    purpose: TenancyPurpose
    residency_id: int | None
    status: TenancyStatus
    ended_on: dt.date | None
    registered_by_id: int | None
    registered_at: dt.datetime

    @staticmethod
    def resolve_landlord_name(obj) -> str:
        return obj.landlord.name if obj.landlord else ""


class TenancyFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    status: TenancyStatus | None = None
    tenant_id: Id | None = None


class TenancyIn(Payload):
    house_id: Id
    tenant_name: str = Field(min_length=1, max_length=60)
    id_type: IdType = IdType.MAINLAND_ID
    id_number: str = Field(min_length=1, max_length=30)
    phone: str = Field("", max_length=20)
    lease_start: IsoDate
    lease_end: IsoDate
    rent_fen: Fen = Field(description="per month, fen")
    purpose: TenancyPurpose = TenancyPurpose.RESIDENTIAL
    listing_id: Id | None = None


class EndTenancyIn(Payload):
    on: IsoDate = Field(description="the tenant's last day")


@router.get("/tenancies", response={200: paged(TenancyOut), **ERRORS}, operation_id="list_tenancies")
def list_tenancies(request: HttpRequest, filters: Query[TenancyFilter], pg: Query[PageQuery]):
    return page(selectors.tenancies(request.user, **filters.dict()), pg)


@router.get("/tenancies/{tenancy_id}", response={200: TenancyOut, **ERRORS}, operation_id="get_tenancy")
def get_tenancy(request: HttpRequest, tenancy_id: Id):
    return selectors.tenancy(request.user, tenancy_id)


@router.post("/tenancies", response={201: TenancyOut, **ERRORS}, operation_id="register_tenancy")
def register_tenancy(request: HttpRequest, payload: TenancyIn):
    """The owner of the house or staff register a tenant; the tenant gets a tenant residency for the lease."""
    fields = payload.dict()
    house = places.house(request.user, fields.pop("house_id"))
    listing_id = fields.pop("listing_id")
    listing = selectors.listing(request.user, listing_id) if listing_id else None
    tenancy = services.register_tenancy(actor=request.user, house=house, listing=listing, **fields)
    return Status(201, selectors.tenancy(request.user, tenancy.pk))


@router.post("/tenancies/{tenancy_id}/end", response={200: TenancyOut, **ERRORS}, operation_id="end_tenancy")
def end_tenancy(request: HttpRequest, tenancy_id: Id, payload: EndTenancyIn):
    tenancy = services.end_tenancy(actor=request.user, tenancy=selectors.tenancy(request.user, tenancy_id),
                                   on=payload.on)
    return selectors.tenancy(request.user, tenancy.pk)


# --- the police export ---------------------------------------------------------------------------

class ExportQuery(Schema):
    compound_id: Id
    format: Literal["xlsx", "pdf"] = "xlsx"
    since: IsoDate | None = Field(None, description="leases ending on or after this day")
    until: IsoDate | None = Field(None, description="leases starting on or before this day")


_FILES = {200: {"description": "the registrations as .xlsx or PDF",
                  "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                              "application/pdf": {}}}}


@router.get("/registrations/export", response={**ERRORS}, operation_id="export_rental_registrations",
            openapi_extra={"responses": _FILES})
def export_rental_registrations(request: HttpRequest, query: Query[ExportQuery]):
    """出租房屋登记 for the police: full ID and phone numbers; each export is audited as a reveal of every
    tenant in it. Community and street officers, and property managers with the export permission."""
    export = services.export_rental_registrations(actor=request.user, compound_id=query.compound_id,
                                                  since=query.since, until=query.until, fmt=query.format)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = content_disposition_header(True, export.filename)
    return response
