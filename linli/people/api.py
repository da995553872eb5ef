"""REST endpoints for people, residencies, organisations, real units, vehicles and consents.

Responses carry ID and phone numbers masked; the clear values come only from the audited
`reveal` and the person's own `export`.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, IsoDate, PageQuery, Payload, page, paged, patch_field
from linli.people import selectors, services
from linli.people.identity import IdType
from linli.people.models import (
    CareTag,
    ConsentPurpose,
    Gender,
    OrganisationKind,
    PopulationType,
    ResidencyRole,
)
from linli.people.plates import PlateColour
from linli.places import selectors as places

router = Router(tags=["people"])


class PersonOut(Schema):
    id: int
    compound_id: int
    name: str
    gender: Gender
    birth_date: dt.date | None
    id_type: IdType
    id_number: str = Field(alias="id_masked", description="masked, e.g. 3702**********1234")
    phone: str = Field(alias="phone_masked", description="masked, e.g. 138****5678")
    population_type: PopulationType
    care_tags: list[str]
    ethnicity: str
    note: str


class PersonIn(Payload):
    compound_id: Id
    name: str = Field(min_length=1, max_length=60)
    id_type: IdType = IdType.MAINLAND_ID
    id_number: str = Field(min_length=5, max_length=24)
    phone: str = Field("", max_length=20)
    gender: Gender | None = None
    birth_date: IsoDate | None = None
    population_type: PopulationType = PopulationType.REGISTERED
    care_tags: list[CareTag] = []
    ethnicity: str = Field("", max_length=20)
    note: str = Field("", max_length=200)


class PersonPatch(Payload):
    name: str = patch_field(min_length=1, max_length=60)
    id_type: IdType = patch_field()
    id_number: str = patch_field(min_length=5, max_length=24)
    phone: str = patch_field(max_length=20)
    gender: Gender = patch_field()
    birth_date: IsoDate | None = None
    population_type: PopulationType = patch_field()
    care_tags: list[CareTag] = patch_field()
    ethnicity: str = patch_field(max_length=20)
    note: str = patch_field(max_length=200)


class PersonFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    q: str = Field("", description="name contains")
    id_number: str = Field("", description="exact ID number (matched by keyed hash)")
    phone: str = Field("", description="exact phone number (matched by keyed hash)")
    care_tag: CareTag | None = None
    population_type: PopulationType | None = None


class Revealed(Schema):
    id_number: str
    phone: str


class ErasureIn(Payload):
    reason: str = Field(min_length=1, max_length=200)


@router.get("/persons", response={200: paged(PersonOut), **ERRORS}, operation_id="list_persons")
def list_persons(request: HttpRequest, filters: Query[PersonFilter], pg: Query[PageQuery]):
    f = filters.dict()
    f["care_tag"] = f["care_tag"] or ""
    f["population_type"] = f["population_type"] or ""
    return page(selectors.persons(request.user, **f), pg)


@router.get("/persons/{person_id}", response={200: PersonOut, **ERRORS}, operation_id="get_person")
def get_person(request: HttpRequest, person_id: Id):
    return selectors.person(request.user, person_id)


@router.post("/persons", response={201: PersonOut, **ERRORS}, operation_id="create_person")
def create_person(request: HttpRequest, payload: PersonIn):
    data = payload.dict()
    compound = places.compound(request.user, data.pop("compound_id"))
    return Status(201, services.create_person(actor=request.user, compound=compound, **data))


@router.patch("/persons/{person_id}", response={200: PersonOut, **ERRORS}, operation_id="update_person")
def update_person(request: HttpRequest, person_id: Id, payload: PersonPatch):
    person = selectors.person(request.user, person_id)
    return services.update_person(actor=request.user, person=person, **payload.dict(exclude_unset=True))


@router.post("/persons/{person_id}/reveal", response={200: Revealed, **ERRORS}, operation_id="reveal_person")
def reveal_person(request: HttpRequest, person_id: Id):
    """Clear ID and phone numbers; needs the reveal permission and is written to the audit log."""
    return services.reveal_person(actor=request.user, person=selectors.person(request.user, person_id))


@router.get("/persons/{person_id}/export", response={200: dict, **ERRORS}, operation_id="export_person_data")
def export_person_data(request: HttpRequest, person_id: Id):
    """Everything held about the person (PIPL Art. 45), for themselves or staff who may reveal."""
    return services.export_person_data(actor=request.user, person=selectors.person(request.user, person_id))


@router.post("/persons/{person_id}/erase", response={204: None, **ERRORS}, operation_id="erase_person")
def erase_person(request: HttpRequest, person_id: Id, payload: ErasureIn):
    """Delete a person's record on request (PIPL Art. 47)."""
    person = selectors.person(request.user, person_id)
    services.erase_person(actor=request.user, person=person, reason=payload.reason)
    return Status(204, None)


class ResidentAccountOut(Schema):
    id: int
    username: str
    person_id: int


@router.post("/persons/{person_id}/account", response={201: ResidentAccountOut, **ERRORS},
             operation_id="create_resident_account")
def create_resident_account(request: HttpRequest, person_id: Id):
    """Let the person log in to the resident portal with their phone number and a one-time code."""
    from linli.accounts.services import create_resident_account as create

    return Status(201, create(actor=request.user, person=selectors.person(request.user, person_id)))


class ResidencyOut(Schema):
    id: int
    compound_id: int
    person_id: int
    person_name: str = Field(alias="person.name")
    house_id: int
    house_address: str = Field(alias="house.standard_address")
    role: ResidencyRole
    since: dt.date
    until: dt.date | None
    verified_by_id: int | None
    verified_at: dt.datetime | None


class ResidencyIn(Payload):
    person_id: Id
    house_id: Id
    role: ResidencyRole
    since: IsoDate
    until: IsoDate | None = None


class ResidencyPatch(Payload):
    role: ResidencyRole = patch_field()
    until: IsoDate | None = None


class ResidencyFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    person_id: Id | None = None
    current: bool | None = None


@router.get("/residencies", response={200: paged(ResidencyOut), **ERRORS}, operation_id="list_residencies")
def list_residencies(request: HttpRequest, filters: Query[ResidencyFilter], pg: Query[PageQuery]):
    return page(selectors.residencies(request.user, **filters.dict()), pg)


@router.get("/residencies/{residency_id}", response={200: ResidencyOut, **ERRORS}, operation_id="get_residency")
def get_residency(request: HttpRequest, residency_id: Id):
    return selectors.residency(request.user, residency_id)


@router.post("/residencies", response={201: ResidencyOut, **ERRORS}, operation_id="create_residency")
def create_residency(request: HttpRequest, payload: ResidencyIn):
    person = selectors.person(request.user, payload.person_id)
    house = places.house(request.user, payload.house_id)
    residency = services.add_residency(actor=request.user, person=person, house=house, role=payload.role,
                                       since=payload.since, until=payload.until)
    return Status(201, residency)


@router.patch("/residencies/{residency_id}", response={200: ResidencyOut, **ERRORS},
              operation_id="update_residency")
def update_residency(request: HttpRequest, residency_id: Id, payload: ResidencyPatch):
    residency = selectors.residency(request.user, residency_id)
    changes = payload.dict(exclude_unset=True)
    if changes.get("until") is not None:
        residency = services.end_residency(actor=request.user, residency=residency, until=changes.pop("until"))
    if changes:
        residency = services.update_residency(actor=request.user, residency=residency, **changes)
    return residency


@router.post("/residencies/{residency_id}/verify", response={200: ResidencyOut, **ERRORS},
             operation_id="verify_residency")
def verify_residency(request: HttpRequest, residency_id: Id):
    residency = selectors.residency(request.user, residency_id)
    return services.verify_residency(actor=request.user, residency=residency)


@router.delete("/residencies/{residency_id}", response={204: None, **ERRORS}, operation_id="delete_residency")
def delete_residency(request: HttpRequest, residency_id: Id):
    services.delete_residency(actor=request.user, residency=selectors.residency(request.user, residency_id))
    return Status(204, None)


class OrganisationOut(Schema):
    id: int
    kind: OrganisationKind
    name: str
    credit_code: str
    region_id: int | None
    compound_id: int | None
    contact_name: str
    contact_phone: str = Field(alias="contact_phone_masked")


class OrganisationIn(Payload):
    kind: OrganisationKind
    name: str = Field(min_length=1, max_length=100)
    credit_code: str = Field("", max_length=18)
    region_id: Id | None = None
    compound_id: Id | None = None
    contact_name: str = Field("", max_length=60)
    contact_phone: str = Field("", max_length=20)


class OrganisationPatch(Payload):
    name: str = patch_field(min_length=1, max_length=100)
    credit_code: str = patch_field(max_length=18)
    contact_name: str = patch_field(max_length=60)
    contact_phone: str = patch_field(max_length=20)


@router.get("/organisations", response={200: paged(OrganisationOut), **ERRORS}, operation_id="list_organisations")
def list_organisations(request: HttpRequest, pg: Query[PageQuery], kind: OrganisationKind | None = None,
                       q: str = ""):
    return page(selectors.organisations(request.user, kind=kind or "", q=q), pg)


@router.get("/organisations/{organisation_id}", response={200: OrganisationOut, **ERRORS},
            operation_id="get_organisation")
def get_organisation(request: HttpRequest, organisation_id: Id):
    return selectors.organisation(request.user, organisation_id)


@router.post("/organisations", response={201: OrganisationOut, **ERRORS}, operation_id="create_organisation")
def create_organisation(request: HttpRequest, payload: OrganisationIn):
    data = payload.dict()
    region_id, compound_id = data.pop("region_id"), data.pop("compound_id")
    data["region"] = places.region(request.user, region_id) if region_id else None
    data["compound"] = places.compound(request.user, compound_id) if compound_id else None
    return Status(201, services.create_organisation(actor=request.user, **data))


@router.patch("/organisations/{organisation_id}", response={200: OrganisationOut, **ERRORS},
              operation_id="update_organisation")
def update_organisation(request: HttpRequest, organisation_id: Id, payload: OrganisationPatch):
    org = selectors.organisation(request.user, organisation_id)
    return services.update_organisation(actor=request.user, organisation=org, **payload.dict(exclude_unset=True))


class RealUnitOut(Schema):
    id: int
    compound_id: int
    house_id: int | None
    name: str
    credit_code: str
    business_scope: str
    legal_person: str
    employees: int


class RealUnitIn(Payload):
    compound_id: Id
    house_id: Id | None = None
    name: str = Field(min_length=1, max_length=100)
    credit_code: str = Field(min_length=18, max_length=18)
    business_scope: str = Field("", max_length=200)
    legal_person: str = Field("", max_length=60)
    employees: int = Field(0, ge=0, le=1_000_000)


class RealUnitPatch(Payload):
    name: str = patch_field(min_length=1, max_length=100)
    credit_code: str = patch_field(min_length=18, max_length=18)
    business_scope: str = patch_field(max_length=200)
    legal_person: str = patch_field(max_length=60)
    employees: int = patch_field(ge=0, le=1_000_000)


@router.get("/real-units", response={200: paged(RealUnitOut), **ERRORS}, operation_id="list_real_units")
def list_real_units(request: HttpRequest, pg: Query[PageQuery], compound_id: Id | None = None, q: str = ""):
    return page(selectors.real_units(request.user, compound_id=compound_id, q=q), pg)


@router.get("/real-units/{real_unit_id}", response={200: RealUnitOut, **ERRORS}, operation_id="get_real_unit")
def get_real_unit(request: HttpRequest, real_unit_id: Id):
    return selectors.real_unit(request.user, real_unit_id)


@router.post("/real-units", response={201: RealUnitOut, **ERRORS}, operation_id="create_real_unit")
def create_real_unit(request: HttpRequest, payload: RealUnitIn):
    data = payload.dict()
    compound = places.compound(request.user, data.pop("compound_id"))
    house_id = data.pop("house_id")
    data["house"] = places.house(request.user, house_id) if house_id else None
    return Status(201, services.create_real_unit(actor=request.user, compound=compound, **data))


@router.patch("/real-units/{real_unit_id}", response={200: RealUnitOut, **ERRORS}, operation_id="update_real_unit")
def update_real_unit(request: HttpRequest, real_unit_id: Id, payload: RealUnitPatch):
    unit = selectors.real_unit(request.user, real_unit_id)
    return services.update_real_unit(actor=request.user, real_unit=unit, **payload.dict(exclude_unset=True))


class VehicleOut(Schema):
    id: int
    compound_id: int
    plate: str
    colour: PlateColour
    owner_id: int | None
    house_id: int | None
    brand: str
    active: bool


class VehicleIn(Payload):
    compound_id: Id
    plate: str = Field(min_length=7, max_length=12)
    colour: PlateColour | None = Field(None, description="default: green for new-energy plates, else blue")
    owner_id: Id | None = None
    house_id: Id | None = None
    brand: str = Field("", max_length=40)


class VehiclePatch(Payload):
    plate: str = patch_field(min_length=7, max_length=12)
    colour: PlateColour | None = None
    owner_id: Id | None = None
    house_id: Id | None = None
    brand: str = patch_field(max_length=40)
    active: bool = patch_field()


class VehicleFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    owner_id: Id | None = None
    plate: str = ""


@router.get("/vehicles", response={200: paged(VehicleOut), **ERRORS}, operation_id="list_vehicles")
def list_vehicles(request: HttpRequest, filters: Query[VehicleFilter], pg: Query[PageQuery]):
    return page(selectors.vehicles(request.user, **filters.dict()), pg)


@router.get("/vehicles/{vehicle_id}", response={200: VehicleOut, **ERRORS}, operation_id="get_vehicle")
def get_vehicle(request: HttpRequest, vehicle_id: Id):
    return selectors.vehicle(request.user, vehicle_id)


@router.post("/vehicles", response={201: VehicleOut, **ERRORS}, operation_id="create_vehicle")
def create_vehicle(request: HttpRequest, payload: VehicleIn):
    data = payload.dict()
    compound = places.compound(request.user, data.pop("compound_id"))
    owner_id, house_id = data.pop("owner_id"), data.pop("house_id")
    data["owner"] = selectors.person(request.user, owner_id) if owner_id else None
    data["house"] = places.house(request.user, house_id) if house_id else None
    return Status(201, services.register_vehicle(actor=request.user, compound=compound, **data))


@router.patch("/vehicles/{vehicle_id}", response={200: VehicleOut, **ERRORS}, operation_id="update_vehicle")
def update_vehicle(request: HttpRequest, vehicle_id: Id, payload: VehiclePatch):
    vehicle = selectors.vehicle(request.user, vehicle_id)
    changes = payload.dict(exclude_unset=True)
    if "owner_id" in changes:
        owner_id = changes.pop("owner_id")
        changes["owner"] = selectors.person(request.user, owner_id) if owner_id else None
    if "house_id" in changes:
        house_id = changes.pop("house_id")
        changes["house"] = places.house(request.user, house_id) if house_id else None
    return services.update_vehicle(actor=request.user, vehicle=vehicle, **changes)


@router.delete("/vehicles/{vehicle_id}", response={204: None, **ERRORS}, operation_id="delete_vehicle")
def delete_vehicle(request: HttpRequest, vehicle_id: Id):
    services.delete_vehicle(actor=request.user, vehicle=selectors.vehicle(request.user, vehicle_id))
    return Status(204, None)


class ConsentOut(Schema):
    id: int
    person_id: int
    purpose: ConsentPurpose
    scope: str
    granted_at: dt.datetime
    granted_by_guardian: str
    withdrawn_at: dt.datetime | None


class ConsentIn(Payload):
    person_id: Id
    purpose: ConsentPurpose
    scope: str = Field(min_length=1, max_length=200)
    granted_by_guardian: str = Field("", max_length=60)


@router.get("/consents", response={200: paged(ConsentOut), **ERRORS}, operation_id="list_consents")
def list_consents(request: HttpRequest, pg: Query[PageQuery], person_id: Id | None = None,
                  active: bool | None = None):
    return page(selectors.consents(request.user, person_id=person_id, active=active), pg)


@router.get("/consents/{consent_id}", response={200: ConsentOut, **ERRORS}, operation_id="get_consent")
def get_consent(request: HttpRequest, consent_id: Id):
    return selectors.consent(request.user, consent_id)


@router.post("/consents", response={201: ConsentOut, **ERRORS}, operation_id="create_consent")
def create_consent(request: HttpRequest, payload: ConsentIn):
    person = selectors.person(request.user, payload.person_id)
    consent = services.record_consent(actor=request.user, person=person, purpose=payload.purpose,
                                      scope=payload.scope, guardian=payload.granted_by_guardian)
    return Status(201, consent)


@router.post("/consents/{consent_id}/withdraw", response={200: ConsentOut, **ERRORS},
             operation_id="withdraw_consent")
def withdraw_consent(request: HttpRequest, consent_id: Id):
    return services.withdraw_consent(actor=request.user, consent=selectors.consent(request.user, consent_id))
