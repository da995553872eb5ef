"""Reads of rentals for a user, always scoped: listings, tenancies and the rows of the police export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from linli.core.errors import Forbidden
from linli.core.scope import scope_of
from linli.core.selectors import get_visible
from linli.core.services import require_in_compound
from linli.rentals.models import Listing, Tenancy

EXPORT_PERMISSION = "core.export_list"


def listings(user: Any, *, compound_id: int | None = None, house_id: int | None = None,
             status: str = "") -> QuerySet[Listing]:
    qs = Listing.objects.restrict(user, "view").select_related("house")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def listing(user: Any, pk: int) -> Listing:
    return get_visible(Listing.objects.select_related("house"), user, pk)


_TENANCY_JOINS = ("house", "tenant", "landlord")


def tenancies(user: Any, *, compound_id: int | None = None, house_id: int | None = None, status: str = "",
              tenant_id: int | None = None) -> QuerySet[Tenancy]:
    qs = Tenancy.objects.restrict(user, "view").select_related(*_TENANCY_JOINS)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if status:
        qs = qs.filter(status=status)
    if tenant_id:
        qs = qs.filter(tenant_id=tenant_id)
    return qs.order_by("-lease_start", "-id")


def tenancy(user: Any, pk: int) -> Tenancy:
    return get_visible(Tenancy.objects.select_related(*_TENANCY_JOINS), user, pk)


@dataclass(frozen=True)
class RegistrationRow:
    """One line of 出租房屋登记, with clear ID and phone numbers: only for the audited export."""

    tenancy: Tenancy
    address: str
    landlord_name: str
    tenant_name: str
    id_type: str
    id_number: str
    phone: str
    lease_start: dt.date
    lease_end: dt.date
    purpose: str


def may_export(user: Any) -> bool:
    scope = scope_of(user)
    return scope.allows(EXPORT_PERMISSION) and scope.allows("rentals.export_tenancy")


def rental_registration_rows(user: Any, *, compound_id: int, since: dt.date | None = None,
                             until: dt.date | None = None) -> list[RegistrationRow]:
    """The tenancies of one compound whose lease overlaps [since, until], for a user who may export
    them (community and street officers, property managers with the export permission); decrypts,
    so callers audit (`services.export_rental_registrations`)."""
    require_in_compound(user, Tenancy, "export", compound_id)
    if not scope_of(user).allows(EXPORT_PERMISSION):
        raise Forbidden(_("无权导出含个人信息的列表"))
    qs = Tenancy.objects.restrict(user, "export").filter(compound_id=compound_id).select_related(*_TENANCY_JOINS)
    if since:
        qs = qs.filter(lease_end__gte=since)
    if until:
        qs = qs.filter(lease_start__lte=until)
    rows = []
    for t in qs.order_by("house__address_code", "lease_start", "id"):
        rows.append(RegistrationRow(
            tenancy=t, address=t.house.standard_address, landlord_name=t.landlord.name if t.landlord else "",
            tenant_name=t.tenant.name, id_type=str(t.tenant.get_id_type_display()),
            id_number=t.tenant.id_number_plain(), phone=t.tenant.phone_plain(), lease_start=t.lease_start,
            lease_end=t.lease_end, purpose=str(t.get_purpose_display())))
    return rows
