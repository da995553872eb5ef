"""Test helpers: a small two-of-everything district built through the real services.

Two streets, each with a community and a compound; two property companies; two
households; one account per role on each side. Tests use `side_a` / `side_b` to
prove nothing crosses between them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from linli.core.context import ChangeContext, change_context

# Valid mainland IDs (GB 11643 checksums) and phones reserved for tests and privacy scans.
ID_NUMBERS = {
    "a_owner": "370281198503127714",
    "a_family": "37028119870621002X",
    "b_owner": "370203196002288839",
    "b_family": "370203199210105147",
    "a_neighbour": "370281197705060012",
}
PHONES = {"a_owner": "13800138001", "a_family": "13800138002", "b_owner": "13900139001",
          "b_family": "13900139002", "a_neighbour": "13700137001"}
PASSWORD = "linli-test-pass"  # noqa: S105 - fixture password


@dataclass
class Side:
    street: Any = None
    community: Any = None
    grid: Any = None
    compound: Any = None
    company: Any = None
    building: Any = None
    unit: Any = None
    house: Any = None
    other_house: Any = None
    owner: Any = None
    family: Any = None
    vehicle: Any = None
    residency: Any = None
    real_unit: Any = None
    consent: Any = None
    device: Any = None
    event: Any = None
    dead_letter: Any = None
    alarm: Any = None
    rule: Any = None
    rule_run: Any = None
    command: Any = None
    users: dict[str, Any] = field(default_factory=dict)
    # Billing and work orders: filled by `add_billing_and_work_orders` (not by `build_district`,
    # so the billing and work-order tests keep counting only what they make themselves).
    fee_item: Any = None
    bill: Any = None
    payment: Any = None
    refund: Any = None
    category: Any = None
    work_order: Any = None


@dataclass
class District:
    province: Any
    city: Any
    district: Any
    a: Side
    b: Side
    admin: Any
    city_admin: Any


def _fix_check(first17: str) -> str:
    from linli.people.identity import mainland_id_check_char

    return first17 + mainland_id_check_char(first17)


def build_district() -> District:
    from linli.accounts import services as accounts
    from linli.accounts.models import AccountKind, User
    from linli.accounts.roles import Role
    from linli.people import services as people
    from linli.people.identity import IdType
    from linli.people.models import OrganisationKind
    from linli.places import services as places

    for key, value in list(ID_NUMBERS.items()):
        ID_NUMBERS[key] = _fix_check(value[:17])

    with change_context(ChangeContext(source="test", actor="test")):
        admin = accounts.create_superuser(username="admin", password=PASSWORD)
        province = places.create_region(actor=admin, level="province", code="370000", name="山东省")
        city = places.create_region(actor=admin, level="city", code="370200", name="青岛市", parent=province)
        district = places.create_region(actor=admin, level="district", code="370281", name="胶州市", parent=city)
        sides = {}
        for tag, street_code, street_name in (("a", "370281001", "阜安街道"), ("b", "370281002", "中云街道")):
            s = Side()
            s.street = places.create_region(actor=admin, level="street", code=street_code, name=street_name,
                                            parent=district)
            s.community = places.create_region(actor=admin, level="community", code=street_code + "001",
                                               name=f"{street_name[:2]}社区", parent=s.street)
            s.grid = places.create_grid(actor=admin, community=s.community, code=f"G{street_code}01",
                                        name=f"{street_name[:2]}一网格")
            s.company = people.create_organisation(actor=admin, kind=OrganisationKind.PROPERTY_COMPANY,
                                                   name=f"{street_name[:2]}物业公司", region=s.street)
            s.compound = places.create_compound(actor=admin, community=s.community, name=f"{street_name[:2]}小区",
                                                grid=s.grid, property_company=s.company, year_built=1995)
            s.building = places.create_building(actor=admin, compound=s.compound, number="3", floors_above=6,
                                                unit_count=2)
            s.unit = s.building.units.get(number="2")
            s.house = places.create_house(actor=admin, unit=s.unit, number="501", floor=5, built_area="86.50")
            s.other_house = places.create_house(actor=admin, unit=s.unit, number="502", floor=5,
                                                built_area="90.00")
            s.owner = people.create_person(actor=admin, compound=s.compound, name=f"{tag.upper()}业主",
                                           id_type=IdType.MAINLAND_ID, id_number=ID_NUMBERS[f"{tag}_owner"],
                                           phone=PHONES[f"{tag}_owner"])
            s.family = people.create_person(actor=admin, compound=s.compound, name=f"{tag.upper()}家属",
                                            id_type=IdType.MAINLAND_ID, id_number=ID_NUMBERS[f"{tag}_family"],
                                            phone=PHONES[f"{tag}_family"])
            since = dt.date(2015, 1, 1)
            s.residency = people.add_residency(actor=admin, person=s.owner, house=s.house, role="owner", since=since)
            people.add_residency(actor=admin, person=s.family, house=s.house, role="family", since=since)
            s.vehicle = people.register_vehicle(actor=admin, compound=s.compound,
                                                plate="鲁B12345" if tag == "a" else "鲁BD12345",
                                                owner=s.owner, house=s.house)
            s.real_unit = people.create_real_unit(actor=admin, compound=s.compound, name=f"{tag.upper()}便利店",
                                                  credit_code=_uscc(f"91370281MA3C{tag.upper()}0001"))
            s.consent = people.record_consent(actor=admin, person=s.owner, purpose="face_access",
                                              scope="3号楼2单元门禁")
            _add_device(s, admin, tag)
            grants = {
                Role.STREET_OFFICER: {"region": s.street},
                Role.COMMUNITY_OFFICER: {"region": s.community},
                Role.GRID_WORKER: {"grid": s.grid},
                Role.PROPERTY_MANAGER: {"organisation": s.company},
                Role.GUARD: {"compound": s.compound},
                Role.TECHNICIAN: {"compound": s.compound},
                Role.CASHIER: {"compound": s.compound},
                Role.CUSTOMER_SERVICE: {"compound": s.compound},
                Role.INTEGRATOR: {"compound": s.compound},
            }
            for role, node in grants.items():
                user = User.objects.create_user(username=f"{role}_{tag}", password=PASSWORD,
                                                kind=AccountKind.STAFF)
                accounts.grant_role(actor=admin, user=user, role=role, **node)
                s.users[str(role)] = user
            s.users["resident"] = accounts.create_resident_account(actor=admin, person=s.owner)
            sides[tag] = s
        city_admin = User.objects.create_user(username="city_admin", password=PASSWORD, kind=AccountKind.STAFF)
        accounts.grant_role(actor=admin, user=city_admin, role=Role.CITY_ADMIN, region=city)
    return District(province, city, district, sides["a"], sides["b"], admin, city_admin)


def add_billing_and_work_orders(d: District) -> District:
    """On each side: a fee item billed for January 2020 (both houses), a cash payment with a little
    prepaid for the house's bill, a pending refund of it, a grab category and an accepted order the
    resident reported. Made once per district, through the real services."""
    from linli.billing import payments
    from linli.billing import services as billing
    from linli.workorders import services as workorders

    if d.a.fee_item is not None:
        return d
    with change_context(ChangeContext(source="test", actor="test")):
        for tag, s in (("a", d.a), ("b", d.b)):
            manager, cashier = s.users["property_manager"], s.users["cashier"]
            s.fee_item = billing.create_fee_item(actor=manager, compound=s.compound, name="公共照明费",
                                                 kind="fixed_monthly", amount_fen=1500)
            run = billing.run_bills(actor=manager, compound=s.compound, fee_item=s.fee_item, period="2020-01")
            s.bill = next(b for b in run.bills if b.house_id == s.house.pk)
            s.payment = payments.record_cash_payment(actor=cashier, bills=[s.bill], amount_fen=2000,
                                                     note=f"{tag.upper()}现金")
            s.bill.refresh_from_db()
            s.refund = payments.request_refund(actor=cashier, payment=s.payment, amount_fen=300, reason="多缴退回")
            # The longest deadline there is: no SLA job in another test ever reaches this order.
            s.category = workorders.create_category(actor=manager, compound=s.compound, code="corridor-light",
                                                    kind="repair", name="楼道照明", deadline_minutes=90 * 24 * 60,
                                                    dispatch_mode="grab")
            order = workorders.submit(actor=s.users["resident"], compound=s.compound, category=s.category,
                                      title="楼道灯不亮", house=s.house, contact_phone=PHONES[f"{tag}_owner"])
            s.work_order = workorders.accept(actor=manager, order=order)
    return d


def _add_device(s: Side, admin: Any, tag: str) -> None:
    """A smoke detector in unit 2 with one stored alarm, and one dead letter from it."""
    from django.utils import timezone

    from linli.devices import catalogue
    from linli.devices import services as devices
    from linli.devices.models import DeviceType
    from linli.events import types
    from linli.events.models import Event
    from linli.events.pipeline import Incoming, dead_letter, store

    # Transactional tests flush every table, the shipped catalogue of device types included.
    catalogue.install(DeviceType)
    s.device = devices.register_device(actor=admin, compound=s.compound,
                                       device_type=DeviceType.objects.get(code="smoke-nbiot"),
                                       serial=f"86{tag}0000000001", name=f"{tag.upper()}烟感", building=s.building,
                                       unit=s.unit, floor=5)
    store([Incoming(s.device.pk, s.compound.pk, types.SMOKE_ALARM, f"{tag}-1", timezone.now(), {"state": "alarm"})])
    s.event = Event.objects.get(device=s.device)
    s.dead_letter = dead_letter(source="http:nbiot_webhook", reason="payload not understood", raw="{}",
                                device_id=s.device.pk, compound_id=s.compound.pk)
    from linli.alarms.services import raise_alarm

    s.alarm, _ = raise_alarm(compound_id=s.compound.pk, source=f"rule:fire-lane-{tag}", type="fire_lane",
                             severity="warning", title="消防通道占用", life_safety=False)
    _add_rule(s, admin, tag)


def _add_rule(s: Side, admin: Any, tag: str) -> None:
    """A disabled fire-lane rule with one traced run, and a command that found no down channel."""
    from django.utils import timezone

    from linli.automations import services as automations
    from linli.automations.models import RuleRun
    from linli.devices.models import CommandStatus, DeviceCommand

    s.rule = automations.install_template(actor=admin, compound=s.compound, key="fire_lane", enabled=False,
                                          name=f"{tag.upper()}消防通道")
    s.rule_run = RuleRun.objects.create(compound=s.compound, rule=s.rule, at=timezone.now(), event=s.event,
                                        subject=s.device.code, outcome="conditions_failed")
    now = timezone.now()
    s.command = DeviceCommand.objects.create(compound=s.compound, device=s.device, command_id=f"{tag}cmd0001",
                                             name="self_test", status=CommandStatus.FAILED, created_at=now,
                                             expires_at=now, detail="no down channel")


def _uscc(first17: str) -> str:
    from linli.people.identity import uscc_check_char

    return first17[:17] + uscc_check_char(first17[:17])


def at_once(work: Any, args: list[Any], *, timeout_s: float = 120.0) -> list[Any]:
    """Call `work(arg)` for every arg, each in its own thread, all released at the same moment (a
    race on purpose); returns the results in the order of `args`. Each thread closes its database
    connection. An exception in a thread is raised here once every thread has ended."""
    import threading

    from django.db import connection

    start = threading.Barrier(len(args))
    results: list[Any] = [None] * len(args)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(args[i])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    if errors:
        raise errors[0]
    return results
