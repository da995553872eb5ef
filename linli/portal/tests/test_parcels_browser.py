"""In phone-sized Chromium: the guard takes in a parcel, the household sees its code, and the guard
hands the parcel over only for the right code."""

import re

import pytest

from linli.core.testing import PASSWORD, PHONES, build_district
from linli.portal.tests.conftest import log_in_resident, log_in_staff


@pytest.mark.django_db(transaction=True)
def test_a_parcel_is_registered_at_the_booth_and_picked_up_with_the_code_the_resident_shows(live_server,
                                                                                           phone_browser):
    from linli.parcels.models import Parcel, PickupMethod, Status

    district = build_district()
    a, expect = district.a, phone_browser.expect
    guard = phone_browser.new_page()
    log_in_staff(guard, live_server.url, "guard_a", PASSWORD, "/m/booth/")
    guard.click("#to-parcel-new")
    with guard.expect_navigation():
        guard.select_option("#pick-building", str(a.building.pk))
    with guard.expect_navigation():
        guard.select_option("#pick-unit", str(a.unit.pk))
    guard.select_option("#id_house", str(a.house.pk))
    guard.fill("#id_courier", "顺丰")
    guard.fill("#id_position", "A-03")
    guard.click("#parcel-form button[type=submit]")
    expect(guard.locator(".messages")).to_contain_text("快递已登记")
    parcel = Parcel.objects.get()
    expect(guard.locator(f"#parcel-{parcel.pk}")).to_contain_text("3号楼2单元501室")

    resident = phone_browser.new_page()
    log_in_resident(resident, live_server.url, PHONES["a_owner"])
    resident.goto(f"{live_server.url}/m/parcels/")
    shown = resident.locator(f"#parcel-{parcel.pk} .pickup-code")
    expect(shown).to_have_text(re.compile(r"^\d{6}$"))
    expect(resident.locator(f"#parcel-{parcel.pk} .qr svg")).to_have_count(1)
    expect(resident.locator(f"#parcel-{parcel.pk}")).to_contain_text("A-03")
    code = shown.inner_text()

    wrong = "000000" if code != "000000" else "111111"
    guard.fill(f"#code-{parcel.pk}", wrong)
    guard.click(f"#parcel-{parcel.pk} button.confirm")
    expect(guard.locator(f"#parcel-{parcel.pk} .error")).to_have_text("取件码不正确")
    guard.fill(f"#code-{parcel.pk}", code)
    guard.click(f"#parcel-{parcel.pk} button.confirm")
    expect(guard.locator(".messages")).to_contain_text("取件成功")
    expect(guard.locator(f"#parcel-{parcel.pk}")).to_have_count(0)

    resident.reload()
    expect(resident.locator("#waiting")).to_contain_text("没有待取的快递")
    expect(resident.locator(f"#history #parcel-{parcel.pk}")).to_contain_text("已取件")
    parcel.refresh_from_db()
    assert parcel.status == Status.PICKED_UP and parcel.pickup_method == PickupMethod.CODE_AT_BOOTH
    assert parcel.picked_up_by == a.users["guard"] and parcel.failed_code_attempts == 0
