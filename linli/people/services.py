"""Writes to real population and real units. One transaction each, audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.errors import Conflict, Forbidden
from linli.core.models import AuditAction
from linli.core.scope import permission_name, scope_of
from linli.core.services import (
    delete_audited,
    field_error,
    require,
    require_in_compound,
    save_changes,
    save_new,
    service,
)
from linli.people.identity import (
    IdType,
    birth_date_from_id,
    validate_id_number,
    validate_mobile,
    validate_uscc,
)
from linli.people.models import (
    CareTag,
    Consent,
    Gender,
    Organisation,
    Person,
    RealUnit,
    Residency,
    Vehicle,
)
from linli.people.plates import PlateColour, plate_is_new_energy, validate_plate
from linli.places.models import Compound, House, Region

_CARE_TAGS = set(CareTag.values)


def _clean_identity(id_type: str, id_number: str) -> str:
    try:
        return validate_id_number(id_type, id_number)
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from exc


def _clean_phone(phone: str) -> str:
    if not phone:
        return ""
    try:
        return validate_mobile(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc


def _clean_care_tags(tags: list[str] | None) -> list[str]:
    tags = list(dict.fromkeys(tags or []))
    unknown = [t for t in tags if t not in _CARE_TAGS]
    if unknown:
        raise field_error("care_tags", _("未知的关怀标签：%(tags)s") % {"tags": ", ".join(unknown)})
    return tags


def _ensure_unique_identity(id_type: str, digest: str, exclude_pk: int | None = None) -> None:
    clash = Person.objects.filter(id_type=id_type, id_digest=digest)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict(_("该证件号码已登记"), field="id_number")


def build_person(*, compound: Compound, name: str, id_type: str, id_number: str, phone: str = "",
                 gender: str | None = None, birth_date: dt.date | None = None,
                 care_tags: list[str] | None = None, **fields: Any) -> Person:
    """A validated, sealed, unsaved Person — shared by the service, imports and the demo."""
    id_number = _clean_identity(id_type, id_number)
    phone = _clean_phone(phone)
    if id_type == IdType.MAINLAND_ID:
        # The ID number carries birth date and sex (odd 17th digit = male); trust it over the form.
        birth_date = birth_date_from_id(id_number)
        gender = Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE
    person = Person(
        compound=compound, name=name.strip(), id_type=id_type, gender=gender or Gender.UNKNOWN,
        birth_date=birth_date, care_tags=_clean_care_tags(care_tags), **fields,
    )
    person.set_id_number(id_number)
    person.set_phone(phone)
    # The compound link is checked by the caller (scope) and by the database; skip its query here.
    person.full_clean(exclude=["id_cipher", "id_digest", "id_masked", "compound"], validate_constraints=False)
    return person


@service
def create_person(*, actor: Any, compound: Compound, **fields: Any) -> Person:
    require_in_compound(actor, Person, "add", compound.pk)
    person = build_person(compound=compound, **fields)
    _ensure_unique_identity(person.id_type, person.id_digest)
    return save_new(person, exclude=["id_cipher", "id_digest", "id_masked"])


@service
def update_person(*, actor: Any, person: Person, id_number: str | None = None, phone: str | None = None,
                  **changes: Any) -> Person:
    require(actor, person, "change")
    before = audit.snapshot(person)
    id_type = changes.get("id_type", person.id_type)
    if id_number is not None or "id_type" in changes:
        plain = _clean_identity(id_type, id_number if id_number is not None else person.id_number_plain())
        person.id_type = id_type
        person.set_id_number(plain)
        _ensure_unique_identity(id_type, person.id_digest, exclude_pk=person.pk)
        if id_type == IdType.MAINLAND_ID:
            changes["birth_date"] = birth_date_from_id(plain)
            changes["gender"] = Gender.MALE if int(plain[16]) % 2 else Gender.FEMALE
    if phone is not None:
        person.set_phone(_clean_phone(phone))
    if "care_tags" in changes:
        changes["care_tags"] = _clean_care_tags(changes["care_tags"])
    for field, value in changes.items():
        setattr(person, field, value)
    person.full_clean(validate_constraints=False)
    person.save()
    audit.record_updated(person, before)
    return person


@service
def reveal_person(*, actor: Any, person: Person, fields: tuple[str, ...] = ("id_number", "phone")) -> dict[str, str]:
    """Unmasked ID and phone for a user with the reveal permission; the look is audited."""
    require(actor, person, "view")
    if not Person.objects.restrict(actor, "reveal").filter(pk=person.pk).exists():
        raise Forbidden(_("无权查看完整证件号和手机号"))
    values = {}
    if "id_number" in fields:
        values["id_number"] = person.id_number_plain()
    if "phone" in fields:
        values["phone"] = person.phone_plain()
    audit.record_access(AuditAction.REVEAL, person, {"revealed": sorted(values)})
    return values


def personal_data_export(person: Person) -> dict[str, Any]:
    """Everything Linli holds about a person, unmasked — for the person themselves (PIPL Art. 45)."""
    return {
        "name": person.name,
        "gender": person.gender,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "id_type": person.id_type,
        "id_number": person.id_number_plain(),
        "phone": person.phone_plain(),
        "population_type": person.population_type,
        "care_tags": person.care_tags,
        "residencies": [
            {"house": r.house.standard_address, "role": r.role, "since": r.since.isoformat(),
             "until": r.until.isoformat() if r.until else None}
            for r in person.residencies.select_related("house")
        ],
        "vehicles": [{"plate": v.plate, "colour": v.colour} for v in person.vehicles.all()],
        "consents": [
            {"purpose": c.purpose, "scope": c.scope, "granted_at": c.granted_at.isoformat(),
             "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}
            for c in person.consents.all()
        ],
    }


@service
def export_person_data(*, actor: Any, person: Person) -> dict[str, Any]:
    """A copy for the person (or staff acting on their written request); audited."""
    own = getattr(actor, "person_id", None) == person.pk
    if not own:
        require(actor, person, "view")
        if not Person.objects.restrict(actor, "reveal").filter(pk=person.pk).exists():
            raise Forbidden(_("无权导出个人信息"))
    data = personal_data_export(person)
    audit.record_access(AuditAction.EXPORT, person, {"export": "personal_data", "own": own})
    return data


@service
def erase_person(*, actor: Any, person: Person, reason: str) -> None:
    """Delete a person's record on request (PIPL Art. 47); their consents and residencies go with it."""
    require(actor, person, "delete")
    if not reason.strip():
        raise field_error("reason", _("请填写删除原因"))
    for vehicle in person.vehicles.all():
        save_changes(vehicle, {"owner": None})
    for consent in person.consents.all():
        delete_audited(consent)
    for residency in person.residencies.all():
        delete_audited(residency)
    audit.record_access(AuditAction.ERASE, person, {"reason": reason.strip()[:200]})
    account = getattr(person, "account", None)
    if account is not None:
        # The login goes with the person; the account row stays so its audit history still resolves.
        save_changes(account, {"is_active": False, "person": None}, exclude=["password"])
    delete_audited(person)


# Residencies -------------------------------------------------------------------------------


@service
def add_residency(*, actor: Any, person: Person, house: House, role: str, since: dt.date,
                  until: dt.date | None = None) -> Residency:
    require(actor, person, "view")
    require(actor, house, "view")
    require_in_compound(actor, Residency, "add", house.compound_id)
    if Residency.objects.filter(person=person, house=house, until__isnull=True).exists() and until is None:
        raise Conflict(_("此人已登记在该房屋"), field="house")
    residency = Residency(compound_id=house.compound_id, person=person, house=house, role=role, since=since,
                          until=until)
    return save_new(residency)


@service
def end_residency(*, actor: Any, residency: Residency, until: dt.date) -> Residency:
    require(actor, residency, "change")
    if until < residency.since:
        raise field_error("until", _("结束日期不能早于开始日期"))
    return save_changes(residency, {"until": until})


@service
def verify_residency(*, actor: Any, residency: Residency) -> Residency:
    require(actor, residency, "change")
    return save_changes(residency, {"verified_by": actor, "verified_at": timezone.now()})


@service
def update_residency(*, actor: Any, residency: Residency, **changes: Any) -> Residency:
    require(actor, residency, "change")
    return save_changes(residency, changes)


@service
def delete_residency(*, actor: Any, residency: Residency) -> None:
    require(actor, residency, "delete")
    delete_audited(residency)


# Organisations and real units --------------------------------------------------------------


def _require_org_place(actor: Any, action: str, region: Region | None, compound: Compound | None) -> None:
    scope = scope_of(actor)
    if scope.unrestricted:
        return
    perm = permission_name(Organisation, action)
    for grant in scope.grants_for(perm):
        if region is not None and grant.region_path and region.path.startswith(grant.region_path):
            return
        if compound is not None and grant.compounds is not None and (
            Compound.objects.filter(pk=compound.pk, id__in=grant.compounds).exists()
        ):
            return
    raise Forbidden(_("无权在此范围登记组织"))


@service
def create_organisation(*, actor: Any, kind: str, name: str, region: Region | None = None,
                        compound: Compound | None = None, credit_code: str = "", contact_phone: str = "",
                        **fields: Any) -> Organisation:
    if region is None and compound is None:
        raise field_error("region", _("请指定组织所属区划或小区"))
    _require_org_place(actor, "add", region, compound)
    if credit_code:
        try:
            credit_code = validate_uscc(credit_code)
        except ValidationError as exc:
            raise ValidationError({"credit_code": exc.messages}) from exc
    path = region.path if region else compound.region_path
    org = Organisation(kind=kind, name=name, region=region, compound=compound, credit_code=credit_code,
                       region_path=path, **fields)
    org.set_contact_phone(_clean_phone(contact_phone))
    return save_new(org)


@service
def update_organisation(*, actor: Any, organisation: Organisation, contact_phone: str | None = None,
                        **changes: Any) -> Organisation:
    require(actor, organisation, "change")
    if contact_phone is not None:
        sealed = Organisation()
        sealed.set_contact_phone(_clean_phone(contact_phone))
        changes["contact_phone_cipher"] = sealed.contact_phone_cipher
        changes["contact_phone_masked"] = sealed.contact_phone_masked
    if changes.get("credit_code"):
        try:
            changes["credit_code"] = validate_uscc(changes["credit_code"])
        except ValidationError as exc:
            raise ValidationError({"credit_code": exc.messages}) from exc
    return save_changes(organisation, changes)


@service
def create_real_unit(*, actor: Any, compound: Compound, name: str, credit_code: str,
                     house: House | None = None, **fields: Any) -> RealUnit:
    require_in_compound(actor, RealUnit, "add", compound.pk)
    if house is not None and house.compound_id != compound.pk:
        raise field_error("house", _("房屋不在该小区"))
    try:
        credit_code = validate_uscc(credit_code)
    except ValidationError as exc:
        raise ValidationError({"credit_code": exc.messages}) from exc
    return save_new(RealUnit(compound=compound, house=house, name=name, credit_code=credit_code, **fields))


@service
def update_real_unit(*, actor: Any, real_unit: RealUnit, **changes: Any) -> RealUnit:
    require(actor, real_unit, "change")
    if "credit_code" in changes:
        try:
            changes["credit_code"] = validate_uscc(changes["credit_code"])
        except ValidationError as exc:
            raise ValidationError({"credit_code": exc.messages}) from exc
    return save_changes(real_unit, changes)


# Vehicles ----------------------------------------------------------------------------------


def clean_plate(plate: str) -> str:
    try:
        return validate_plate(plate)
    except ValidationError as exc:
        raise ValidationError({"plate": exc.messages}) from exc


def clean_colour(plate: str, colour: str | None) -> str:
    """New-energy plates (8 characters) are green or yellow-green; others never are."""
    new_energy = plate_is_new_energy(plate)
    if not colour:
        return PlateColour.GREEN if new_energy else PlateColour.BLUE
    if new_energy != (colour in (PlateColour.GREEN, PlateColour.YELLOW_GREEN)):
        raise field_error("colour", _("车牌颜色与车牌号不符"))
    return colour


@service
def register_vehicle(*, actor: Any, compound: Compound, plate: str, owner: Person | None = None,
                     house: House | None = None, **fields: Any) -> Vehicle:
    plate = clean_plate(plate)
    fields["colour"] = clean_colour(plate, fields.get("colour"))
    if house is not None:
        require(actor, house, "view")
        if house.compound_id != compound.pk:
            raise field_error("house", _("房屋不在该小区"))
    if owner is not None:
        require(actor, owner, "view")
    require_in_compound(actor, Vehicle, "add", compound.pk)
    if scope_of(actor).roles == {"resident"} and (house is None or not _is_own_house(actor, house)):
        raise Forbidden(_("居民只能为本户登记车辆"))
    return save_new(Vehicle(compound=compound, plate=plate, owner=owner, house=house, **fields))


def _is_own_house(actor: Any, house: House) -> bool:
    return House.objects.restrict(actor).filter(pk=house.pk).exists()


@service
def update_vehicle(*, actor: Any, vehicle: Vehicle, **changes: Any) -> Vehicle:
    require(actor, vehicle, "change")
    if "plate" in changes or "colour" in changes:
        plate = clean_plate(changes.get("plate", vehicle.plate))
        changes["plate"] = plate
        changes["colour"] = clean_colour(plate, changes.get("colour") or (
            vehicle.colour if plate_is_new_energy(plate) == plate_is_new_energy(vehicle.plate) else None))
    if changes.get("house") is not None:
        require(actor, changes["house"], "view")
    if changes.get("owner") is not None:
        require(actor, changes["owner"], "view")
    return save_changes(vehicle, changes)


@service
def delete_vehicle(*, actor: Any, vehicle: Vehicle) -> None:
    require(actor, vehicle, "delete")
    delete_audited(vehicle)


# Consent -----------------------------------------------------------------------------------


@service
def record_consent(*, actor: Any, person: Person, purpose: str, scope: str, guardian: str = "") -> Consent:
    require(actor, person, "view")
    require_in_compound(actor, Consent, "add", person.compound_id)
    if person.birth_date and _age(person.birth_date) < 14 and not guardian.strip():
        raise field_error("granted_by_guardian", _("未满14周岁须由监护人同意"))
    consent = Consent(compound_id=person.compound_id, person=person, purpose=purpose, scope=scope,
                      granted_at=timezone.now(), granted_by_guardian=guardian.strip())
    return save_new(consent)


@service
def withdraw_consent(*, actor: Any, consent: Consent) -> Consent:
    require(actor, consent, "change")
    if consent.withdrawn_at is not None:
        raise Conflict(_("该同意已撤回"))
    return save_changes(consent, {"withdrawn_at": timezone.now()})


def _age(birth: dt.date) -> int:
    today = timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
