"""Helpers for tests: a listing and a tenancy on each side of the test district, made once through
the services, with tenants whose ID and phone numbers the privacy tests look for."""

from __future__ import annotations

import datetime as dt
from typing import Any

from linli.core.context import ChangeContext, change_context
from linli.rentals.models import Listing, Tenancy

# First 17 digits of test tenants' mainland IDs (the check character is computed) and their phones.
TENANT_ID_STEMS = {"a": "37028119950505301", "b": "37020319960606402"}
TENANT_PHONES = {"a": "13600136001", "b": "13600136002"}
LEASE = (dt.date(2024, 1, 1), dt.date(2099, 12, 31))


def tenant_id_number(tag: str) -> str:
    from linli.people.identity import mainland_id_check_char

    stem = TENANT_ID_STEMS[tag]
    return stem + mainland_id_check_char(stem)


def side_records(side: Any, tag: str) -> dict[str, Any]:
    """An open listing of the side's other house, and a tenant registered by the manager in the
    owner's house for a lease that runs until 2099."""
    from linli.rentals import services

    listing = Listing.objects.filter(house=side.other_house).order_by("id").first()
    tenancy = Tenancy.objects.filter(house=side.house).order_by("id").first()
    manager = side.users["property_manager"]
    with change_context(ChangeContext(source="test", actor="test")):
        if listing is None:
            listing = services.create_listing(actor=manager, house=side.other_house, rent_fen=180000,
                                              deposit_fen=360000, available_from=dt.date(2024, 3, 1),
                                              description="两室一厅，近地铁")
        if tenancy is None:
            tenancy = services.register_tenancy(actor=manager, house=side.house, tenant_name=f"{tag.upper()}租客",
                                                id_type="mainland_id", id_number=tenant_id_number(tag),
                                                phone=TENANT_PHONES[tag], lease_start=LEASE[0],
                                                lease_end=LEASE[1], rent_fen=150000)
    return {"listing": listing, "tenancy": tenancy}


def side_ids(side: Any) -> dict[str, set[int]]:
    return {"listing": set(Listing.objects.filter(compound=side.compound).values_list("pk", flat=True)),
            "tenancy": set(Tenancy.objects.filter(compound=side.compound).values_list("pk", flat=True))}
