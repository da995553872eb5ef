"""ID and phone numbers appear masked everywhere; in clear only in the audited reveal answer."""

import pytest
from django.urls import reverse

from linli.core.models import AuditAction, AuditEntry
from linli.core.selectors import audit_entries
from linli.core.testing import ID_NUMBERS, PHONES

ROLES = ["street_officer", "community_officer", "grid_worker", "property_manager", "guard", "technician",
         "cashier", "customer_service", "integrator", "resident"]


def clear_values():
    return [*ID_NUMBERS.values(), *PHONES.values()]


def every_page(district, user):
    a, b = district.a, district.b
    urls = [reverse(n) for n in ("web:home", "web:place_tree", "web:compound_list", "web:building_list",
                                 "web:house_list", "web:person_list", "web:organisation_list",
                                 "web:realunit_list", "web:vehicle_list", "web:audit_list")]
    for side in (a, b):
        urls += [
            reverse("web:house_detail", args=[side.house.pk]),
            reverse("web:person_detail", args=[side.owner.pk]),
            reverse("web:person_detail", args=[side.family.pk]),
            reverse("web:person_edit", args=[side.owner.pk]),
            reverse("web:vehicle_detail", args=[side.vehicle.pk]),
            reverse("web:vehicle_edit", args=[side.vehicle.pk]),
            reverse("web:compound_detail", args=[side.compound.pk]),
            reverse("web:place_tree_children") + f"?kind=unit&id={side.unit.pk}",
        ]
    for entry in audit_entries(user)[:80]:
        urls.append(reverse("web:audit_detail", args=[entry.pk]))
    return urls


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_a_clear_id_or_phone_number(district, client_for, role):
    user = district.a.users[role]
    client = client_for(user)
    for url in every_page(district, user):
        html = client.get(url).content.decode()
        for value in clear_values():
            assert value not in html, (role, url)


def test_the_person_page_shows_masked_values(district, client_for):
    html = client_for(district.a.users["guard"]).get(
        reverse("web:person_detail", args=[district.a.owner.pk])).content.decode()
    assert district.a.owner.id_masked in html
    assert district.a.owner.phone_masked in html
    assert "显示完整信息" not in html


def test_a_manager_reveals_a_person_and_the_look_is_audited(district, client_for):
    client = client_for(district.a.users["property_manager"])
    owner = district.a.owner
    page = client.get(reverse("web:person_detail", args=[owner.pk])).content.decode()
    assert "显示完整信息" in page
    response = client.post(reverse("web:person_reveal", args=[owner.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert ID_NUMBERS["a_owner"] in html and PHONES["a_owner"] in html
    assert "<html" not in html  # an htmx fragment, not a page
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    entry = AuditEntry.objects.filter(action=AuditAction.REVEAL, object_id=str(owner.pk)).get()
    assert entry.actor == "property_manager_a"
    assert ID_NUMBERS["a_owner"] not in str(entry.after)


def test_reveal_is_refused_without_the_permission_and_outside_the_scope(district, client_for):
    guard = client_for(district.a.users["guard"])
    response = guard.post(reverse("web:person_reveal", args=[district.a.owner.pk]))
    assert response.status_code == 403
    assert ID_NUMBERS["a_owner"] not in response.content.decode()
    manager = client_for(district.a.users["property_manager"])
    assert manager.post(reverse("web:person_reveal", args=[district.b.owner.pk])).status_code == 404
    assert manager.get(reverse("web:person_reveal", args=[district.a.owner.pk])).status_code == 405
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_exact_lookup_by_id_number_is_posted_and_not_echoed(district, client_for):
    client = client_for(district.a.users["property_manager"])
    response = client.post(reverse("web:person_lookup"), {"id_number": ID_NUMBERS["a_family"]})
    html = response.content.decode()
    assert response.status_code == 200
    assert "A家属" in html and "A业主" not in html
    assert ID_NUMBERS["a_family"] not in html
    by_phone = client.post(reverse("web:person_lookup"), {"phone": PHONES["a_owner"]}).content.decode()
    assert "A业主" in by_phone and PHONES["a_owner"] not in by_phone
    other_side = client.post(reverse("web:person_lookup"), {"id_number": ID_NUMBERS["b_owner"]}).content.decode()
    assert "B业主" not in other_side
    assert client.post(reverse("web:person_lookup"), {}).status_code == 400
