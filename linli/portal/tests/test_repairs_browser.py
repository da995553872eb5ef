"""In phone-sized Chromium: a resident reports a leak with a photo, a technician takes the order from the
grab pool and fixes it with a completion photo, and the resident sees it done and rates it."""

from __future__ import annotations

import re

import pytest

from linli.core.testing import PASSWORD, PHONES, build_district
from linli.portal.tests.conftest import log_in_resident, log_in_staff
from linli.portal.tests.test_repairs import jpeg, plumbing


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _wait_loaded(page, selector: str) -> None:
    """Every image under `selector` is fetched and decoded (a broken image has no natural width)."""
    page.locator(selector).last.scroll_into_view_if_needed()  # they load lazily, when in view
    page.wait_for_function("s => { const imgs = [...document.querySelectorAll(s)]; return imgs.length > 0 && "
                           "imgs.every(i => i.complete && i.naturalWidth > 0); }", arg=selector)


@pytest.mark.django_db(transaction=True)
def test_a_resident_reports_a_leaking_pipe_with_a_photo_a_technician_fixes_it_and_the_resident_rates_it(
        live_server, phone_browser, tmp_path):
    from linli.workorders import services
    from linli.workorders.models import Status, WorkOrder

    district = build_district()
    a = district.a
    plumbing(a)
    expect = phone_browser.expect
    leak, fixed = tmp_path / "leak.jpg", tmp_path / "fixed.jpg"
    leak.write_bytes(jpeg("steelblue", (640, 480)))
    fixed.write_bytes(jpeg("seagreen", (640, 480)))

    resident = phone_browser.new_page()
    log_in_resident(resident, live_server.url, PHONES["a_owner"])
    resident.click("a[data-tab=repairs]")
    resident.click("#new-repair")
    resident.select_option("#id_category", label="水管维修")
    resident.fill("#id_description", "厨房水管漏水")
    resident.set_input_files("#id_photos", str(leak))
    resident.click("#repair-form button[type=submit]")
    resident.wait_for_url(re.compile(r"/m/repairs/\d+/$"))
    expect(resident.locator("#order-status")).to_have_text("已提交")
    expect(resident.locator("#report-photos img")).to_have_count(1)
    _wait_loaded(resident, "#report-photos img")

    order = WorkOrder.objects.get(title="厨房水管漏水")
    # The manager takes the report in; the category is dispatched by grab, so it waits in the pool.
    services.accept(actor=a.users["property_manager"], order=order)

    technician = phone_browser.new_page()
    log_in_staff(technician, live_server.url, "technician_a", PASSWORD, "/m/tech/")
    technician.locator("#grab-pool a", has_text="厨房水管漏水").click()
    expect(technician.locator("#order-place")).to_contain_text("501")
    expect(technician.locator("#report-photos img")).to_have_count(1)
    technician.click("#do-grab")
    technician.click("#do-start")
    expect(technician.locator("#order-status")).to_have_text("处理中")
    technician.fill("#id_note", "更换了水管接头")
    technician.set_input_files("#complete-form #id_photos", str(fixed))
    technician.click("#do-complete")
    expect(technician.locator("#order-status")).to_have_text("已完成")

    resident.reload()
    expect(resident.locator("#order-status")).to_have_text("已完成")
    expect(resident.locator("#completion-photos img")).to_have_count(1)
    _wait_loaded(resident, "#completion-photos img")
    _wait_loaded(resident, "#report-photos img")
    expect(resident.locator("#timeline")).to_contain_text("更换了水管接头")
    resident.click("label[for=rating-5]")
    resident.fill("#id_comment", "师傅来得很快，修得很好")
    resident.click("#rate-form button[type=submit]")
    expect(resident.locator("#my-rating")).to_contain_text("师傅来得很快")
    expect(resident.locator("#order-status")).to_have_text("已回访")

    order.refresh_from_db()
    assert (order.status, order.rating, order.rating_comment) == (Status.VISITED, 5, "师傅来得很快，修得很好")
    assert order.assignee == a.users["technician"] and len(order.report_photos) == 1 and len(order.photos) == 1
    steps = list(order.steps.order_by("id").values_list("action", "actor_id"))
    resident_id, manager_id, tech_id = (a.users[r].pk for r in ("resident", "property_manager", "technician"))
    assert steps == [("submit", resident_id), ("accept", manager_id), ("grab", tech_id), ("start", tech_id),
                     ("complete", tech_id), ("visit", resident_id)]
