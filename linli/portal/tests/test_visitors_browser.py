"""In phone-sized Chromium: a resident invites a visitor; the guard's check admits them once."""

import pytest

from linli.core.testing import PASSWORD, PHONES, build_district
from linli.portal.tests.conftest import log_in_resident, log_in_staff


@pytest.mark.django_db(transaction=True)
def test_a_resident_invites_a_visitor_whose_code_admits_them_once(live_server, phone_browser):
    from linli.visitors.models import Invitation, InvitationStatus, Visit, VisitStatus

    build_district()
    expect = phone_browser.expect
    resident = phone_browser.new_page()
    log_in_resident(resident, live_server.url, PHONES["a_owner"])
    resident.goto(f"{live_server.url}/m/visitors/")
    resident.click("#new-invitation")
    resident.fill("#id_visitor_name", "张三")
    resident.fill("#id_uses", "1")
    resident.fill("#id_plate", "鲁B88888")
    resident.click("#invitation-form button[type=submit]")
    expect(resident.locator("#invitation .once")).to_contain_text("只显示这一次")
    expect(resident.locator("#invite-qr svg")).to_have_count(1)
    code = resident.locator("#invite-code").inner_text().strip()
    assert len(code) >= 16

    guard = phone_browser.new_page()
    log_in_staff(guard, live_server.url, "guard_a", PASSWORD, "/m/booth/")
    guard.fill("#id_code", code)
    guard.click("#check-form button[type=submit]")
    expect(guard.locator("#verdict")).to_contain_text("允许进入")
    expect(guard.locator("#verdict")).to_contain_text("张三")
    guard.fill("#id_code", code)
    guard.click("#check-form button[type=submit]")
    expect(guard.locator("#verdict")).to_contain_text("拒绝进入")
    expect(guard.locator("#verdict")).to_contain_text("次数已用完")

    resident.goto(f"{live_server.url}/m/visitors/")
    expect(resident.locator("#used")).to_contain_text("张三")
    expect(resident.locator("#used")).to_contain_text("1 / 1")
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.USED_UP and invitation.plate == "鲁B88888"
    assert list(Visit.objects.values_list("status", flat=True)) == [VisitStatus.ADMITTED]
