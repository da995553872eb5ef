"""Dispatch: assignment to technicians only, grab (first one wins, also concurrently), round robin
with a durable turn, and automatic choice by skill and load."""


import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from linli.core.errors import Conflict
from linli.core.testing import at_once
from linli.workorders import selectors, services
from linli.workorders.models import Category, WorkOrder
from linli.workorders.tests.factories import category, leaking_pipe, technician


def _accepted(district, cat, n=1):
    cs = district.a.users["customer_service"]
    return [services.accept(actor=cs, order=leaking_pipe(district, cat)) for _ in range(n)]


def test_an_order_is_assigned_only_to_a_technician_of_its_compound(district):
    cs = district.a.users["customer_service"]
    (order,) = _accepted(district, category(district))
    for wrong in (district.a.users["guard"], district.b.users["technician"]):
        with pytest.raises(ValidationError, match="维修师傅"):
            services.assign(actor=cs, order=order, assignee=wrong)
    assert services.assign(actor=cs, order=order, assignee=district.a.users["technician"]).status == "assigned"


def test_two_technicians_grab_the_same_order_and_the_first_wins(district):
    first, second = district.a.users["technician"], technician(district)
    (order,) = _accepted(district, category(district, dispatch_mode="grab"))
    assert list(selectors.grab_pool(second)) == [order]
    services.grab(actor=first, order=order)
    with pytest.raises(Conflict):
        services.grab(actor=second, order=WorkOrder.objects.get(pk=order.pk))
    order.refresh_from_db()
    assert order.assignee == first and list(selectors.grab_pool(second)) == []
    assert order.steps.filter(action="grab").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_grabs_on_postgresql_leave_exactly_one_winner(district):
    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrency are a PostgreSQL matter; SQLite has one writer")
    techs = [district.a.users["technician"], *(technician(district, name=f"grabber{i}") for i in range(5))]
    (order,) = _accepted(district, category(district, dispatch_mode="grab"))

    def grab(user):
        try:
            services.grab(actor=user, order=WorkOrder.objects.get(pk=order.pk))
            return "won"
        except Conflict:
            return "lost"

    outcomes = at_once(grab, techs)
    assert sorted(outcomes) == ["lost"] * (len(techs) - 1) + ["won"]
    order.refresh_from_db()
    assert order.assignee in techs and order.steps.filter(action="grab").count() == 1


def test_an_order_of_an_assign_category_cannot_be_grabbed(district):
    (order,) = _accepted(district, category(district))
    with pytest.raises(ValidationError, match="抢单"):
        services.grab(actor=district.a.users["technician"], order=order)


def test_round_robin_alternates_between_the_categorys_technicians_and_remembers_the_turn(district):
    first, second = district.a.users["technician"], technician(district)
    cat = category(district, dispatch_mode="round_robin")
    orders = _accepted(district, cat, n=3)
    assert [o.assignee for o in orders] == [first, second, first]
    assert all(o.status == "assigned" for o in orders)
    assert Category.objects.get(pk=cat.pk).last_assignee == first
    (fourth,) = _accepted(district, Category.objects.get(pk=cat.pk))
    assert fourth.assignee == second


def test_automatic_dispatch_picks_a_skilled_technician_with_the_least_open_work(district):
    manager = district.a.users["property_manager"]
    unskilled, plumber, other_plumber = district.a.users["technician"], technician(district), technician(district, name="t3")
    for user in (plumber, other_plumber):
        services.add_skill(actor=manager, compound=district.a.compound, user=user, skill="plumbing")
    cat = category(district, dispatch_mode="skill", required_skill="plumbing")
    orders = _accepted(district, cat, n=3)
    assert unskilled not in [o.assignee for o in orders]
    assert [o.assignee for o in orders] == [plumber, other_plumber, plumber]


def test_a_skill_is_given_only_to_a_technician(district):
    with pytest.raises(ValidationError, match="维修师傅"):
        services.add_skill(actor=district.a.users["property_manager"], compound=district.a.compound,
                           user=district.a.users["guard"], skill="plumbing")


def test_transfer_and_return_move_the_order_between_technicians_and_back_to_the_pool(district):
    cs, first, second = district.a.users["customer_service"], district.a.users["technician"], technician(district)
    (order,) = _accepted(district, category(district, dispatch_mode="grab"))
    services.grab(actor=first, order=order)
    order = services.transfer(actor=cs, order=order, assignee=second, note="一号师傅请假")
    assert order.assignee == second and order.status == "assigned"
    with pytest.raises(ValidationError, match="退回原因"):
        services.return_to_pool(actor=second, order=order, note="")
    order = services.return_to_pool(actor=second, order=order, note="缺少配件")
    assert order.status == "accepted" and order.assignee is None
    assert list(selectors.grab_pool(first)) == [order]
    assert [s.action for s in order.steps.all()][-3:] == ["grab", "transfer", "return"]
