"""Managing staff: who may hand out which role, and where."""

import pytest

from linli.accounts import services
from linli.accounts.models import User
from linli.core.errors import Forbidden
from linli.core.models import AuditEntry
from linli.core.tests.apiclient import ApiClient

pytestmark = pytest.mark.urls("linli.core.tests.api_only_urls")


def test_a_property_manager_hires_a_guard_for_their_own_compound(district):
    api = ApiClient(district.a.users["property_manager"])
    response = api.post("/api/accounts/staff", {"username": "new_guard", "password": "guard-pass-123",
                                                "role": "guard", "compound_id": district.a.compound.pk})
    assert response.status_code == 201, response.content
    assert response.json()["grants"][0]["role"] == "guard"
    user = User.objects.get(username="new_guard")
    assert "password" not in str(AuditEntry.objects.filter(object_type="accounts.user", object_id=str(user.pk))
                                 .values_list("after", flat=True).get())
    assert user.scope().roles == {"guard"}


def test_a_property_manager_cannot_make_a_street_officer_or_hire_elsewhere(district):
    manager = district.a.users["property_manager"]
    with pytest.raises(Forbidden):
        services.create_staff(actor=manager, username="x1", password="long-password-1", role="street_officer",
                              region=district.a.street)
    api = ApiClient(manager)
    response = api.post("/api/accounts/staff", {"username": "intruder2", "password": "long-password-1", "role": "guard",
                                                "compound_id": district.b.compound.pk})
    assert response.status_code == 404
    assert not User.objects.filter(username__in=["x1", "intruder2"]).exists()


def test_a_city_admin_appoints_a_street_officer_who_then_sees_that_street_only(district):
    officer = services.create_staff(actor=district.city_admin, username="officer_new", password="long-password-1",
                                    role="street_officer", region=district.b.street)
    api = ApiClient(officer)
    ids = {c["id"] for c in api.get("/api/places/compounds").json()["items"]}
    assert ids == {district.b.compound.pk}


def test_revoking_a_grant_takes_the_access_away(district):
    guard = district.a.users["guard"]
    grant = guard.grants.get()
    services.revoke_grant(actor=district.a.users["property_manager"], grant=grant)
    fresh = User.objects.get(pk=guard.pk)
    assert ApiClient(fresh).get(f"/api/places/houses/{district.a.house.pk}").status_code == 404


def test_a_resident_account_needs_a_phone_and_is_made_once(district):
    api = ApiClient(district.a.users["property_manager"])
    created = api.post(f"/api/people/persons/{district.a.family.pk}/account")
    assert created.status_code == 201
    again = api.post(f"/api/people/persons/{district.a.family.pk}/account")
    assert again.status_code == 409
