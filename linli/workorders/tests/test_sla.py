"""SLA: the warning before the deadline, escalation property manager → community → street when
overdue (once per level, also when the job runs late), suspension stopping the clock, figures."""

import datetime as dt

from linli.notify.models import Notification
from linli.workorders import selectors, services, sla
from linli.workorders.models import WorkOrder
from linli.workorders.tests.factories import category, leaking_pipe

SLA = {"deadline_minutes": 60, "warning_minutes": 15, "escalation_interval_minutes": 30}


def _escalations(order):
    return list(order.steps.filter(action="escalate").values_list("details__level", flat=True))


def test_an_overdue_order_escalates_to_community_and_street_on_time_once_each(district):
    order = leaking_pipe(district, category(district, **SLA))
    t0 = order.submitted_at
    assert sla.escalate_due(t0 + dt.timedelta(minutes=44)) == {"warned": [], "escalated": []}
    assert sla.escalate_due(t0 + dt.timedelta(minutes=45)) == {"warned": [order.pk], "escalated": []}
    assert sla.escalate_due(t0 + dt.timedelta(minutes=59)) == {"warned": [], "escalated": []}
    assert sla.escalate_due(t0 + dt.timedelta(minutes=60))["escalated"] == [order.pk]
    assert sla.escalate_due(t0 + dt.timedelta(minutes=61))["escalated"] == []
    assert sla.escalate_due(t0 + dt.timedelta(minutes=90))["escalated"] == [order.pk]
    assert sla.escalate_due(t0 + dt.timedelta(minutes=120))["escalated"] == [order.pk]
    assert sla.escalate_due(t0 + dt.timedelta(days=3))["escalated"] == []  # the street is the top
    order.refresh_from_db()
    assert order.escalation_level == 3 and order.next_escalation_at is None and _escalations(order) == [1, 2, 3]
    told = {n.dedupe_key: n for n in Notification.objects.filter(source=f"workorder:{order.pk}")}
    assert len(told) == 4 and all(n.recipient_count >= 1 for n in told.values())


def test_a_job_that_runs_late_after_a_restart_escalates_exactly_what_fell_due(district):
    order = leaking_pipe(district, category(district, **SLA))
    t0 = order.submitted_at
    # The worker was down from before the warning until after the street level fell due.
    late = sla.escalate_due(t0 + dt.timedelta(minutes=100))
    assert late == {"warned": [order.pk], "escalated": [order.pk, order.pk]}
    assert sla.escalate_due(t0 + dt.timedelta(minutes=100)) == {"warned": [], "escalated": []}
    assert sla.escalate_due(t0 + dt.timedelta(minutes=130))["escalated"] == [order.pk]
    assert sla.escalate_due(t0 + dt.timedelta(minutes=500)) == {"warned": [], "escalated": []}
    order.refresh_from_db()
    assert _escalations(order) == [1, 2, 3] and order.steps.filter(action="warn").count() == 1


def test_a_category_that_escalates_one_level_stops_at_the_property_manager(district):
    order = leaking_pipe(district, category(district, escalation_levels=1, **SLA))
    sla.escalate_due(order.submitted_at + dt.timedelta(days=1))
    order.refresh_from_db()
    assert _escalations(order) == [1]


def test_a_finished_order_neither_warns_nor_escalates(district):
    a = district.a
    order = leaking_pipe(district, category(district, **SLA))
    services.accept(actor=a.users["customer_service"], order=order)
    services.assign(actor=a.users["customer_service"], order=order, assignee=a.users["technician"])
    services.start(actor=a.users["technician"], order=order)
    services.complete(actor=a.users["technician"], order=order)
    assert sla.escalate_due(order.submitted_at + dt.timedelta(days=1)) == {"warned": [], "escalated": []}


def test_suspending_stops_the_clock_and_resuming_moves_the_deadline_on(district, clock):
    cs = district.a.users["customer_service"]
    order = leaking_pipe(district, category(district, **SLA))
    deadline = order.deadline_at
    services.accept(actor=cs, order=order)
    clock.advance(minutes=10)
    services.suspend(actor=cs, order=order, reason="等待配件")
    assert sla.escalate_due(clock.at + dt.timedelta(hours=5)) == {"warned": [], "escalated": []}
    clock.advance(hours=3)
    order = services.resume(actor=cs, order=order)
    assert order.status == "accepted" and order.deadline_at == deadline + dt.timedelta(hours=3)
    assert sla.escalate_due(order.deadline_at - dt.timedelta(seconds=1))["escalated"] == []
    assert sla.escalate_due(order.deadline_at)["escalated"] == [order.pk]


def test_sla_figures_from_known_orders(district, clock):
    a = district.a
    cs, tech = a.users["customer_service"], a.users["technician"]
    cat = category(district, **SLA)
    start = clock.at
    on_time, late, waiting = (leaking_pipe(district, cat) for _ in range(3))
    for order, accept_after, done_after, rating in ((on_time, 10, 50, 5), (late, 30, 90, 3)):
        clock.at = start + dt.timedelta(minutes=accept_after)
        services.accept(actor=cs, order=order)
        services.assign(actor=cs, order=order, assignee=tech)
        services.start(actor=tech, order=order)
        clock.at = start + dt.timedelta(minutes=done_after)
        services.complete(actor=tech, order=order)
        services.follow_up(actor=cs, order=order, rating=rating)
    cancelled = leaking_pipe(district, cat)
    services.cancel(actor=a.users["resident"], order=cancelled)
    (figures,) = selectors.sla_figures(a.users["property_manager"], since=start - dt.timedelta(hours=1),
                                       until=start + dt.timedelta(hours=1))
    assert (figures.compound_id, figures.category_id) == (a.compound.pk, cat.pk)
    assert (figures.submitted, figures.finished, figures.on_time, figures.on_time_rate) == (3, 2, 1, 0.5)
    assert figures.mean_accept_s == 1200 and figures.mean_complete_s == 4200
    assert (figures.rated, figures.mean_rating, figures.satisfied_share) == (2, 4.0, 0.5)
    assert selectors.sla_figures(district.b.users["property_manager"], since=start - dt.timedelta(hours=1),
                                 until=start + dt.timedelta(hours=1)) == []
    assert WorkOrder.objects.get(pk=waiting.pk).status == "submitted"
