"""Walk-ins: the guard registers, the household answers within ten minutes or the visit expires,
and nobody else answers for the house."""

import datetime as dt

import pytest

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.notify.models import Delivery, Notification
from linli.visitors import services


def _walk_in(district, side="a", **extra):
    s = getattr(district, side)
    fields = {"visitor_name": "李师傅", "visitor_phone": "13500135000", "purpose": "送家具", **extra}
    return services.register_walk_in(actor=s.users["guard"], house=s.house, **fields)


def test_a_walk_in_waits_for_the_host_who_admits_and_the_booth_is_told(district, clock):
    visit = _walk_in(district)
    assert visit.status == "pending_host" and visit.answer_by == clock.at + dt.timedelta(minutes=10)
    asked = Notification.objects.get(dedupe_key=f"visit:{visit.pk}:ask")
    assert Delivery.objects.filter(notification=asked, recipient=district.a.users["resident"]).exists()
    assert "13500135000" not in asked.body and "李师傅" not in asked.body
    clock.advance(minutes=9)
    done = services.answer_walk_in(actor=district.a.users["resident"], visit=visit, admit=True)
    assert done.status == "admitted" and done.answered_by == district.a.users["resident"]
    told = Notification.objects.get(dedupe_key=f"visit:{visit.pk}:answer")
    assert Delivery.objects.filter(notification=told, recipient=district.a.users["guard"]).exists()


def test_a_host_may_refuse_and_cannot_answer_twice(district, clock):
    visit = _walk_in(district)
    assert services.answer_walk_in(actor=district.a.users["resident"], visit=visit, admit=False).status == "refused"
    with pytest.raises(Conflict):
        services.answer_walk_in(actor=district.a.users["resident"], visit=visit, admit=True)


def test_a_walk_in_nobody_answers_expires_after_ten_minutes(district, clock):
    visit = _walk_in(district)
    assert services.expire_walk_ins(now=clock.at + dt.timedelta(minutes=9, seconds=59)) == 0
    clock.advance(minutes=10)
    with pytest.raises(Conflict):
        services.answer_walk_in(actor=district.a.users["resident"], visit=visit, admit=True)
    assert services.expire_walk_ins(now=clock.at) == 1
    assert services.expire_walk_ins(now=clock.at) == 0
    visit.refresh_from_db()
    assert visit.status == "expired"
    assert Notification.objects.filter(dedupe_key=f"visit:{visit.pk}:expired").exists()


def test_a_resident_of_another_house_cannot_answer_its_walk_ins(district, clock):
    visit = _walk_in(district)
    with pytest.raises(NotFound):
        services.answer_walk_in(actor=district.b.users["resident"], visit=visit, admit=True)
    with pytest.raises(Forbidden):
        services.answer_walk_in(actor=district.a.users["guard"], visit=visit, admit=True)
    neighbours_visit = services.register_walk_in(actor=district.a.users["guard"], house=district.a.other_house,
                                                 visitor_name="访客")
    with pytest.raises(NotFound):
        services.answer_walk_in(actor=district.a.users["resident"], visit=neighbours_visit, admit=True)


def test_only_staff_of_the_compound_register_walk_ins(district, clock):
    with pytest.raises(NotFound):
        services.register_walk_in(actor=district.b.users["guard"], house=district.a.house, visitor_name="访客")
    with pytest.raises((Forbidden, NotFound)):
        services.register_walk_in(actor=district.a.users["technician"], house=district.a.house, visitor_name="访客")
    with pytest.raises((Forbidden, NotFound)):
        services.register_walk_in(actor=district.a.users["resident"], house=district.a.house, visitor_name="访客")
