"""Writes of the resident portal: house binding (apply, approve, reject), family members added by an
owner, and portal preferences. One transaction each, audited through linli.core.services."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import Conflict, Forbidden
from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.notify.models import Category
from linli.notify.providers import SendError, SmsMessage, sms_provider
from linli.notify.services import Audience, notify
from linli.people.identity import IdType, validate_id_number, validate_mobile
from linli.people.models import Person, Residency, ResidencyRole
from linli.people.services import build_person
from linli.places.models import House
from linli.portal.models import (
    CLAIMABLE_ROLES,
    PRIVACY_NOTICE_VERSION,
    BindingRequest,
    BindingStatus,
    PortalPreference,
)

log = logging.getLogger("linli.portal")

# Staff of a compound who verify binding requests (they hold portal.change_bindingrequest).
VERIFIERS = ("property_manager", "customer_service")
# Roles an owner may give a household member they add.
FAMILY_ROLES = (ResidencyRole.FAMILY, ResidencyRole.CO_RESIDENT)


def _clean_phone(phone: str) -> str:
    try:
        return validate_mobile(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc


def _clean_id(id_type: str, id_number: str) -> str:
    if not id_number.strip():
        return ""
    try:
        return validate_id_number(id_type, id_number)
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from exc


def _current(qs: Any, on: dt.date | None = None) -> Any:
    on = on or timezone.localdate()
    return qs.filter(since__lte=on).filter(Q(until__isnull=True) | Q(until__gte=on))


def _send_sms_after_commit(phone: str, title: str, body: str) -> None:
    """An SMS the applicant gets once the decision is committed; a provider failure is logged, not raised."""

    def send() -> None:
        try:
            sms_provider().send(SmsMessage(phone=phone, template="notification",
                                           params={"title": title[:35], "body": body[:35]}))
        except SendError as exc:
            log.warning("binding SMS not sent: %s", exc)

    transaction.on_commit(send)


# House binding ------------------------------------------------------------------------------


@service
def submit_binding(*, actor: Any = None, phone: str, name: str, house: House, role: str,
                   privacy_accepted: bool, id_type: str = IdType.MAINLAND_ID, id_number: str = "") -> BindingRequest:
    """File a request to be bound to `house`. `phone` must have been proved by a code (the view's job);
    `actor` is the resident account when a logged-in resident binds another house."""
    phone = _clean_phone(phone)
    if not name.strip():
        raise field_error("name", _("请填写姓名"))
    if role not in CLAIMABLE_ROLES:
        raise field_error("role", _("请选择业主、家庭成员或租户"))
    if not privacy_accepted:
        raise field_error("privacy", _("请阅读并同意隐私说明"))
    id_number = _clean_id(id_type, id_number)
    request = BindingRequest(compound_id=house.compound_id, house=house, name=name.strip(), role=role,
                             id_type=id_type, privacy_accepted_at=timezone.now(),
                             privacy_version=PRIVACY_NOTICE_VERSION,
                             applicant=actor if getattr(actor, "pk", None) else None)
    request.set_phone(phone)
    request.set_id_number(id_number)
    if BindingRequest.objects.filter(phone_digest=request.phone_digest, house=house,
                                     status=BindingStatus.PENDING).exists():
        raise Conflict(_("该房屋已有您的待审核申请"), field="house")
    if _current(Residency.objects.filter(house=house, person__phone_digest=request.phone_digest)).exists():
        raise Conflict(_("您已绑定该房屋"), field="house")
    save_new(request, exclude=("compound", "house", "applicant"))
    # Staff hear of it without any personal data: the house is enough to find the request.
    notify(compound_id=house.compound_id, audience=Audience(roles=VERIFIERS), title=_("新的房屋绑定申请"),
           body=str(house), category=Category.SYSTEM, link="/bindings/")
    return request


def _person_for(request: BindingRequest, id_number: str) -> Person | None:
    """The Person this request is about: by phone first, then by ID number."""
    person = Person.objects.filter(phone_digest=request.phone_digest).order_by("id").first()
    if person is None and id_number:
        person = Person.objects.filter(id_type=request.id_type,
                                       id_digest=Person.id_digest_of(id_number)).order_by("id").first()
        if person is not None and person.phone_digest and person.phone_digest != request.phone_digest:
            raise Conflict(_("该证件号已登记了其他手机号，请先在人员档案中核对"), field="id_number")
    return person


def _sealed_phone(phone: str) -> dict[str, str]:
    sealed = Person()
    sealed.set_phone(phone)
    return {"phone_cipher": sealed.phone_cipher, "phone_digest": sealed.phone_digest,
            "phone_masked": sealed.phone_masked}


def _resident_account(person: Person) -> Any:
    from linli.accounts import services as accounts
    from linli.accounts.models import User

    account = User.objects.filter(person=person).first()
    if account is None:
        # The caller checked the staff member's reach; the account follows the verified residency.
        account = accounts.create_resident_account(actor=None, person=person)
    return account


def _bind(*, actor: Any, person: Person, house: House, role: str) -> Residency:
    """A verified current residency of `person` in `house` (an unverified one is verified)."""
    existing = Residency.objects.filter(person=person, house=house, until__isnull=True).first()
    now = timezone.now()
    if existing is not None:
        if existing.verified_at is None:
            return save_changes(existing, {"verified_by": actor, "verified_at": now})
        return existing
    return save_new(Residency(compound_id=house.compound_id, person=person, house=house, role=role,
                              since=timezone.localdate(), verified_by=actor, verified_at=now))


@service
def approve_binding(*, actor: Any, request: BindingRequest, id_number: str = "") -> BindingRequest:
    """Verify the applicant: find or register the Person, add a verified Residency, make sure the
    resident account exists, and tell the applicant (in-app and SMS). `id_number` lets staff supply
    the ID they checked when the applicant gave none and is not yet on file."""
    require(actor, request, "change")
    request = BindingRequest.objects.select_for_update().select_related("house").get(pk=request.pk)
    if request.status != BindingStatus.PENDING:
        raise Conflict(_("该申请已处理"), field="status")
    house = request.house
    require_in_compound(actor, Residency, "add", house.compound_id)
    given = _clean_id(request.id_type, id_number) or request.id_number_plain()
    person = _person_for(request, given)
    if person is None:
        if not given:
            raise field_error("id_number", _("申请人尚未登记，请核对并填写其证件号码"))
        require_in_compound(actor, Person, "add", house.compound_id)
        person = build_person(compound=house.compound, name=request.name, id_type=request.id_type,
                              id_number=given, phone=request.phone_plain())
        save_new(person, exclude=["id_cipher", "id_digest", "id_masked"])
    elif not person.phone_digest:
        save_changes(person, _sealed_phone(request.phone_plain()))
    residency = _bind(actor=actor, person=person, house=house, role=request.role)
    account = _resident_account(person)
    save_changes(request, {"status": BindingStatus.APPROVED, "decided_by": actor, "decided_at": timezone.now(),
                           "residency": residency, "applicant": account})
    title, body = _("房屋绑定已通过"), str(house)
    notify(compound_id=house.compound_id, audience=Audience(user_ids=(account.pk,)), title=title, body=body,
           category=Category.SYSTEM, link="/m/")
    _send_sms_after_commit(request.phone_plain(), title, body)
    return request


@service
def reject_binding(*, actor: Any, request: BindingRequest, reason: str) -> BindingRequest:
    require(actor, request, "change")
    request = BindingRequest.objects.select_for_update().select_related("house").get(pk=request.pk)
    if request.status != BindingStatus.PENDING:
        raise Conflict(_("该申请已处理"), field="status")
    reason = reason.strip()
    if not reason:
        raise field_error("reason", _("请填写驳回原因"))
    save_changes(request, {"status": BindingStatus.REJECTED, "reason": reason[:200], "decided_by": actor,
                           "decided_at": timezone.now()})
    title = _("房屋绑定未通过")
    if request.applicant_id:
        notify(compound_id=request.compound_id, audience=Audience(user_ids=(request.applicant_id,)), title=title,
               body=request.reason, category=Category.SYSTEM, link="/m/bindings/")
    _send_sms_after_commit(request.phone_plain(), title, request.reason)
    return request


# Family members -----------------------------------------------------------------------------


def _require_owner(actor: Any, house: House) -> None:
    person_id = getattr(actor, "person_id", None)
    owners = _current(Residency.objects.filter(house=house, role=ResidencyRole.OWNER))
    if person_id is None or not owners.filter(person_id=person_id).exists():
        raise Forbidden(_("只有该房屋的业主可以管理家庭成员"))


@service
def add_family_member(*, actor: Any, house: House, name: str, phone: str, role: str = ResidencyRole.FAMILY,
                      id_type: str = IdType.MAINLAND_ID, id_number: str = "") -> Residency:
    """An owner adds a member of their household. The owner's word is the verification: the residency
    is recorded as verified by the owner's account, and the member gets a resident account."""
    require(actor, house, "view")
    _require_owner(actor, house)
    if role not in FAMILY_ROLES:
        raise field_error("role", _("请选择家庭成员或同住人"))
    if not name.strip():
        raise field_error("name", _("请填写姓名"))
    phone = _clean_phone(phone)
    id_number = _clean_id(id_type, id_number)
    person = Person.objects.filter(phone_digest=Person.phone_digest_of(phone)).order_by("id").first()
    if person is None and id_number:
        person = Person.objects.filter(id_type=id_type, id_digest=Person.id_digest_of(id_number)).first()
        if person is not None and person.phone_digest:
            raise Conflict(_("该证件号已登记了其他手机号，请联系物业核对"), field="id_number")
    if person is None:
        if not id_number:
            raise field_error("id_number", _("首次登记的成员须填写证件号码"))
        person = build_person(compound=house.compound, name=name, id_type=id_type, id_number=id_number, phone=phone)
        save_new(person, exclude=["id_cipher", "id_digest", "id_masked"])
    elif not person.phone_digest:
        save_changes(person, _sealed_phone(phone))
    if Residency.objects.filter(person=person, house=house, until__isnull=True).exists():
        raise Conflict(_("此人已登记在该房屋"), field="phone")
    residency = save_new(Residency(compound_id=house.compound_id, person=person, house=house, role=role,
                                   since=timezone.localdate(), verified_by=actor, verified_at=timezone.now()))
    _resident_account(person)
    return residency


@service
def end_family_member(*, actor: Any, residency: Residency) -> Residency:
    """The owner ends a household member's residency today; owners are ended by staff, not here."""
    require(actor, residency, "view")
    _require_owner(actor, residency.house)
    if residency.role == ResidencyRole.OWNER or residency.person_id == actor.person_id:
        raise Forbidden(_("只能移除家庭成员、同住人或租户"))
    if residency.until is not None:
        raise Conflict(_("该成员已移除"))
    today = timezone.localdate()
    return save_changes(residency, {"until": max(today, residency.since)})


# Preferences --------------------------------------------------------------------------------


def preference_of(user: Any) -> PortalPreference:
    """The user's preferences, unsaved defaults when they never changed any."""
    return PortalPreference.objects.filter(user_id=user.pk).first() or PortalPreference(user_id=user.pk)


@service
def set_preferences(*, actor: Any, elderly_mode: bool | None = None, language: str | None = None) -> PortalPreference:
    current = PortalPreference.objects.select_for_update().filter(user_id=actor.pk).first()
    changes: dict[str, Any] = {}
    if elderly_mode is not None:
        changes["elderly_mode"] = elderly_mode
    if language is not None:
        changes["language"] = language
    if current is None:
        return save_new(PortalPreference(user=actor, **changes), exclude=("user",))
    return save_changes(current, changes)
