"""A work order's life: report, accept, dispatch, work, complete with photos, follow-up, close;
and the moves the state machine refuses."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from linli.core.errors import Forbidden
from linli.events import media
from linli.workorders import services
from linli.workorders.models import WorkOrder
from linli.workorders.tests.factories import category, leaking_pipe, photo_ref, technician


def test_a_residents_leaking_pipe_goes_from_report_to_closure_with_one_step_per_move(district):
    a = district.a
    cs, tech, resident = a.users["customer_service"], a.users["technician"], a.users["resident"]
    order = leaking_pipe(district, category(district), contact_phone="13800138001")
    assert order.channel == "portal" and order.reporter_person == a.owner and order.building == a.building
    services.accept(actor=cs, order=order)
    services.assign(actor=cs, order=order, assignee=tech)
    services.start(actor=tech, order=order)
    ref = photo_ref(a.compound.pk)
    media.save(ref, b"\xff\xd8 repaired pipe")
    try:
        services.complete(actor=tech, order=order, note="更换了三通", photos=[ref])
        services.follow_up(actor=resident, order=order, rating=5, comment="师傅很及时")
        services.close(actor=cs, order=order)
    finally:
        media.delete([ref])
    order = WorkOrder.objects.get(pk=order.pk)
    assert order.status == "closed" and order.rating == 5 and order.photos == [ref] and order.assignee == tech
    assert all((order.accepted_at, order.assigned_at, order.started_at, order.done_at, order.visited_at,
                order.closed_at))
    moves = [(s.action, s.from_status, s.to_status) for s in order.steps.all()]
    assert moves == [("submit", "", "submitted"), ("accept", "submitted", "accepted"),
                     ("assign", "accepted", "assigned"), ("start", "assigned", "in_progress"),
                     ("complete", "in_progress", "done"), ("visit", "done", "visited"),
                     ("close", "visited", "closed")]
    assert order.steps.get(action="complete").photos == [ref]


def test_the_contact_phone_is_sealed_and_shown_masked(district):
    order = leaking_pipe(district, category(district), contact_phone="13800138001")
    assert order.contact_phone_masked == "138****8001"
    assert "13800138001" not in order.contact_phone_cipher and order.contact_phone_plain() == "13800138001"


def test_an_illegal_move_is_refused_naming_the_current_state(district):
    cs = district.a.users["customer_service"]
    order = leaking_pipe(district, category(district))
    services.accept(actor=cs, order=order)
    with pytest.raises(ValidationError, match="已受理"):
        services.accept(actor=cs, order=order)
    with pytest.raises(ValidationError, match="已受理"):
        services.close(actor=cs, order=order)
    assert WorkOrder.objects.get(pk=order.pk).steps.count() == 2


def test_the_reporter_may_cancel_before_work_starts_but_not_after(district):
    a = district.a
    cat = category(district)
    early = leaking_pipe(district, cat)
    services.cancel(actor=a.users["resident"], order=early, reason="自己修好了")
    assert WorkOrder.objects.get(pk=early.pk).status == "cancelled"
    late = leaking_pipe(district, cat)
    services.accept(actor=a.users["customer_service"], order=late)
    services.assign(actor=a.users["customer_service"], order=late, assignee=a.users["technician"])
    services.start(actor=a.users["technician"], order=late)
    with pytest.raises(ValidationError, match="处理中"):
        services.cancel(actor=a.users["resident"], order=late)


def test_a_technician_works_only_orders_assigned_to_them_and_completion_needs_stored_photos(district):
    a = district.a
    cs, tech = a.users["customer_service"], a.users["technician"]
    other = technician(district)
    order = leaking_pipe(district, category(district))
    services.accept(actor=cs, order=order)
    services.assign(actor=cs, order=order, assignee=tech)
    with pytest.raises(Forbidden):
        services.start(actor=other, order=order)
    services.start(actor=tech, order=order)
    with pytest.raises(ValidationError, match="照片尚未上传"):
        services.complete(actor=tech, order=order, photos=[photo_ref(a.compound.pk)])
    with pytest.raises(ValidationError, match="照片引用无效"):
        services.complete(actor=tech, order=order, photos=["../etc/passwd"])


def test_a_paid_repair_needs_its_price_in_fen_and_a_free_one_refuses_a_price(district):
    a = district.a
    cs, tech = a.users["customer_service"], a.users["technician"]
    paid = leaking_pipe(district, category(district, code="paid-repair", name="有偿维修", paid=True))
    free = leaking_pipe(district, category(district))
    for order in (paid, free):
        services.accept(actor=cs, order=order)
        services.assign(actor=cs, order=order, assignee=tech)
        services.start(actor=tech, order=order)
    with pytest.raises(ValidationError, match="费用"):
        services.complete(actor=tech, order=paid)
    assert services.complete(actor=tech, order=paid, price_fen=8000).price_fen == 8000
    with pytest.raises(ValidationError, match="无偿"):
        services.complete(actor=tech, order=free, price_fen=100)


def test_a_done_order_reopens_within_the_window_and_not_after(district, clock):
    a = district.a
    cs, tech = a.users["customer_service"], a.users["technician"]
    cat = category(district, reopen_window_hours=48)
    order = leaking_pipe(district, cat)
    services.accept(actor=cs, order=order)
    services.assign(actor=cs, order=order, assignee=tech)
    services.start(actor=tech, order=order)
    services.complete(actor=tech, order=order)
    clock.advance(hours=47)
    reopened = services.reopen(actor=a.users["resident"], order=order, reason="又漏了")
    assert reopened.status == "accepted" and reopened.assignee is None and reopened.reopen_count == 1
    assert reopened.deadline_at == clock.at + dt.timedelta(minutes=240)
    services.assign(actor=cs, order=order, assignee=tech)
    services.start(actor=tech, order=order)
    services.complete(actor=tech, order=order)
    clock.advance(hours=49)
    with pytest.raises(ValidationError, match="期限"):
        services.reopen(actor=a.users["resident"], order=order, reason="还是漏")


def test_a_category_is_validated_data(district):
    with pytest.raises(ValidationError, match="预警时间"):
        category(district, code="bad", deadline_minutes=30, warning_minutes=30)
    with pytest.raises(ValidationError, match="所需技能"):
        category(district, code="bad2", dispatch_mode="skill")
    with pytest.raises(Forbidden):  # customer service files orders; only the manager sets categories
        services.create_category(actor=district.a.users["customer_service"], compound=district.a.compound,
                                 code="x", kind="repair", name="x", deadline_minutes=10)
