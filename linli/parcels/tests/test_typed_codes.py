"""Pickup codes and tracking numbers as people type them: full-width digits and letters from a Chinese
input method, spaces between groups. They read as the ASCII code; anything else is a 422 naming the
field, never a server error, and costs the parcel no attempt."""

import pytest

from linli.core.tests.apiclient import ApiClient
from linli.parcels import selectors, services
from linli.parcels.models import Parcel, Status

pytestmark = pytest.mark.django_db


def full_width(text: str) -> str:
    """`text` as a Chinese input method in full-width mode types it (１２３, ＳＦ)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_a_pickup_code_typed_in_full_width_digits_hands_the_parcel_over(district, parcel):
    typed = full_width(parcel.pickup_code[:3]) + "\u3000" + full_width(parcel.pickup_code[3:])
    answer = ApiClient(district.a.users["guard"]).post(f"/api/parcels/{parcel.pk}/pickup", {"pickup_code": typed})
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "picked_up" and answer.json()["pickup_method"] == "code_at_booth"


@pytest.mark.parametrize("typed", ["一二三四五六", "12345é", "١٢٣٤٥٦"])
def test_a_pickup_code_that_is_no_code_answers_422_naming_the_field_and_costs_no_attempt(district, parcel, typed):
    answer = ApiClient(district.a.users["guard"]).post(f"/api/parcels/{parcel.pk}/pickup", {"pickup_code": typed})
    assert answer.status_code == 422 and list(answer.json()["error"]["fields"]) == ["pickup_code"]
    parcel.refresh_from_db()
    assert parcel.status == Status.WAITING and parcel.failed_code_attempts == 0


def test_a_tracking_number_typed_in_full_width_is_kept_and_found_as_the_ascii_number(district, guard):
    client = ApiClient(guard)
    created = client.post("/api/parcels", {"house_id": district.a.house.pk, "tracking_no": full_width("sf 1234567890")})
    assert created.status_code == 201, created.content
    assert created.json()["tracking_last4"] == "7890"
    parcel = Parcel.objects.get(pk=created.json()["id"])
    assert selectors.parcels(guard, tracking_no="SF1234567890").get() == parcel
    assert selectors.parcels(guard, tracking_no=full_width("SF1234567890")).get() == parcel
    assert parcel.tracking_digest == services.tracking_digest("SF1234567890")
    refused = client.post("/api/parcels", {"house_id": district.a.house.pk, "tracking_no": "顺丰1234567890"})
    assert refused.status_code == 422 and list(refused.json()["error"]["fields"]) == ["tracking_no"]
