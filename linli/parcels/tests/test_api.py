"""The parcels API: registration, lists with the code only for the household, pickup errors naming
the field, and a bounded number of queries per list."""

import pytest

from linli.core.tests.apiclient import ApiClient
from linli.parcels import services


def test_the_household_reads_the_code_and_the_guard_reads_it_empty(district, parcel):
    for user, expected in ((district.a.users["resident"], parcel.pickup_code), (district.a.users["guard"], "")):
        client = ApiClient(user)
        response = client.get("/api/parcels")
        listed = response.json()
        assert listed["count"] == 1 and listed["items"][0]["pickup_code"] == expected
        detail = client.get(f"/api/parcels/{parcel.pk}")
        assert detail.json()["pickup_code"] == expected and detail.json()["tracking_last4"] == "7890"
        if not expected:
            assert parcel.pickup_code not in response.content.decode() + detail.content.decode()


def test_a_guard_registers_and_hands_over_through_the_api(district):
    client = ApiClient(district.a.users["guard"])
    created = client.post("/api/parcels", {"house_id": district.a.house.pk, "courier": "中通", "position": "B-1"})
    assert created.status_code == 201 and created.json()["pickup_code"] == ""
    pk = created.json()["id"]
    wrong = client.post(f"/api/parcels/{pk}/pickup", {"pickup_code": "abc"})
    assert wrong.status_code == 422 and "pickup_code" in wrong.json()["error"]["fields"]
    from linli.parcels.models import Parcel

    code = Parcel.objects.get(pk=pk).pickup_code
    assert client.post(f"/api/parcels/{pk}/pickup", {"pickup_code": code}).json()["status"] == "picked_up"
    again = client.post(f"/api/parcels/{pk}/pickup", {"pickup_code": code})
    assert again.status_code == 409


def test_a_resident_confirms_and_cannot_register_or_return(district, parcel):
    client = ApiClient(district.a.users["resident"])
    assert client.post("/api/parcels", {"house_id": district.a.house.pk}).status_code == 403
    assert client.post(f"/api/parcels/{parcel.pk}/return", {"reason": "不要"}).status_code == 403
    done = client.post(f"/api/parcels/{parcel.pk}/pickup", {})
    assert done.status_code == 200 and done.json()["pickup_method"] == "resident_confirmed"


def test_the_other_side_sees_none_of_the_parcels(district, parcel):
    for user in (district.b.users["guard"], district.b.users["resident"]):
        client = ApiClient(user)
        assert client.get("/api/parcels").json()["count"] == 0
        assert client.get(f"/api/parcels/{parcel.pk}").status_code == 404


@pytest.mark.parametrize("role", ["guard", "resident"])
def test_the_parcel_list_takes_a_bounded_number_of_queries(district, guard, role, django_assert_max_num_queries):
    for _ in range(12):
        services.register_parcel(actor=guard, house=district.a.house, courier="顺丰")
    client = ApiClient(district.a.users[role])
    with django_assert_max_num_queries(8):
        response = client.get("/api/parcels", limit=50)
    assert response.json()["count"] == 12
