"""Personal data rights: reveal is permissioned and audited; export and erasure on request."""

import pytest

from linli.core.errors import Forbidden
from linli.core.models import AuditEntry
from linli.core.testing import ID_NUMBERS, PHONES
from linli.people import services
from linli.people.models import Person, Residency


def test_reveal_needs_the_permission_and_is_audited(district):
    manager = district.a.users["property_manager"]
    values = services.reveal_person(actor=manager, person=district.a.owner)
    assert values == {"id_number": ID_NUMBERS["a_owner"], "phone": PHONES["a_owner"]}
    entry = AuditEntry.objects.filter(action="reveal", object_id=str(district.a.owner.pk)).get()
    assert entry.actor == "property_manager_a"
    assert ID_NUMBERS["a_owner"] not in str(entry.after)
    with pytest.raises(Forbidden):
        services.reveal_person(actor=district.a.users["guard"], person=district.a.owner)


def test_a_resident_exports_their_own_data(district):
    resident = district.a.users["resident"]
    data = services.export_person_data(actor=resident, person=district.a.owner)
    assert data["id_number"] == ID_NUMBERS["a_owner"]
    assert data["residencies"][0]["house"].endswith("3号楼2单元501室")
    assert AuditEntry.objects.filter(action="export", object_id=str(district.a.owner.pk)).exists()


def test_erasure_removes_the_person_and_their_links_and_keeps_the_audit_trail(district):
    owner = district.a.owner
    pk = owner.pk
    services.erase_person(actor=district.a.users["property_manager"], person=owner, reason="本人申请注销")
    assert not Person.objects.filter(pk=pk).exists()
    assert not Residency.objects.filter(person_id=pk).exists()
    district.a.vehicle.refresh_from_db()
    assert district.a.vehicle.owner_id is None
    assert AuditEntry.objects.filter(action="erase", object_id=str(pk)).exists()
    assert AuditEntry.objects.filter(action="delete", object_type="people.person", object_id=str(pk)).exists()


def test_an_organisations_contact_phone_is_sealed_and_shown_masked(district):
    org = services.update_organisation(actor=district.admin, organisation=district.a.company,
                                       contact_phone="13312345678")
    org.refresh_from_db()
    assert org.contact_phone_masked == "133****5678"
    assert "13312345678" not in org.contact_phone_cipher
    entry = AuditEntry.objects.filter(object_type="people.organisation", action="update").latest("id")
    assert "13312345678" not in str(entry.after)
