"""The audit log: complete (bulk included), scoped, and tamper-evident."""

import pytest
from django.db import connection

from linli.core import audit
from linli.core.models import AuditEntry
from linli.core.services import bulk_create_audited
from linli.places import addresses
from linli.places.models import House


def _without_guards(sql: str, params: list) -> None:
    """What an attacker with database admin rights could do: drop the guard and edit a row."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER core_auditentry_no_update")
        else:
            cur.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_change")
        cur.execute(sql, params)


def test_bulk_writes_are_audited_row_by_row(district):
    a = district.a
    before = AuditEntry.objects.count()
    from django.db import transaction

    with transaction.atomic():
        houses = [House(compound=a.compound, building=a.building, unit=a.unit, number=f"6{i:02d}", floor=6,
                        built_area=70, address_code=addresses.house_code(a.unit, f"6{i:02d}"),
                        standard_address=addresses.house_address(a.unit, f"6{i:02d}")) for i in range(1, 6)]
        bulk_create_audited(House, houses)
    created = AuditEntry.objects.filter(action="create", object_type="places.house").order_by("-id")[:5]
    assert AuditEntry.objects.count() == before + 5
    assert {e.object_id for e in created} == {str(h.pk) for h in houses}
    assert audit.verify_chain().ok


def test_an_edited_entry_breaks_the_chain_where_it_was_edited(district):
    assert audit.verify_chain().ok
    target = AuditEntry.objects.order_by("id")[5]
    _without_guards("UPDATE core_auditentry SET actor = %s WHERE id = %s", ["mallory", target.id])
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_at == target.id


@pytest.mark.django_db(transaction=True)
def test_audit_entries_cannot_be_written_outside_a_transaction():
    with pytest.raises(RuntimeError):
        audit.record_created([House(number="1")])
    assert not AuditEntry.objects.exists()


def test_personal_fields_appear_only_masked_in_the_audit_log(district):
    entry = AuditEntry.objects.get(action="create", object_type="people.person", object_id=str(district.a.owner.pk))
    assert entry.after["id_masked"] == district.a.owner.id_masked
    assert "id_cipher" not in entry.after and "id_digest" not in entry.after


def test_staff_see_the_audit_log_of_their_own_compounds_only(district):
    manager = district.a.users["property_manager"]
    visible = AuditEntry.objects.restrict(manager)
    assert visible.filter(compound=district.a.compound).exists()
    assert not visible.filter(compound=district.b.compound).exists()
    assert not AuditEntry.objects.restrict(district.a.users["resident"]).exists()


def _house(a, number):
    return House(compound=a.compound, building=a.building, unit=a.unit, number=number, floor=7, built_area=70,
                 address_code=addresses.house_code(a.unit, number),
                 standard_address=addresses.house_address(a.unit, number))


def test_a_second_entry_in_the_same_transaction_needs_no_lock_and_a_rolled_back_one_is_not_chained_on(district):
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from linli.core.services import save_new

    a = district.a
    with transaction.atomic():
        save_new(_house(a, "701"))
        with CaptureQueriesContext(connection) as second:
            save_new(_house(a, "702"))
        reads = [q["sql"] for q in second.captured_queries if "core_auditentry" in q["sql"] or "advisory" in q["sql"]]
        assert len(reads) == 1 and reads[0].startswith("INSERT")  # the head is known: no lock, no look-up
        # An entry whose savepoint is rolled back is gone: the next one chains on the one before it.
        with pytest.raises(RuntimeError), transaction.atomic():
            save_new(_house(a, "703"))
            raise RuntimeError("the caller gives up")
        with CaptureQueriesContext(connection) as after:
            save_new(_house(a, "704"))
        assert any("ORDER BY" in q["sql"] and "core_auditentry" in q["sql"] for q in after.captured_queries)
    assert not House.objects.filter(number="703").exists()
    assert audit.verify_chain().ok
