"""Authentication endpoints: tokens for apps (staff password, resident phone + code) and `me`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from linli.accounts import services
from linli.core.api import ERRORS

router = Router(tags=["auth"])


class PasswordLogin(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=200)
    token_name: str = Field("app", max_length=60)


class CodeRequest(Schema):
    phone: str = Field(min_length=11, max_length=20)


class CodeLogin(Schema):
    phone: str = Field(min_length=11, max_length=20)
    code: str = Field(pattern=r"^\d{6}$")
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
    services.request_login_code(phone=payload.phone)
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
