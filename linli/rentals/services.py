"""Writes of rentals: listings, tenancy registration (the tenant enters the real population with a
tenant residency), ending tenancies early or at the lease's end (the expiry job), and the
audited police export of rental registrations.

A tenant residency stays current (no `until`) while the lease runs, because every reach of a
resident (portal households, bills, notices, door access) is computed from current residencies;
it is closed with `until` = the lease's last day the day after, by `end_expired_tenancies`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.context import ChangeContext, change_context
from linli.core.errors import Conflict, Forbidden
from linli.core.models import AuditAction
from linli.core.scope import scope_of
from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.rentals.models import Listing, ListingStatus, Tenancy, TenancyPurpose, TenancyStatus

JOB_LABEL = "tenancy-expiry"


def _is_resident(actor: Any) -> bool:
    return any(g.is_resident for g in scope_of(actor).grants)


def _owns(actor: Any, house: Any) -> bool:
    from linli.people.models import Residency, ResidencyRole

    person_id = getattr(actor, "person_id", None)
    return person_id is not None and Residency.objects.filter(
        person_id=person_id, house_id=house.pk, role=ResidencyRole.OWNER, until__isnull=True).exists()


def _require_owner_or_staff(actor: Any, model: type, house: Any) -> None:
    """Staff with the permission in the house's compound, or a resident who owns the house."""
    require(actor, house, "view")
    require_in_compound(actor, model, "add", house.compound_id)
    if _is_resident(actor) and not _owns(actor, house):
        raise Forbidden(_("只有房屋业主或物业人员可以办理出租"))


# --- listings ------------------------------------------------------------------------------------

@service
def create_listing(*, actor: Any, house: Any, rent_fen: int, available_from: dt.date, deposit_fen: int = 0,
                   description: str = "") -> Listing:
    _require_owner_or_staff(actor, Listing, house)
    if rent_fen is None or rent_fen <= 0:
        raise field_error("rent_fen", _("租金必须大于零"))
    if deposit_fen < 0:
        raise field_error("deposit_fen", _("押金不能为负数"))
    if Listing.objects.filter(house_id=house.pk, status=ListingStatus.OPEN).exists():
        raise Conflict(_("该房屋已有招租信息"), field="house")
    listing = Listing(compound_id=house.compound_id, house=house, rent_fen=rent_fen, deposit_fen=deposit_fen,
                      available_from=available_from, description=(description or "").strip(),
                      created_by=actor if getattr(actor, "pk", None) else None)
    return save_new(listing, exclude=("compound", "house", "created_by"))


@service
def withdraw_listing(*, actor: Any, listing: Listing) -> Listing:
    require(actor, listing, "change")
    if _is_resident(actor) and not _owns(actor, listing.house):
        raise Forbidden(_("只有房屋业主或物业人员可以办理出租"))
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status != ListingStatus.OPEN:
        raise field_error("status", _("该招租信息已关闭"), code="invalid_transition")
    return save_changes(listing, {"status": ListingStatus.WITHDRAWN, "closed_at": timezone.now()})


# --- tenancies -----------------------------------------------------------------------------------

def _landlord(actor: Any, house: Any) -> Any:
    from linli.people.models import Person, Residency, ResidencyRole

    if _is_resident(actor):
        return Person.objects.get(pk=actor.person_id)
    owner = (Residency.objects.filter(house_id=house.pk, role=ResidencyRole.OWNER, until__isnull=True)
             .select_related("person").order_by("since", "id").first())
    if owner is None:
        raise field_error("house", _("该房屋未登记业主，不能登记出租"))
    return owner.person


def _tenant(*, house: Any, name: str, id_type: str, id_number: str, phone: str) -> Any:
    """The person with this ID number (found by its digest), or a new one sealed the way people does."""
    from linli.people.models import Person
    from linli.people.services import build_person

    if not (name or "").strip():
        raise field_error("tenant_name", _("请填写承租人姓名"))
    person = build_person(compound=house.compound, name=name, id_type=id_type, id_number=id_number, phone=phone)
    existing = Person.objects.filter(id_type=person.id_type, id_digest=person.id_digest).first()
    if existing is not None:
        if not existing.phone_digest and person.phone_digest:
            save_changes(existing, {"phone_cipher": person.phone_cipher, "phone_digest": person.phone_digest,
                                    "phone_masked": person.phone_masked})
        return existing
    return save_new(person, exclude=("id_cipher", "id_digest", "id_masked", "compound"))


@service
def register_tenancy(*, actor: Any, house: Any, tenant_name: str, id_type: str, id_number: str, phone: str,
                     lease_start: dt.date, lease_end: dt.date, rent_fen: int,
                     purpose: str = TenancyPurpose.RESIDENTIAL, listing: Listing | None = None) -> Tenancy:
    """Register a tenant in `house` (出租登记): the tenant's person record (created or found by ID
    number), a tenant residency from the lease's start, and the listing marked let."""
    from linli.people.models import Residency, ResidencyRole
    from linli.places.models import House, Occupancy

    _require_owner_or_staff(actor, Tenancy, house)
    if lease_end < lease_start:
        raise field_error("lease_end", _("租期结束日期不能早于开始日期"))
    if rent_fen is None or rent_fen < 0:
        raise field_error("rent_fen", _("租金不能为负数"))
    if purpose not in TenancyPurpose.values:
        raise field_error("purpose", _("未知的租赁用途"))
    if listing is not None:
        listing = Listing.objects.select_for_update().filter(pk=listing.pk).first()
        if listing is None or listing.house_id != house.pk or listing.status != ListingStatus.OPEN:
            raise field_error("listing", _("招租信息不属于该房屋或已关闭"))
    landlord = _landlord(actor, house)
    tenant = _tenant(house=house, name=tenant_name, id_type=id_type, id_number=id_number, phone=phone)
    if tenant.pk == landlord.pk:
        raise field_error("id_number", _("承租人不能是业主本人"))
    if Residency.objects.filter(person=tenant, house_id=house.pk, until__isnull=True).exists():
        raise Conflict(_("此人已登记在该房屋"), field="id_number")
    today = timezone.localdate()
    over = lease_end < today
    staff = not _is_resident(actor)
    residency = save_new(Residency(compound_id=house.compound_id, person=tenant, house=house,
                                   role=ResidencyRole.TENANT, since=lease_start, until=lease_end if over else None,
                                   verified_by=actor if staff else None,
                                   verified_at=timezone.now() if staff else None),
                         exclude=("compound", "person", "house", "verified_by"))
    tenancy = save_new(Tenancy(compound_id=house.compound_id, house=house, listing=listing, tenant=tenant,
                               landlord=landlord, lease_start=lease_start, lease_end=lease_end, rent_fen=rent_fen,
                               purpose=purpose, residency=residency,
                               status=TenancyStatus.ENDED if over else TenancyStatus.ACTIVE,
                               ended_on=lease_end if over else None,
                               registered_by=actor if getattr(actor, "pk", None) else None),
                       exclude=("compound", "house", "listing", "tenant", "landlord", "residency", "registered_by"))
    if listing is not None:
        save_changes(listing, {"status": ListingStatus.LET, "closed_at": timezone.now()})
    if not over and house.occupancy != Occupancy.RENTED:
        save_changes(House.objects.get(pk=house.pk), {"occupancy": Occupancy.RENTED})
    return tenancy


def _close(tenancy: Tenancy, last_day: dt.date) -> Tenancy:
    """The tenancy over with `last_day` its last day; the tenant residency closes with it."""
    from linli.people.models import Residency

    residency = Residency.objects.filter(pk=tenancy.residency_id, until__isnull=True).first()
    if residency is not None:
        save_changes(residency, {"until": max(last_day, residency.since)})
    return save_changes(tenancy, {"status": TenancyStatus.ENDED, "ended_on": last_day, "lease_end": last_day})


@service
def end_tenancy(*, actor: Any, tenancy: Tenancy, on: dt.date) -> Tenancy:
    """End a tenancy early, `on` being the tenant's last day. A day already past ends it now; today
    or a later day shortens the lease, and the expiry job ends it the day after."""
    require(actor, tenancy, "change")
    if _is_resident(actor) and tenancy.landlord_id != getattr(actor, "person_id", None):
        raise Forbidden(_("只有房屋业主或物业人员可以办理出租"))
    tenancy = Tenancy.objects.select_for_update().get(pk=tenancy.pk)
    if tenancy.status != TenancyStatus.ACTIVE:
        raise field_error("status", _("该租赁已结束"), code="invalid_transition")
    if on < tenancy.lease_start or on > tenancy.lease_end:
        raise field_error("on", _("结束日期须在租期之内"))
    if on < timezone.localdate():
        return _close(tenancy, on)
    return save_changes(tenancy, {"lease_end": on})


def end_expired_tenancies(*, today: dt.date | None = None) -> int:
    """End every active tenancy whose lease ended before `today`, closing the tenant residency with
    the lease's last day; a system job, safe to run late (it catches up on all of them) and from
    several processes at once (row locks). Returns how many it ended."""
    today = today or timezone.localdate()
    done = 0
    due = Tenancy.objects.filter(status=TenancyStatus.ACTIVE, lease_end__lt=today).order_by("lease_end", "pk")
    with change_context(ChangeContext(source="job", actor=JOB_LABEL)):
        for pk in list(due.values_list("pk", flat=True)):
            with transaction.atomic():
                rows = Tenancy.objects.filter(pk=pk, status=TenancyStatus.ACTIVE)
                rows = (rows.select_for_update(skip_locked=True)
                        if connection.features.has_select_for_update_skip_locked else rows.select_for_update())
                tenancy = rows.first()
                if tenancy is None:
                    continue
                _close(tenancy, tenancy.lease_end)
                done += 1
    return done


# --- police export -------------------------------------------------------------------------------

@dataclass
class RegistrationFile:
    content: bytes
    filename: str
    content_type: str
    rows: int


@service
def export_rental_registrations(*, actor: Any, compound_id: int, since: dt.date | None = None,
                                until: dt.date | None = None, fmt: str = "xlsx") -> RegistrationFile:
    """出租房屋登记 for the police: full ID and phone numbers, so the file is built first and every
    tenant's record is logged as revealed (with one export entry for the compound) before it leaves."""
    from linli.places.models import Compound
    from linli.rentals import registrations
    from linli.rentals.selectors import rental_registration_rows

    if fmt not in registrations.FORMATS:
        raise field_error("format", _("导出格式只能是 xlsx 或 pdf"))
    rows = rental_registration_rows(actor, compound_id=compound_id, since=since, until=until)
    compound = Compound.objects.get(pk=compound_id)
    content = registrations.render(fmt, compound.name, rows, since=since, until=until)
    window = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    tenants = {row.tenancy.tenant_id: row.tenancy.tenant for row in rows}
    audit.record([audit.Change(AuditAction.REVEAL, person, None,
                               {"revealed": ["id_number", "phone"], "purpose": "rental_registration_export"})
                  for _pk, person in sorted(tenants.items())]
                 + [audit.Change(AuditAction.EXPORT, compound, None,
                                 {"export": "rental_registrations", "format": fmt, "rows": len(rows), **window})])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return RegistrationFile(content, f"rental-registrations-{compound.code}-{stamp}.{fmt}",
                            registrations.FORMATS[fmt], len(rows))
