"""Authentication endpoints: tokens for apps (staff password, resident phone + code) and `me`."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.accounts import selectors, services
from linli.accounts.roles import Role
from linli.core.api import ERRORS, Id, PageQuery, Payload, page, paged, patch_field
from linli.core.codes import TypedCode

router = Router(tags=["auth"])


class PasswordLogin(Payload):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=200)
    token_name: str = Field("app", max_length=60)


class CodeRequest(Payload):
    phone: str = Field(min_length=11, max_length=20)


class CodeLogin(Payload):
    phone: str = Field(min_length=11, max_length=20)
    code: TypedCode = Field(pattern=r"^[0-9]{6}$")
    token_name: str = Field("resident-app", max_length=60)


class TokenOut(Schema):
    token: str
    expires_at: str | None


class Accepted(Schema):
    detail: str


class GrantOut(Schema):
    role: str
    node: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    kind: str
    person_id: int | None
    roles: list[str]
    grants: list[GrantOut]


def _token(user, name: str) -> dict:
    token, raw = services.issue_token(user=user, name=name)
    return {"token": raw, "expires_at": token.expires_at.isoformat() if token.expires_at else None}


@router.post("/token", auth=None, response={200: TokenOut, **ERRORS}, operation_id="create_token")
def create_token(request: HttpRequest, payload: PasswordLogin):
    """Staff: exchange username and password for a bearer token (shown once)."""
    user = services.password_login(request, username=payload.username, password=payload.password)
    return _token(user, payload.token_name)


@router.post("/code", auth=None, response={202: Accepted, **ERRORS}, operation_id="request_login_code")
def request_login_code(request: HttpRequest, payload: CodeRequest):
    """Residents: send a one-time code to the phone (the answer never says whether it is known)."""
    services.request_login_code(phone=payload.phone, client_ip=request.META.get("REMOTE_ADDR", ""))
    return Status(202, {"detail": "if the number is registered, a code has been sent"})


@router.post("/code/token", auth=None, response={200: TokenOut, **ERRORS}, operation_id="create_token_with_code")
def create_token_with_code(request: HttpRequest, payload: CodeLogin):
    user = services.verify_login_code(phone=payload.phone, code=payload.code)
    return _token(user, payload.token_name)


@router.get("/me", response={200: MeOut, **ERRORS}, operation_id="get_me")
def me(request: HttpRequest):
    user = request.user
    grants = [{"role": g.role, "node": str(g.region or g.grid or g.compound or g.organisation)}
              for g in user.grants.select_related("region", "grid", "compound", "organisation")]
    return {"id": user.pk, "username": user.username, "display_name": user.display_name, "kind": user.kind,
            "person_id": user.person_id, "roles": sorted(user.scope().roles), "grants": grants}


staff_router = Router(tags=["accounts"])


class StaffGrantOut(Schema):
    id: int
    role: str
    region_id: int | None
    grid_id: int | None
    compound_id: int | None
    organisation_id: int | None
    node: str

    @staticmethod
    def resolve_node(obj) -> str:
        return str(obj.region or obj.grid or obj.compound or obj.organisation)


class StaffOut(Schema):
    id: int
    username: str
    display_name: str
    is_active: bool
    last_login: dt.datetime | None
    grants: list[StaffGrantOut]

    @staticmethod
    def resolve_grants(obj) -> list:
        return list(obj.grants.all())


class GrantIn(Payload):
    role: Role
    region_id: Id | None = None
    grid_id: Id | None = None
    compound_id: Id | None = None
    organisation_id: Id | None = None


class StaffIn(GrantIn):
    username: str = Field(min_length=3, max_length=150, pattern=r"^[\w.@+-]+$")
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field("", max_length=60)


class StaffPatch(Payload):
    display_name: str = patch_field(max_length=60)
    is_active: bool = patch_field()


def _grant_node(request: HttpRequest, payload: GrantIn) -> dict:
    from linli.people import selectors as people
    from linli.places import selectors as places

    node = {}
    if payload.region_id:
        node["region"] = places.region(request.user, payload.region_id)
    if payload.grid_id:
        node["grid"] = places.grid(request.user, payload.grid_id)
    if payload.compound_id:
        node["compound"] = places.compound(request.user, payload.compound_id)
    if payload.organisation_id:
        node["organisation"] = people.organisation(request.user, payload.organisation_id)
    return node


@staff_router.get("/staff", response={200: paged(StaffOut), **ERRORS}, operation_id="list_staff")
def list_staff(request: HttpRequest, pg: Query[PageQuery], role: Role | None = None, q: str = "",
               active: bool | None = None):
    return page(selectors.staff(request.user, role=role or "", q=q, active=active), pg)


@staff_router.get("/staff/{user_id}", response={200: StaffOut, **ERRORS}, operation_id="get_staff")
def get_staff(request: HttpRequest, user_id: Id):
    return selectors.staff_member(request.user, user_id)


@staff_router.post("/staff", response={201: StaffOut, **ERRORS}, operation_id="create_staff")
def create_staff(request: HttpRequest, payload: StaffIn):
    user = services.create_staff(actor=request.user, username=payload.username, password=payload.password,
                                 display_name=payload.display_name, role=payload.role,
                                 **_grant_node(request, payload))
    return Status(201, selectors.staff_member(request.user, user.pk))


@staff_router.patch("/staff/{user_id}", response={200: StaffOut, **ERRORS}, operation_id="update_staff")
def update_staff(request: HttpRequest, user_id: Id, payload: StaffPatch):
    user = selectors.staff_member(request.user, user_id)
    services.update_staff(actor=request.user, user=user, **payload.dict(exclude_unset=True))
    return selectors.staff_member(request.user, user_id)


@staff_router.post("/staff/{user_id}/grants", response={201: StaffGrantOut, **ERRORS}, operation_id="grant_role")
def grant_role(request: HttpRequest, user_id: Id, payload: GrantIn):
    user = selectors.staff_member(request.user, user_id)
    grant = services.grant_role(actor=request.user, user=user, role=payload.role, **_grant_node(request, payload))
    return Status(201, grant)


@staff_router.delete("/grants/{grant_id}", response={204: None, **ERRORS}, operation_id="revoke_grant")
def revoke_grant(request: HttpRequest, grant_id: Id):
    services.revoke_grant(actor=request.user, grant=selectors.grant(request.user, grant_id))
    return Status(204, None)
