"""Exporting lists: only rows the user may see, personal data masked, every export in the audit log."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.errors import Forbidden, NotFound
from linli.core.models import AuditAction, AuditEntry
from linli.core.testing import ID_NUMBERS, PHONES
from linli.exchange.selectors import EXPORT_LISTS
from linli.exchange.services import export_list
from linli.exchange.tests.sheets import all_text, read_cells
from linli.people import services as people
from linli.people.identity import IdType, mainland_id_check_char


def export(user, name, **params) -> bytes:
    return export_list(actor=user, name=name, params=params).file.read()


def assert_no_clear_personal_data(text: str) -> None:
    for value in [*ID_NUMBERS.values(), *PHONES.values()]:
        assert value not in text
        assert value.lower() not in text


@pytest.mark.parametrize("name", sorted(EXPORT_LISTS))
def test_every_list_exports_masked_values_only_for_a_platform_admin(district, name):
    # Let clear values reach the audit log's free text, where a careless export would copy them.
    people.update_person(actor=district.admin, person=district.a.owner, note=f"电话{PHONES['a_owner']}")

    text = all_text(export(district.admin, name))

    assert_no_clear_personal_data(text)


def test_person_exports_hold_masked_numbers_and_only_rows_in_scope(district):
    manager = district.a.users["property_manager"]

    persons = read_cells(export(manager, "persons"))
    residencies = all_text(export(manager, "residencies"))
    vehicles = all_text(export(manager, "vehicles"))

    header, *rows = persons
    assert header[:7] == ["小区编码", "小区名称", "姓名", "性别", "证件类型", "证件号码", "手机号"]
    assert sorted(r[2] for r in rows) == ["A业主", "A家属"]
    owner = next(r for r in rows if r[2] == "A业主")
    assert owner[5] == district.a.owner.id_masked == ID_NUMBERS["a_owner"][:4] + "*" * 10 + ID_NUMBERS["a_owner"][-4:]
    assert owner[6] == "138****8001"
    for text in (all_text(export(manager, "persons")), residencies, vehicles):
        assert_no_clear_personal_data(text)
        assert "B业主" not in text
    assert "A业主" in residencies and "业主" in residencies
    assert "鲁B12345" in vehicles and "鲁BD12345" not in vehicles


def test_an_export_uses_the_list_filters(district):
    admin = district.admin
    b = district.b.compound

    houses = read_cells(export(admin, "houses", compound_id=str(b.pk)))
    persons = read_cells(export(admin, "persons", id_number=ID_NUMBERS["b_family"]))

    assert {row[0] for row in houses[1:]} == {b.code}
    assert len(houses) == 3
    assert [row[2] for row in persons[1:]] == ["B家属"]


def test_each_export_is_audited_per_compound_without_the_clear_values_searched_for(district):
    manager = district.a.users["property_manager"]
    before = AuditEntry.objects.count()

    export(manager, "persons", id_number=ID_NUMBERS["a_owner"])
    export(district.admin, "houses")

    entries = list(AuditEntry.objects.filter(action=AuditAction.EXPORT).order_by("id"))
    assert AuditEntry.objects.count() == before + 3
    first, *houses = entries
    assert (first.compound_id, first.user_id, first.object_type) == (district.a.compound.pk, manager.pk,
                                                                     "places.compound")
    assert first.after["export"] == "persons"
    assert first.after["rows"] == 1
    assert first.after["filters"] == {"id_number": district.a.owner.id_masked}
    assert ID_NUMBERS["a_owner"] not in str(first.after)
    assert sorted((e.compound_id, e.after["rows"]) for e in houses) == sorted(
        [(district.a.compound.pk, 2), (district.b.compound.pk, 2)])
    # Each side's manager finds the export of their compound in their own audit log.
    assert AuditEntry.objects.restrict(manager).filter(action=AuditAction.EXPORT).count() == 2


def test_an_export_of_rows_outside_any_compound_is_logged_against_the_user(district):
    export(district.admin, "organisations")
    entry = AuditEntry.objects.filter(action=AuditAction.EXPORT).get()
    assert (entry.object_type, entry.object_id, entry.compound_id) == ("accounts.user", str(district.admin.pk), None)
    assert entry.after["rows"] >= 2


def test_personal_lists_need_the_export_permission(district):
    guard = district.a.users["guard"]
    for name in ("persons", "residencies", "vehicles", "audit"):
        with pytest.raises(Forbidden):
            export_list(actor=guard, name=name, params={})
    assert len(read_cells(export(guard, "buildings"))) == 2  # header and building 3 of side a
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT, user_id=guard.pk,
                                         after__export="persons").exists()


def test_an_unknown_list_or_a_bad_filter_is_refused(district):
    with pytest.raises(NotFound):
        export_list(actor=district.admin, name="secrets", params={})
    with pytest.raises(ValidationError) as exc:
        export_list(actor=district.admin, name="houses", params={"compound_id": "abc"})
    assert "compound_id" in exc.value.message_dict


@pytest.mark.parametrize("name", ["persons", "residencies", "vehicles", "houses", "audit"])
def test_export_queries_do_not_grow_with_the_rows(district, name):
    admin = district.admin
    with CaptureQueriesContext(connection) as few:
        export(admin, name)
    for n in range(30):
        first17 = f"37028119900101{n:03d}"
        person = people.create_person(actor=admin, compound=district.a.compound, name=f"新{n}",
                                      id_type=IdType.MAINLAND_ID, id_number=first17 + mainland_id_check_char(first17))
        people.add_residency(actor=admin, person=person, house=district.a.other_house, role="family",
                             since=district.a.residency.since)
    with CaptureQueriesContext(connection) as many:
        export(admin, name)
    assert len(many) <= len(few) + 2
