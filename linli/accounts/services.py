"""Accounts: staff creation, role grants, API tokens, logins (password with lockout; phone + code)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import AccountKind, ApiToken, OneTimeCode, RoleGrant, User, token_digest
from linli.accounts.roles import GRANTABLE_BY, GRANTED_ON, REGION_LEVEL_OF_ROLE
from linli.core import audit, ratelimit
from linli.core.codes import clean_code, normalise_code
from linli.core.errors import Conflict, Forbidden
from linli.core.services import delete_audited, field_error, require, save_changes, save_new, service
from linli.notify.providers import SmsMessage, sms_provider
from linli.people.identity import validate_mobile
from linli.people.models import Person

log = logging.getLogger("linli.accounts")

CODE_PATTERN = r"[0-9]{6}"  # a one-time code as sent by SMS
CODE_GAP_SECONDS = 60  # at least this long between two codes to one phone


@service
def create_superuser(*, username: str, password: str) -> User:
    user = User(username=username, is_superuser=True, is_staff=True, kind=AccountKind.STAFF)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit.record_created([user])
    return user


def _node_within(grant: Any, node_kind: str, node: Any) -> bool:
    """Is `node` inside what `grant` reaches?"""
    from linli.places.models import Compound

    if node_kind == "region":
        return bool(grant.region_path) and node.path.startswith(grant.region_path)
    if node_kind == "grid":
        return bool(grant.region_path) and node.region_path.startswith(grant.region_path)
    if node_kind == "compound":
        return grant.compounds is not None and Compound.objects.filter(pk=node.pk, id__in=grant.compounds).exists()
    if grant.organisation_id and node.pk == grant.organisation_id:
        return True
    return bool(grant.region_path) and node.region_path.startswith(grant.region_path)


def _require_can_grant(actor: Any, role: str, node_kind: str, node: Any) -> None:
    scope = actor.scope()
    if scope.unrestricted:
        return
    for grant in scope.grants_for("accounts.add_rolegrant"):
        if role in GRANTABLE_BY.get(grant.role, ()) and _node_within(grant, node_kind, node):
            return
    raise Forbidden(_("无权在此范围授予该角色"))


def _node(region=None, grid=None, compound=None, organisation=None) -> tuple[str, Any]:
    given = [(k, v) for k, v in (("region", region), ("grid", grid), ("compound", compound),
                                 ("organisation", organisation)) if v is not None]
    if len(given) != 1:
        raise field_error("node", _("请指定且只指定一个授权节点（区划、网格、小区或组织）"))
    return given[0]


@service
def grant_role(*, actor: Any, user: User, role: str, region=None, grid=None, compound=None,
               organisation=None) -> RoleGrant:
    """Grant `role` on one node. `actor=None` is the bootstrap path (commands, demo, tests)."""
    if role not in GRANTED_ON:
        raise field_error("role", _("未知角色"))
    node_kind, node = _node(region, grid, compound, organisation)
    if node_kind not in GRANTED_ON[role]:
        raise field_error("role", _("该角色不能授予在这一层级"))
    level = REGION_LEVEL_OF_ROLE.get(role)
    if region is not None and level and region.level != level:
        raise field_error("region", _("角色与区划层级不匹配"))
    if user.kind != AccountKind.STAFF:
        raise field_error("user", _("只能给工作人员账号授权"))
    if actor is not None:
        _require_can_grant(actor, role, node_kind, node)
    if RoleGrant.objects.filter(user=user, role=role, **{node_kind: node}).exists():
        raise Conflict(_("该账号已有此授权"), field="role")
    grant = RoleGrant(user=user, role=role, **{node_kind: node})
    return save_new(grant)


@service
def revoke_grant(*, actor: Any, grant: RoleGrant) -> None:
    node_kind, node = _node(grant.region, grant.grid, grant.compound, grant.organisation)
    _require_can_grant(actor, grant.role, node_kind, node)
    delete_audited(grant)


@service
def create_staff(*, actor: Any, username: str, password: str, display_name: str = "", role: str | None = None,
                 region=None, grid=None, compound=None, organisation=None) -> User:
    """A staff account with its first role: every account lives somewhere in the place tree."""
    if role is None and actor is not None and not actor.scope().unrestricted:
        raise field_error("role", _("请为新账号指定角色"))
    if User.objects.filter(username=username).exists():
        raise Conflict(_("用户名已存在"), field="username")
    user = User(username=username, display_name=display_name, kind=AccountKind.STAFF)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    save_new(user, exclude=["password"])
    if role is not None:
        grant_role(actor=actor, user=user, role=role, region=region, grid=grid, compound=compound,
                   organisation=organisation)
    return user


@service
def update_staff(*, actor: Any, user: User, **changes: Any) -> User:
    require(actor, user, "change")
    if user.pk == actor.pk and changes.get("is_active") is False:
        raise field_error("is_active", _("不能停用自己的账号"))
    return save_changes(user, changes, exclude=["password"])


@service
def issue_token(*, user: User, name: str, days: int | None = 365) -> tuple[ApiToken, str]:
    raw = ApiToken.new_raw()
    expires = timezone.now() + dt.timedelta(days=days) if days else None
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[3:9], digest=token_digest(raw),
                                    expires_at=expires)
    audit.record_created([token])
    return token, raw


def user_for_token(raw: str) -> User | None:
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw), revoked=False).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at and token.expires_at < now:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def password_login(request: Any, *, username: str, password: str) -> User:
    """Authenticate staff, locking the account after repeated failures."""
    ip = getattr(request, "META", {}).get("REMOTE_ADDR", "")
    if not ratelimit.allow(f"login-ip:{ip}", limit=settings.LOGIN_PER_IP_PER_MINUTE, window_s=60):
        raise Forbidden(_("登录尝试过于频繁，请稍后再试"))
    user = User.objects.filter(username=username).first()
    now = timezone.now()
    if user is not None and user.locked_until and user.locked_until > now:
        raise Forbidden(_("登录失败次数过多，账号已暂时锁定"))
    authenticated = authenticate(request, username=username, password=password)
    if authenticated is None:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= settings.LOGIN_FAILURE_LIMIT:
                user.locked_until = now + dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
                user.failed_logins = 0
            user.save(update_fields=["failed_logins", "locked_until"])
        raise Forbidden(_("用户名或密码错误"))
    if authenticated.failed_logins:
        authenticated.failed_logins = 0
        authenticated.save(update_fields=["failed_logins"])
    return authenticated


def _code_digest(phone_digest: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone_digest}:{code}".encode(), hashlib.sha256).hexdigest()


def _typed_phone(phone: str) -> str:
    """A mobile number as typed (full-width digits, spaces), checked; a ValidationError naming `phone`."""
    try:
        return validate_mobile(normalise_code(phone))
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc


def _typed_code(code: str) -> str:
    return clean_code(code, field="code", pattern=CODE_PATTERN, message=_("验证码应为6位数字"))


def _throttle_code_requests(*, phone_digest: str, code_key: str, client_ip: str) -> None:
    """Limits on sending codes, by client address and by phone, the same whether or not the phone is
    registered: a limit that only a registered phone can reach would tell who lives here. The gap
    between two codes is read from the codes stored under `code_key`, which every phone gets."""
    refused = Forbidden(_("验证码发送过于频繁，请稍后再试"))
    if client_ip and not ratelimit.allow(f"otp-ip:{client_ip}", limit=settings.LOGIN_PER_IP_PER_MINUTE,
                                         window_s=60):
        raise refused
    if not ratelimit.allow(f"otp:{phone_digest}", limit=settings.OTP_PER_HOUR, window_s=3600):
        raise refused
    since = timezone.now() - dt.timedelta(seconds=CODE_GAP_SECONDS)
    if OneTimeCode.objects.filter(phone_digest=code_key, created_at__gt=since).exists():
        raise refused


def request_login_code(*, phone: str, client_ip: str = "") -> None:
    """Send a 6-digit code to a resident's phone. Says nothing about whether the phone is known: the
    limits are the same, and an unknown phone gets a code too, stored but never sent, so a wrong code
    is later refused alike."""
    phone = _typed_phone(phone)
    digest = Person.phone_digest_of(phone)
    _throttle_code_requests(phone_digest=digest, code_key=digest, client_ip=client_ip)
    registered = User.objects.filter(kind=AccountKind.RESIDENT, is_active=True, person__phone_digest=digest).exists()
    code = f"{secrets.randbelow(10**6):06d}"
    OneTimeCode.objects.create(phone_digest=digest, code_digest=_code_digest(digest, code),
                               expires_at=timezone.now() + dt.timedelta(seconds=settings.OTP_TTL_SECONDS))
    if registered:
        sms_provider().send(SmsMessage(phone=phone, template="login_code", params={"code": code}))


def verify_login_code(*, phone: str, code: str) -> User:
    """The resident whose phone received `code`. A wrong code counts against the code (five and it
    is spent) — committed even though the log-in is refused, so guessing cannot go on for free. A
    code that can never be one (not six digits once normalised) is refused naming `code`, costing nothing."""
    phone, code = _typed_phone(phone), _typed_code(code)
    digest = Person.phone_digest_of(phone)
    now = timezone.now()
    with transaction.atomic():
        otp = (OneTimeCode.objects.select_for_update()
               .filter(phone_digest=digest, used_at__isnull=True, expires_at__gt=now).first())
        if otp is None or otp.attempts >= 5:
            raise Forbidden(_("验证码无效或已过期"))
        right = hmac.compare_digest(otp.code_digest, _code_digest(digest, code))
        if right:
            otp.used_at = now
            otp.save(update_fields=["used_at"])
        else:
            otp.attempts += 1
            otp.save(update_fields=["attempts"])
    if not right:
        raise Forbidden(_("验证码错误"))
    user = User.objects.filter(kind=AccountKind.RESIDENT, is_active=True, person__phone_digest=digest).first()
    if user is None:
        raise Forbidden(_("验证码无效或已过期"))
    return user


@service
def create_resident_account(*, actor: Any, person: Person) -> User:
    if actor is not None:
        require(actor, person, "change")
    if User.objects.filter(person=person).exists():
        raise Conflict(_("此人已有居民账号"))
    if not person.phone_digest:
        raise field_error("phone", _("居民账号需要手机号码用于验证码登录"))
    user = User(username=f"resident-{person.pk}", kind=AccountKind.RESIDENT, person=person,
                display_name=person.name)
    user.set_unusable_password()
    return save_new(user, exclude=["password"])


# Sign-up codes: someone not yet registered proves a phone before applying to bind a house (the
# portal's BindingRequest). Kept apart from login codes by their own key, so one never passes for the other.

def _signup_key(phone_digest: str) -> str:
    return hashlib.sha256(f"signup:{phone_digest}".encode()).hexdigest()


def request_signup_code(*, phone: str, client_ip: str = "") -> None:
    """Send a 6-digit code to any valid mobile number; the answer is the same whether it is known."""
    phone = _typed_phone(phone)
    digest = Person.phone_digest_of(phone)
    key = _signup_key(digest)
    _throttle_code_requests(phone_digest=digest, code_key=key, client_ip=client_ip)
    now = timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    OneTimeCode.objects.create(phone_digest=key, code_digest=_code_digest(key, code),
                               expires_at=now + dt.timedelta(seconds=settings.OTP_TTL_SECONDS))
    sms_provider().send(SmsMessage(phone=phone, template="login_code", params={"code": code}))


def verify_signup_code(*, phone: str, code: str) -> str:
    """Consume a sign-up code; returns the normalised phone it proved. A wrong code's attempt is
    committed before the refusal is raised (inside one rolled-back transaction it would not count)."""
    phone, code = _typed_phone(phone), _typed_code(code)
    key = _signup_key(Person.phone_digest_of(phone))
    with transaction.atomic():
        otp = (OneTimeCode.objects.select_for_update()
               .filter(phone_digest=key, used_at__isnull=True, expires_at__gt=timezone.now()).first())
        if otp is None or otp.attempts >= 5:
            refusal = _("验证码无效或已过期")
        elif not hmac.compare_digest(otp.code_digest, _code_digest(key, code)):
            otp.attempts += 1
            otp.save(update_fields=["attempts"])
            refusal = _("验证码错误")
        else:
            otp.used_at = timezone.now()
            otp.save(update_fields=["used_at"])
            return phone
    raise Forbidden(refusal)
