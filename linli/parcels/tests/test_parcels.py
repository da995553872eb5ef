"""Parcels: registration tells the household, the code stays with the household, pickup against the
code (locked after repeated wrong codes), once only, return to the courier, and locker events."""

import pytest
from django.core.exceptions import ValidationError

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.models import AuditEntry
from linli.notify.models import Delivery, Notification
from linli.parcels import selectors, services
from linli.parcels.models import Parcel


def test_registering_a_parcel_tells_every_resident_of_the_house_but_not_the_code(district, parcel):
    notes = Notification.objects.filter(source=f"parcel:{parcel.pk}")
    assert notes.count() == 1
    note = notes.get()
    assert note.recipient_count >= 1 and parcel.pickup_code not in note.title + note.body
    recipients = set(Delivery.objects.filter(notification=note).values_list("recipient_id", flat=True))
    assert district.a.users["resident"].pk in recipients
    assert district.a.users["guard"].pk not in recipients


def test_a_parcels_code_is_shown_to_the_household_and_never_to_the_guard(district, parcel):
    resident, guard = district.a.users["resident"], district.a.users["guard"]
    assert len(parcel.pickup_code) == 6 and parcel.pickup_code.isdigit()
    assert selectors.pickup_code_for(resident, selectors.parcel(resident, parcel.pk)) == parcel.pickup_code
    assert selectors.pickup_code_for(guard, selectors.parcel(guard, parcel.pk)) == ""
    # Nor through the audit log the property manager reads.
    logged = AuditEntry.objects.filter(object_type="parcels.parcel", object_id=str(parcel.pk))
    assert logged.exists() and all(parcel.pickup_code not in str(e.after) for e in logged)


def test_only_the_last_four_of_a_tracking_number_are_kept_and_it_is_found_by_the_whole_number(district, parcel):
    assert parcel.tracking_last4 == "7890"
    assert not Parcel.objects.filter(tracking_digest__contains="SF1234").exists()
    guard = district.a.users["guard"]
    assert list(selectors.parcels(guard, tracking_no="sf1234567890")) == [parcel]
    assert list(selectors.parcels(guard, tracking_no="SF0000000000")) == []


def test_waiting_parcels_of_a_compound_never_share_a_code(district, guard):
    parcels = [services.register_parcel(actor=guard, house=district.a.house) for _ in range(30)]
    assert len({p.pickup_code for p in parcels}) == 30


def test_a_guard_hands_over_a_parcel_against_the_households_code(district, parcel, guard):
    done = services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code)
    assert done.status == "picked_up" and done.pickup_method == "code_at_booth" and done.picked_up_by == guard


def test_a_guard_without_the_code_cannot_hand_over(district, parcel, guard):
    with pytest.raises(ValidationError) as exc:
        services.confirm_pickup(actor=guard, parcel=parcel)
    assert "pickup_code" in exc.value.message_dict
    assert Parcel.objects.get(pk=parcel.pk).status == "waiting"


def test_a_wrong_code_five_times_locks_pickup_for_fifteen_minutes(district, parcel, guard, clock):
    wrong = "000000" if parcel.pickup_code != "000000" else "111111"
    for _attempt in range(5):
        with pytest.raises(ValidationError, match="取件码不正确"):
            services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=wrong)
    # Locked now: even the right code is refused until the lock runs out.
    with pytest.raises(ValidationError, match="错误次数过多"):
        services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code)
    clock.advance(minutes=14)
    with pytest.raises(ValidationError, match="错误次数过多"):
        services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code)
    clock.advance(minutes=1)
    assert services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code).status == "picked_up"


def test_four_wrong_codes_do_not_lock(district, parcel, guard):
    for _ in range(4):
        with pytest.raises(ValidationError):
            services.confirm_pickup(actor=guard, parcel=parcel, pickup_code="abcdef")
    assert Parcel.objects.get(pk=parcel.pk).locked_until is None
    assert services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code).status == "picked_up"


def test_the_household_confirms_its_own_parcel_without_a_code_even_while_locked(district, parcel, guard):
    for _ in range(5):
        with pytest.raises(ValidationError):
            services.confirm_pickup(actor=guard, parcel=parcel, pickup_code="x")
    resident = district.a.users["resident"]
    done = services.confirm_pickup(actor=resident, parcel=parcel)
    assert done.pickup_method == "resident_confirmed" and done.picked_up_by == resident


def test_picking_up_twice_is_refused(district, parcel, guard):
    services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code)
    with pytest.raises(Conflict):
        services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code)
    with pytest.raises(Conflict):
        services.confirm_pickup(actor=district.a.users["resident"], parcel=parcel)


def test_a_picked_up_parcels_code_may_be_drawn_again(district, parcel, guard):
    services.confirm_pickup(actor=guard, parcel=parcel, pickup_code=parcel.pickup_code)
    again = Parcel(compound=parcel.compound, house=parcel.house, pickup_code=parcel.pickup_code,
                   registered_at=parcel.registered_at)
    again.full_clean(exclude=["compound", "house"])  # the code is unique among waiting parcels only


def test_another_household_or_compound_cannot_touch_the_parcel(district, parcel):
    with pytest.raises(NotFound):
        services.confirm_pickup(actor=district.b.users["resident"], parcel=parcel)
    with pytest.raises(NotFound):
        services.confirm_pickup(actor=district.b.users["guard"], parcel=parcel, pickup_code=parcel.pickup_code)
    with pytest.raises(NotFound):
        services.register_parcel(actor=district.b.users["guard"], house=district.a.house)
    # A technician of the compound handles no parcels.
    with pytest.raises((NotFound, Forbidden)):
        services.register_parcel(actor=district.a.users["technician"], house=district.a.house)
    with pytest.raises(Forbidden):
        services.register_parcel(actor=district.a.users["resident"], house=district.a.house)


def test_a_parcel_is_returned_to_the_courier_with_a_reason_by_staff_only(district, parcel, guard):
    with pytest.raises(Forbidden):
        services.return_to_courier(actor=district.a.users["resident"], parcel=parcel, reason="不是我的")
    with pytest.raises(ValidationError):
        services.return_to_courier(actor=guard, parcel=parcel, reason=" ")
    done = services.return_to_courier(actor=guard, parcel=parcel, reason="查无此人")
    assert done.status == "returned" and done.return_reason == "查无此人"
    with pytest.raises(Conflict):
        services.confirm_pickup(actor=district.a.users["resident"], parcel=parcel)


def _locker_event(district, message_id="m-1", **extra):
    a = district.a
    fields = {"compound_id": a.compound.pk, "device_code": a.device.code, "house_id": a.house.pk,
              "locker_code": "83920117", "box": "B-12", "tracking_no": "YT9876543210", "message_id": message_id,
              **extra}
    return services.register_from_locker(**fields)


def test_a_locker_event_twice_makes_one_parcel(district):
    first = _locker_event(district)
    second = _locker_event(district)
    assert first.pk == second.pk and Parcel.objects.count() == 1
    assert first.source == "locker" and first.pickup_code == "83920117" and first.position == "B-12"
    assert Notification.objects.filter(source=f"parcel:{first.pk}").count() == 1


def test_a_locker_event_for_another_compounds_house_or_device_is_refused(district):
    with pytest.raises(ValidationError, match="房屋"):
        _locker_event(district, house_id=district.b.house.pk)
    with pytest.raises(ValidationError, match="快递柜"):
        _locker_event(district, device_code=district.b.device.code)
    assert not Parcel.objects.exists()


def test_a_locker_reporting_its_box_opened_picks_the_parcel_up_once(district):
    parcel = _locker_event(district)
    fields = {"compound_id": district.a.compound.pk, "device_code": district.a.device.code,
              "locker_code": "83920117", "message_id": "open-1"}
    done = services.picked_up_from_locker(**fields)
    assert done.pk == parcel.pk and done.status == "picked_up" and done.pickup_method == "locker"
    at = done.picked_up_at
    assert services.picked_up_from_locker(**fields).picked_up_at == at  # redelivered: nothing changes
    with pytest.raises(NotFound):
        services.picked_up_from_locker(**{**fields, "compound_id": district.b.compound.pk})
