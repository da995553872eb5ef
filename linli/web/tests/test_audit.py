"""The audit log pages: scoped, filterable, before/after side by side, chain check for admins."""

from django.urls import reverse

from linli.core.models import AuditEntry
from linli.people import services as people


def test_a_manager_sees_their_compounds_entries_only(district, client_for):
    client = client_for(district.a.users["property_manager"])
    page = client.get(reverse("web:audit_list"), {"object_type": "people.person"})
    assert page.status_code == 200
    entries = list(page.context["page"])
    assert entries and all(e.compound_id == district.a.compound.pk for e in entries)
    b_entry = AuditEntry.objects.filter(compound_id=district.b.compound.pk).first()
    assert client.get(reverse("web:audit_detail", args=[b_entry.pk])).status_code == 404


def test_roles_without_the_audit_permission_are_refused(district, client_for):
    assert client_for(district.a.users["guard"]).get(reverse("web:audit_list")).status_code == 403


def test_an_update_shows_before_and_after_side_by_side(district, client_for):
    manager = district.a.users["property_manager"]
    people.update_person(actor=manager, person=district.a.owner, name="A业主二")
    entry = AuditEntry.objects.filter(object_type="people.person", action="update").latest("id")
    client = client_for(manager)
    listing = client.get(reverse("web:audit_list"), {"action": "update", "actor": "", "object_type": "people.person",
                                                    "object_id": str(district.a.owner.pk)})
    assert [e.pk for e in listing.context["page"]] == [entry.pk]
    html = client.get(reverse("web:audit_detail", args=[entry.pk])).content.decode()
    assert "A业主" in html and "A业主二" in html
    assert 'class="changed"' in html
    assert reverse("web:person_detail", args=[district.a.owner.pk]) in html


def test_date_filters_are_whole_local_days(district, client_for):
    client = client_for(district.a.users["property_manager"])
    assert len(client.get(reverse("web:audit_list"), {"date_to": "2000-01-01"}).context["page"]) == 0
    assert len(client.get(reverse("web:audit_list"), {"date_from": "2000-01-01"}).context["page"]) > 0


def test_only_admins_get_the_chain_check_and_only_on_request(district, client_for):
    manager = client_for(district.a.users["property_manager"])
    assert "web:audit_verify" not in manager.get(reverse("web:audit_list")).content.decode()
    assert manager.post(reverse("web:audit_verify")).status_code == 403
    admin = client_for(district.city_admin)
    page = admin.get(reverse("web:audit_list")).content.decode()
    assert "校验" in page and "审计链完整" not in page
    report = admin.post(reverse("web:audit_verify"), HTTP_HX_REQUEST="true")
    assert report.status_code == 200 and "审计链完整" in report.content.decode()
    assert admin.get(reverse("web:audit_verify")).status_code == 405
