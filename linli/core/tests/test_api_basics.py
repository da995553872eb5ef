"""The API's shared behaviour: authentication, one error shape, fields named, no 500s."""
import pytest
from django.test import Client

from linli.core.models import AuditEntry
from linli.core.testing import PASSWORD
from linli.core.tests.apiclient import ApiClient

pytestmark = pytest.mark.urls("linli.core.tests.api_only_urls")


def test_requests_without_credentials_are_refused_with_the_error_shape(district):
    response = Client().get("/api/people/persons")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_staff_exchange_a_password_for_a_token_and_a_wrong_password_is_refused(district):
    ok = Client().post("/api/auth/token", {"username": "property_manager_a", "password": PASSWORD},
                       content_type="application/json")
    assert ok.status_code == 200
    me = Client(HTTP_AUTHORIZATION=f"Bearer {ok.json()['token']}").get("/api/auth/me")
    assert me.json()["roles"] == ["property_manager"]
    bad = Client().post("/api/auth/token", {"username": "property_manager_a", "password": "nope"},
                        content_type="application/json")
    assert bad.status_code == 403


def test_staff_lock_out_after_five_failures(district):
    for _ in range(5):
        Client().post("/api/auth/token", {"username": "guard_a", "password": "wrong"},
                      content_type="application/json")
    right = Client().post("/api/auth/token", {"username": "guard_a", "password": PASSWORD},
                          content_type="application/json")
    assert right.status_code == 403
    assert "锁定" in right.json()["error"]["message"]


def test_a_bad_id_number_is_a_422_naming_the_field_and_writes_nothing(district):
    api = ApiClient(district.a.users["property_manager"])
    before = AuditEntry.objects.count()
    response = api.post("/api/people/persons", {"compound_id": district.a.compound.pk, "name": "王五",
                                                "id_number": "370281198503127715"})
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert "id_number" in body["fields"]
    assert AuditEntry.objects.count() == before


def test_malformed_query_and_body_values_are_422_not_500(district):
    api = ApiClient(district.a.users["property_manager"])
    assert api.get("/api/places/houses", limit="lots").status_code == 422
    assert api.get("/api/places/houses", limit=100000).json()["error"]["fields"].keys() == {"limit"}
    response = api.post("/api/places/houses", {"unit_id": "x", "number": "", "floor": 3, "built_area": -1})
    assert response.status_code == 422
    assert {"unit_id", "number", "built_area"} <= response.json()["error"]["fields"].keys()
    assert api.get("/api/people/persons/notanumber").status_code in (404, 422)


def test_a_duplicate_house_is_a_conflict(district):
    api = ApiClient(district.a.users["property_manager"])
    response = api.post("/api/places/houses", {"unit_id": district.a.unit.pk, "number": "501", "floor": 5,
                                               "built_area": "80.00"})
    assert response.status_code in (409, 422)
    assert response.json()["error"]["code"] in ("conflict", "validation_error")


def test_lists_page_with_a_total(district):
    api = ApiClient(district.a.users["property_manager"])
    body = api.get("/api/places/houses", limit=1, offset=1).json()
    assert body["count"] == 2
    assert len(body["items"]) == 1


def test_create_and_edit_a_person_through_the_api_is_audited_with_masked_values(district):
    api = ApiClient(district.a.users["property_manager"])
    created = api.post("/api/people/persons", {"compound_id": district.a.compound.pk, "name": "赵六",
                                               "id_number": "110101199003074477", "phone": "13612345678"})
    assert created.status_code == 201, created.content
    person = created.json()
    assert person["id_number"] == "1101**********4477"
    assert person["phone"] == "136****5678"
    assert person["gender"] == "male"
    patched = api.patch(f"/api/people/persons/{person['id']}", {"phone": "13612340000"})
    assert patched.json()["phone"] == "136****0000"
    entry = AuditEntry.objects.filter(object_type="people.person", object_id=str(person["id"]),
                                      action="update").get()
    assert entry.actor == "property_manager_a"
    assert entry.after == {"phone_masked": "136****0000"}
    assert entry.context["source"] == "api"
