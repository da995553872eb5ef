"""Reads of people, organisations, real units, vehicles and consents for a user; always scoped."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from linli.core.selectors import get_visible
from linli.people.identity import validate_mobile
from linli.people.models import Consent, Organisation, Person, RealUnit, Residency, Vehicle


def persons(user: Any, *, compound_id: int | None = None, house_id: int | None = None, q: str = "",
            id_number: str = "", phone: str = "", care_tag: str = "", population_type: str = "") -> QuerySet[Person]:
    qs = Person.objects.restrict(user).select_related("compound")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(id__in=Residency.objects.filter(house_id=house_id, until__isnull=True).values("person_id"))
    if q:
        qs = qs.filter(name__contains=q)
    if id_number:
        # Exact match through the keyed digest; the clear value never reaches the database.
        qs = qs.filter(id_digest=Person.id_digest_of(id_number.strip().upper()))
    if phone:
        try:
            qs = qs.filter(phone_digest=Person.phone_digest_of(validate_mobile(phone)))
        except Exception:
            qs = qs.none()
    if care_tag:
        qs = qs.filter(care_tags__contains=care_tag) if _json_contains_ok() else qs.filter(
            care_tags__icontains=f'"{care_tag}"'
        )
    if population_type:
        qs = qs.filter(population_type=population_type)
    return qs.order_by("id")


def _json_contains_ok() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def person(user: Any, pk: int) -> Person:
    return get_visible(Person.objects.select_related("compound"), user, pk)


def residencies(user: Any, *, house_id: int | None = None, person_id: int | None = None,
                current: bool | None = None, compound_id: int | None = None) -> QuerySet[Residency]:
    qs = Residency.objects.restrict(user).select_related("person", "house", "verified_by")
    if house_id:
        qs = qs.filter(house_id=house_id)
    if person_id:
        qs = qs.filter(person_id=person_id)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if current is True:
        qs = qs.filter(until__isnull=True)
    elif current is False:
        qs = qs.filter(until__isnull=False)
    return qs.order_by("id")


def residency(user: Any, pk: int) -> Residency:
    return get_visible(Residency.objects.select_related("person", "house"), user, pk)


def organisations(user: Any, *, kind: str = "", q: str = "") -> QuerySet[Organisation]:
    qs = Organisation.objects.restrict(user).select_related("region", "compound")
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(credit_code=q.upper()))
    return qs.order_by("kind", "name")


def organisation(user: Any, pk: int) -> Organisation:
    return get_visible(Organisation.objects.select_related("region", "compound"), user, pk)


def real_units(user: Any, *, compound_id: int | None = None, q: str = "") -> QuerySet[RealUnit]:
    qs = RealUnit.objects.restrict(user).select_related("compound", "house")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(credit_code=q.upper()))
    return qs.order_by("compound_id", "name")


def real_unit(user: Any, pk: int) -> RealUnit:
    return get_visible(RealUnit.objects.select_related("compound", "house"), user, pk)


def vehicles(user: Any, *, compound_id: int | None = None, house_id: int | None = None, plate: str = "",
             owner_id: int | None = None) -> QuerySet[Vehicle]:
    qs = Vehicle.objects.restrict(user).select_related("compound", "owner", "house")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if house_id:
        qs = qs.filter(house_id=house_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if plate:
        qs = qs.filter(plate__contains=plate.strip().upper())
    return qs.order_by("compound_id", "plate")


def vehicle(user: Any, pk: int) -> Vehicle:
    return get_visible(Vehicle.objects.select_related("compound", "owner", "house"), user, pk)


def consents(user: Any, *, person_id: int | None = None, active: bool | None = None) -> QuerySet[Consent]:
    qs = Consent.objects.restrict(user).select_related("person")
    if person_id:
        qs = qs.filter(person_id=person_id)
    if active is True:
        qs = qs.filter(withdrawn_at__isnull=True)
    elif active is False:
        qs = qs.filter(withdrawn_at__isnull=False)
    return qs


def consent(user: Any, pk: int) -> Consent:
    return get_visible(Consent.objects.select_related("person"), user, pk)
