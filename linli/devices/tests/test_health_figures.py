"""The health page's figures from known outages: online rate, mean time to repair, daily uptime."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.tests.apiclient import ApiClient
from linli.devices import selectors
from linli.devices import services as devices
from linli.devices.models import Device, DeviceOutage, DeviceState, DeviceType

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2024, 6, 30, 12, 0, tzinfo=SH)


def at(day: int, hour: int, month: int = 6) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, 0, tzinfo=SH)


def outage(device, cause, start, end=None):
    return DeviceOutage.objects.create(device=device, compound_id=device.compound_id, cause=cause,
                                       started_at=start, ended_at=end)


@pytest.fixture
def fleet(district):
    """Side a: the smoke detector plus two ground locks (one registered on 20 June) and a disabled lock."""
    a = district.a
    lock_type = DeviceType.objects.get(code="ground-lock-mqtt")
    smoke = a.device
    lock = devices.register_device(actor=district.admin, compound=a.compound, device_type=lock_type,
                                   serial="GL-1", name="地锁1")
    late = devices.register_device(actor=district.admin, compound=a.compound, device_type=lock_type,
                                   serial="GL-2", name="地锁2")
    disabled = devices.register_device(actor=district.admin, compound=a.compound, device_type=lock_type,
                                       serial="GL-3", name="地锁3")
    devices.update_device(actor=district.admin, device=disabled, lifecycle="disabled")
    Device.objects.filter(pk__in=[smoke.pk, lock.pk, disabled.pk, district.b.device.pk]).update(
        created_at=at(1, 0, month=5))
    Device.objects.filter(pk=late.pk).update(created_at=at(20, 6))
    DeviceState.objects.filter(device=smoke).update(online=True, last_seen_at=at(30, 11), battery_low=True)
    DeviceState.objects.filter(device=lock).update(online=False, last_seen_at=at(30, 9), offline_since=at(30, 10))
    # The smoke detector: offline 10:00–16:00 and faulty 14:00–20:00 on 10 June (10 hours down, not 12).
    outage(smoke, "offline", at(10, 10), at(10, 16))
    outage(smoke, "fault", at(10, 14), at(10, 20))
    # Repaired in May: outside the 30 days, in neither figure.
    outage(smoke, "offline", at(20, 0, month=5), at(21, 0, month=5))
    # The lock: 4 hours across midnight, and down again since 10:00 today.
    outage(lock, "offline", at(29, 22), at(30, 2))
    outage(lock, "offline", at(30, 10))
    # Neither the disabled lock nor side b counts for side a.
    outage(disabled, "offline", at(15, 0), at(16, 0))
    outage(district.b.device, "offline", at(15, 0), at(15, 1))
    return {"smoke": smoke, "lock": lock, "late": late}


def by_day(health):
    return {d.day.day: d for d in health.days}


def test_mean_time_to_repair_is_the_mean_of_outages_closed_in_the_last_30_days(district, fleet):
    health = selectors.device_health(district.a.users["property_manager"], compound_id=district.a.compound.pk,
                                     now=NOW)
    # 6 h + 6 h + 4 h over three repairs; the open outage and May's are not repairs of this period.
    assert health.repairs == 3
    assert health.mttr_s == (6 + 6 + 4) * 3600 / 3


def test_daily_uptime_clips_outages_to_each_day_and_counts_overlaps_once(district, fleet):
    health = selectors.device_health(district.a.users["property_manager"], compound_id=district.a.compound.pk,
                                     now=NOW)
    days = by_day(health)
    assert len(health.days) == 30 and health.days[0].day == dt.date(2024, 6, 1)
    assert health.days[-1].day == dt.date(2024, 6, 30)
    two_devices = 2 * 86400
    assert days[10].device_s == two_devices and days[10].down_s == 10 * 3600
    assert days[10].uptime == pytest.approx(1 - 10 / 48)
    assert days[29].down_s == 2 * 3600
    # 20 June: the second lock joins at 06:00, so the day holds 2 × 24 h + 18 h of device time.
    assert days[20].device_s == two_devices + 18 * 3600 and days[20].uptime == 1
    # Today runs to noon: 3 devices × 12 h, down 00:00–02:00 and 10:00–12:00.
    assert days[30].device_s == 3 * 12 * 3600 and days[30].down_s == 4 * 3600
    assert days[15].uptime == 1  # the disabled lock and side b's outage are not ours
    total_device_s = sum(d.device_s for d in health.days)
    assert health.period_uptime == pytest.approx(1 - (10 + 2 + 4) * 3600 / total_device_s)


def test_online_rate_offline_longest_and_flags(district, fleet):
    health = selectors.device_health(district.a.users["technician"], compound_id=district.a.compound.pk, now=NOW)
    assert (health.total, health.online, health.never_seen) == (3, 1, 1)
    assert health.online_rate == pytest.approx(1 / 3)
    rates = {k.kind: (k.online, k.total) for k in health.by_kind}
    assert rates == {"smoke_detector": (1, 1), "ground_lock": (0, 2)}
    assert [d.pk for d in health.offline_longest] == [fleet["lock"].pk]
    assert [d.pk for d in health.flagged["battery_low"]] == [fleet["smoke"].pk]
    assert health.flag_counts == {"battery_low": 1, "tamper": 0, "fault": 0}


def test_the_figures_take_a_handful_of_queries_whatever_the_number_of_outages(district, fleet):
    user = district.a.users["property_manager"]
    selectors.device_health(user, now=NOW)  # the user's scope is read once, then cached
    with CaptureQueriesContext(connection) as few:
        selectors.device_health(user, now=NOW)
    for day in range(1, 29):
        outage(fleet["late"], "fault", at(day, 1), at(day, 2))
    with CaptureQueriesContext(connection) as many:
        selectors.device_health(user, now=NOW)
    assert len(many) == len(few) <= 10


def test_a_user_without_device_rights_sees_no_devices_in_the_figures(district, fleet):
    health = selectors.device_health(district.a.users["cashier"], now=NOW)
    assert health.total == 0 and health.repairs == 0 and health.period_uptime is None


pytestmark_api = pytest.mark.urls("linli.core.tests.api_only_urls")


@pytestmark_api
def test_the_health_api_answers_the_same_figures_and_refuses_other_compounds(district, fleet):
    client = ApiClient(district.a.users["property_manager"])
    body = client.get("/api/devices/health", compound_id=district.a.compound.pk).json()
    assert (body["total"], body["online"], body["offline"], body["never_seen"]) == (3, 1, 2, 1)
    assert body["offline_longest"][0]["code"] == fleet["lock"].code
    assert body["battery_low_count"] == 1 and body["battery_low"][0]["id"] == fleet["smoke"].pk
    assert len(body["uptime"]) == 30 and body["compound_id"] == district.a.compound.pk
    assert client.get("/api/devices/health", compound_id=district.b.compound.pk).status_code == 404
    assert client.get("/api/devices/health").json()["total"] == 3  # every compound in reach: side a only
    everywhere = ApiClient(district.city_admin).get("/api/devices/health").json()
    assert everywhere["total"] == 4  # both sides' devices in service, the disabled lock left out


@pytestmark_api
def test_a_device_outages_are_listed_newest_first_and_scoped(district, fleet):
    client = ApiClient(district.a.users["technician"])
    lock = fleet["lock"]
    body = client.get(f"/api/devices/{lock.pk}/outages").json()
    assert body["count"] == 2
    assert [o["ended_at"] is None for o in body["items"]] == [True, False]
    assert body["items"][0]["cause"] == "offline"
    assert client.get(f"/api/devices/{district.b.device.pk}/outages").status_code == 404
