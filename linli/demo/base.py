"""What the demo district and the benchmark districts share: the region chain above the
streets (Shandong → Qingdao → Jiaozhou, as in the seed deployment), organisations, and the
registry of numbers already stored."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from linli.demo import codes, names
from linli.people import services as people
from linli.people.models import Organisation, Person, RealUnit, Vehicle
from linli.places import services as places
from linli.places.models import Region

PROVINCE = ("370000", "山东省")
CITY = ("370200", "青岛市")
DISTRICT = ("370281", "胶州市")


@dataclass(frozen=True)
class RegionChain:
    province: Region
    city: Region
    district: Region


def ensure_region(actor: Any, *, level: str, code: str, name: str, parent: Region | None) -> Region:
    existing = Region.objects.filter(code=code).first()
    return existing or places.create_region(actor=actor, level=level, code=code, name=name, parent=parent)


def ensure_region_chain(actor: Any) -> RegionChain:
    province = ensure_region(actor, level="province", code=PROVINCE[0], name=PROVINCE[1], parent=None)
    city = ensure_region(actor, level="city", code=CITY[0], name=CITY[1], parent=province)
    district = ensure_region(actor, level="district", code=DISTRICT[0], name=DISTRICT[1], parent=city)
    return RegionChain(province, city, district)


def registry_from_database() -> codes.Registry:
    """A registry that also refuses numbers already stored (when loading beside other data)."""
    credit = set(Organisation.objects.exclude(credit_code="").values_list("credit_code", flat=True))
    credit |= set(RealUnit.objects.values_list("credit_code", flat=True))
    return codes.Registry(
        plates=set(Vehicle.objects.values_list("plate", flat=True)),
        credit_codes=credit,
        stored_id_digests=set(Person.objects.values_list("id_digest", flat=True)),
        stored_phone_digests=set(Person.objects.exclude(phone_digest="").values_list("phone_digest", flat=True)),
        id_digest=Person.id_digest_of,
        phone_digest=Person.phone_digest_of,
    )


def create_organisation(actor: Any, rng: random.Random, registry: codes.Registry, *, kind: str, name: str,
                        code_kind: str, region: Region | None = None, compound: Any = None) -> Organisation:
    contact = names.person_name(rng, male=rng.random() < 0.5, birth_year=rng.randint(1965, 1990))
    return people.create_organisation(
        actor=actor, kind=kind, name=name, region=region, compound=compound, contact_name=contact,
        credit_code=codes.credit_code(rng, registry, kind=code_kind),
    )
