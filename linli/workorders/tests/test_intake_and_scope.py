"""Orders from automations (a device alarm's work-order action), and who sees which orders."""

import pytest
from django.core.exceptions import ValidationError

from linli.accounts import services as accounts
from linli.automations import actions
from linli.automations.actions import Cause
from linli.automations.schema import WorkOrder as WorkOrderAction
from linli.core.errors import Forbidden, NotFound
from linli.workorders import selectors, services
from linli.workorders.models import Category, WorkOrder
from linli.workorders.tests.factories import category, leaking_pipe


def _device_offline_action():
    return WorkOrderAction(do="work_order", category="device_repair", title="设备离线超过1小时，请检修",
                           deadline_minutes=120)


def test_a_device_alarms_work_order_action_files_one_order_even_when_delivered_twice(district):
    a = district.a
    assert services.file_from_automation in actions.WORK_ORDER_HANDLERS
    cause = Cause(event_id=a.event.pk)
    first = actions._work_order(a.rule, _device_offline_action(), a.device, cause)
    again = actions._work_order(a.rule, _device_offline_action(), a.device, cause)
    assert first["created"] and not again["created"] and first["work_order"] == again["work_order"]
    order = WorkOrder.objects.get(pk=first["work_order"])
    assert WorkOrder.objects.filter(compound=a.compound).count() == 1
    assert order.channel == "automation" and order.building == a.device.building and order.status == "submitted"
    assert (order.deadline_at - order.submitted_at).total_seconds() == 120 * 60
    created = Category.objects.get(compound=a.compound, code="device_repair")
    assert created.kind == "repair" and created.dispatch_mode == "grab" and created.deadline_minutes == 120
    assert order.steps.get().actor_label == "automation"


def test_an_automation_uses_the_compounds_own_category_when_it_has_one(district):
    a = district.a
    own = category(district, code="device_repair", name="设备报修", deadline_minutes=30)
    result = actions._work_order(a.rule, _device_offline_action(), a.device, Cause(event_id=a.event.pk))
    assert WorkOrder.objects.get(pk=result["work_order"]).category == own
    assert Category.objects.filter(compound=a.compound).count() == 1


def test_residents_see_only_their_own_orders(district):
    a = district.a
    mine = leaking_pipe(district, category(district))
    family = accounts.create_resident_account(actor=district.admin, person=a.family)
    assert list(selectors.work_orders(a.users["resident"])) == [mine]
    assert list(selectors.work_orders(family)) == []
    assert list(selectors.steps(a.users["resident"], mine)) == list(mine.steps.all())
    with pytest.raises(NotFound):
        selectors.work_order(family, mine.pk)
    with pytest.raises(NotFound):
        services.cancel(actor=family, order=mine)


def test_a_resident_reports_only_for_a_house_they_live_in(district):
    with pytest.raises(ValidationError, match="自己居住"):
        leaking_pipe(district, category(district), house=district.a.other_house)


def test_staff_of_compound_b_see_nothing_of_compound_a(district):
    order = leaking_pipe(district, category(district))
    for role, user in district.b.users.items():
        assert list(selectors.work_orders(user)) == [], role
        with pytest.raises(NotFound):
            selectors.work_order(user, order.pk)
    with pytest.raises(NotFound):
        services.accept(actor=district.b.users["customer_service"], order=order)
    for role in ("property_manager", "customer_service", "technician", "guard", "community_officer",
                 "street_officer"):
        assert list(selectors.work_orders(district.a.users[role])) == [order], role


def test_staff_file_on_someones_behalf_and_a_technician_cannot(district):
    a = district.a
    cat = category(district)
    order = services.submit(actor=a.users["guard"], compound=a.compound, category=cat, title="楼道灯不亮",
                            place="3号楼2单元楼道", channel="booth", reporter_person=a.owner)
    assert order.channel == "booth" and order.reporter_user is None
    assert list(selectors.work_orders(a.users["resident"])) == [order]  # the owner it was filed for sees it
    with pytest.raises(Forbidden):
        services.submit(actor=a.users["technician"], compound=a.compound, category=cat, title="x")
    with pytest.raises(ValidationError, match="渠道"):
        services.submit(actor=a.users["guard"], compound=a.compound, category=cat, title="x", channel="automation")
