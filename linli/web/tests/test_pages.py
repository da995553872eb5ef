"""Every console page renders for every role, within scope; out-of-scope records are 404."""

import pytest
from django.urls import reverse

ROLES = ["street_officer", "community_officer", "grid_worker", "property_manager", "guard", "technician",
         "cashier", "customer_service", "integrator", "resident"]

LISTS = ["web:home", "web:place_tree", "web:compound_list", "web:building_list", "web:house_list",
         "web:person_list", "web:organisation_list", "web:realunit_list", "web:vehicle_list", "web:audit_list"]


def detail_urls(side):
    return [
        reverse("web:compound_detail", args=[side.compound.pk]),
        reverse("web:building_detail", args=[side.building.pk]),
        reverse("web:house_detail", args=[side.house.pk]),
        reverse("web:person_detail", args=[side.owner.pk]),
        reverse("web:organisation_detail", args=[side.company.pk]),
        reverse("web:realunit_detail", args=[side.real_unit.pk]),
        reverse("web:vehicle_detail", args=[side.vehicle.pk]),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_with_a_page_or_a_refusal(district, client_for, role):
    client = client_for(district.a.users[role])
    for name in LISTS:
        response = client.get(reverse(name))
        assert response.status_code in (200, 403), (name, response.status_code)
    for url in detail_urls(district.a):
        response = client.get(url)
        assert response.status_code in (200, 403, 404), (url, response.status_code)


def test_the_property_manager_sees_the_whole_of_their_compound(district, client_for):
    client = client_for(district.a.users["property_manager"])
    for url in detail_urls(district.a):
        assert client.get(url).status_code == 200, url
    home = client.get(reverse("web:home")).content.decode()
    assert "邻里" in home and "物业经理" in home


def test_a_property_manager_cannot_open_the_other_streets_records(district, client_for):
    client = client_for(district.a.users["property_manager"])
    for url in detail_urls(district.b):
        if "organisations" in url:
            continue
        assert client.get(url).status_code == 404, url
    b_compound = reverse("web:compound_detail", args=[district.b.compound.pk])
    assert "中云小区" not in client.get(b_compound).content.decode()


def test_lists_show_only_records_in_scope(district, client_for):
    client = client_for(district.a.users["property_manager"])
    persons = client.get(reverse("web:person_list")).content.decode()
    assert "A业主" in persons and "B业主" not in persons
    houses = client.get(reverse("web:house_list")).content.decode()
    assert "阜安小区3号楼2单元501室" in houses and "中云小区" not in houses


def test_the_technician_is_refused_the_person_pages(district, client_for):
    client = client_for(district.a.users["technician"])
    assert client.get(reverse("web:person_list")).status_code == 403
    assert client.get(reverse("web:person_detail", args=[district.a.owner.pk])).status_code == 403
    nav = client.get(reverse("web:home")).content.decode()
    assert reverse("web:person_list") not in nav


def test_pages_need_a_login(client, district):
    response = client.get(reverse("web:person_list"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_edit_buttons_follow_the_scope(district, client_for):
    url = reverse("web:person_detail", args=[district.a.owner.pk])
    edit = reverse("web:person_edit", args=[district.a.owner.pk])
    assert edit in client_for(district.a.users["property_manager"]).get(url).content.decode()
    assert edit not in client_for(district.a.users["guard"]).get(url).content.decode()
    assert client_for(district.a.users["guard"]).get(edit).status_code == 403


def test_the_place_tree_opens_one_level_per_request(district, client_for):
    client = client_for(district.a.users["property_manager"])
    children = reverse("web:place_tree_children")
    page = client.get(reverse("web:place_tree")).content.decode()
    assert "山东省" in page
    for kind, node, expected in [
        ("region", district.a.community, "阜安小区"),
        ("compound", district.a.compound, "3号楼"),
        ("building", district.a.building, "2单元"),
        ("unit", district.a.unit, reverse("web:house_detail", args=[district.a.house.pk])),
    ]:
        response = client.get(children, {"kind": kind, "id": node.pk})
        assert response.status_code == 200
        assert expected in response.content.decode()
    street_b = client.get(children, {"kind": "region", "id": district.b.street.pk})
    assert street_b.status_code == 404
    assert client.get(children, {"kind": "compound", "id": district.b.compound.pk}).status_code == 404
