"""The alarm board, history and detail pages: scoped, acting through the audited services."""

import datetime as dt
import json
import os
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.alarms import services
from linli.alarms.models import Alarm
from linli.core.context import ChangeContext, change_context
from linli.core.models import AuditEntry
from linli.core.services import save_changes
from linli.events import media

ROLES = ["street_officer", "community_officer", "grid_worker", "property_manager", "guard", "technician",
         "cashier", "customer_service", "integrator", "resident"]
HTMX = {"HTTP_HX_REQUEST": "true"}


def smoke(side, **extra):
    alarm, _ = services.raise_alarm(compound_id=side.compound.pk, source=side.device.code, type="smoke",
                                    severity="critical", title="3号楼2单元烟感报警", device_id=side.device.pk,
                                    life_safety=True, **extra)
    return alarm


def board(client, **params):
    response = client.get(reverse("web:alarm_board_rows"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_board_shows_open_alarms_of_the_users_compounds_life_safety_first(district, client_for):
    fire = smoke(district.a)
    smoke(district.b)
    html = client_for(district.a.users["guard"]).get(reverse("web:alarm_board")).content.decode()
    assert html.index(f'id="alarm-{fire.pk}"') < html.index(f'id="alarm-{district.a.alarm.pk}"')
    assert f'id="alarm-{district.b.alarm.pk}"' not in html
    row = html[html.index(f'id="alarm-{fire.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "紧急" in row and "生命安全" in row and "阜安小区 3号楼 2单元 5层" in row
    assert 'data-urgent="1"' in row and "sev-critical" in row
    assert 'hx-trigger="every 3s' in html  # the polling fallback


def test_the_board_counts_repeats_and_shows_escalation(district, client_for):
    fire = smoke(district.a)
    smoke(district.a)
    smoke(district.a)
    with change_context(ChangeContext(source="test", actor="escalation")):
        save_changes(Alarm.objects.get(pk=fire.pk), {"escalation_level": 1})
    html = board(client_for(district.a.users["guard"]))
    row = html[html.index(f'id="alarm-{fire.pk}"'):]
    row = row[:row.index("</tr>")]
    assert '<td class="num">3</td>' in row
    assert 'class="escalation level-1">社区' in row


def test_board_filters_narrow_the_rows(district, client_for):
    fire = smoke(district.a)
    client = client_for(district.a.users["property_manager"])
    only_critical = board(client, severity="critical")
    assert f"alarm-{fire.pk}" in only_critical and f"alarm-{district.a.alarm.pk}" not in only_critical
    by_type = board(client, type="fire_lane")
    assert f"alarm-{fire.pk}" not in by_type and f"alarm-{district.a.alarm.pk}" in by_type
    services.acknowledge(actor=district.a.users["guard"], alarm=fire)
    acknowledged = board(client, status="acknowledged")
    assert f"alarm-{fire.pk}" in acknowledged and f"alarm-{district.a.alarm.pk}" not in acknowledged
    other_side = board(client, compound=district.b.compound.pk)  # not a choice for side a: ignored
    assert f"alarm-{district.b.alarm.pk}" not in other_side


def test_closed_alarms_leave_the_board_but_stay_in_the_history(district, client_for):
    fire = smoke(district.a)
    services.resolve(actor=district.a.users["guard"], alarm=fire)
    client = client_for(district.a.users["guard"])
    assert f"alarm-{fire.pk}" not in board(client)
    history = client.get(reverse("web:alarm_list"), {"status": "resolved"}).content.decode()
    assert reverse("web:alarm_detail", args=[fire.pk]) in history
    assert reverse("web:alarm_detail", args=[district.a.alarm.pk]) not in history


@pytest.mark.parametrize("role", ROLES)
def test_every_alarm_page_answers_each_role_with_a_page_or_a_refusal(district, client_for, role):
    client = client_for(district.a.users[role])
    pages = [reverse("web:alarm_board"), reverse("web:alarm_board_rows"), reverse("web:alarm_list"),
             reverse("web:alarm_detail", args=[district.a.alarm.pk])]
    expected = 200 if role in ("street_officer", "community_officer", "property_manager", "guard",
                               "technician") else 403
    for url in pages:
        assert client.get(url).status_code == expected, url


def test_the_other_sides_alarm_is_not_found(district, client_for):
    client = client_for(district.a.users["property_manager"])
    other = district.b.alarm
    assert client.get(reverse("web:alarm_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("web:alarm_evidence", args=[other.pk, 0])).status_code == 404
    for name in ("web:alarm_acknowledge", "web:alarm_resolve", "web:alarm_comment", "web:alarm_dispatch",
                 "web:alarm_arrive"):
        assert client.post(reverse(name, args=[other.pk]), {"text": "x"}).status_code == 404, name
    other.refresh_from_db()
    assert other.status == "active" and not other.comments.exists()


def test_acknowledging_from_the_board_goes_through_the_service_and_is_audited(district, client_for):
    fire = smoke(district.a)
    client = client_for(district.a.users["guard"])
    response = client.post(reverse("web:alarm_acknowledge", args=[fire.pk]), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "alarms-changed"
    assert "已确认告警" in response.content.decode() and "<html" not in response.content.decode()
    fire.refresh_from_db()
    assert fire.status == "acknowledged" and fire.acknowledged_by == district.a.users["guard"]
    entry = AuditEntry.objects.filter(object_type="alarms.alarm", object_id=str(fire.pk), action="update").get()
    assert entry.actor == "guard_a" and entry.after["status"] == "acknowledged"
    again = client.post(reverse("web:alarm_acknowledge", args=[fire.pk]), **HTMX)
    assert again.status_code == 400 and "告警当前状态不能转为该状态" in again.content.decode()


def test_without_javascript_an_action_returns_to_the_board(district, client_for):
    fire = smoke(district.a)
    client = client_for(district.a.users["guard"])
    back = reverse("web:alarm_board") + "?severity=critical"
    response = client.post(reverse("web:alarm_acknowledge", args=[fire.pk]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    away = client.post(reverse("web:alarm_resolve", args=[fire.pk]), {"next": "https://example.com/"})
    assert away["Location"] == reverse("web:alarm_detail", args=[fire.pk])
    assert client.get(reverse("web:alarm_acknowledge", args=[fire.pk])).status_code == 405


def test_dispatch_offers_only_the_compounds_staff_and_refuses_anyone_else(district, client_for):
    fire = smoke(district.a)
    services.acknowledge(actor=district.a.users["guard"], alarm=fire)
    client = client_for(district.a.users["property_manager"])
    html = board(client)
    picker = html[html.index(f'id="assignee-{fire.pk}"'):]
    picker = picker[:picker.index("</select>")]
    a, b = district.a.users, district.b.users
    for user in (a["technician"], a["guard"], a["property_manager"]):
        assert f'value="{user.pk}"' in picker
    for user in (b["technician"], a["cashier"], a["community_officer"]):
        assert f'value="{user.pk}"' not in picker

    url = reverse("web:alarm_dispatch", args=[fire.pk])
    refused = client.post(url, {"assignee": b["technician"].pk}, **HTMX)
    assert refused.status_code == 400 and "处置人须为本小区的物业人员" in refused.content.decode()
    fire.refresh_from_db()
    assert fire.status == "acknowledged" and fire.assignee is None
    assert client.post(url, {"assignee": a["technician"].pk}, **HTMX).status_code == 200
    fire.refresh_from_db()
    assert fire.status == "dispatched" and fire.assignee == a["technician"]


def test_a_false_alarm_with_a_note_closes_it_and_the_note_is_a_comment(district, client_for):
    fire = smoke(district.a)
    client = client_for(district.a.users["technician"])
    response = client.post(reverse("web:alarm_resolve", args=[fire.pk]),
                           {"false_alarm": "on", "note": "厨房油烟"}, **HTMX)
    assert response.status_code == 200 and "误报" in response.content.decode()
    fire.refresh_from_db()
    assert fire.status == "false_alarm" and fire.closed_at is not None
    assert fire.comments.get().text == "厨房油烟"


def test_an_entrapment_shows_its_arrival_deadline_until_someone_is_on_site(district, client_for):
    side = district.a
    trapped, _ = services.raise_alarm(compound_id=side.compound.pk, source="lift-1", type="entrapment",
                                      severity="critical", title="电梯困人", life_safety=True,
                                      deadline_at=timezone.now() - dt.timedelta(minutes=1))
    client = client_for(side.users["technician"])
    html = board(client)
    row = html[html.index(f'id="alarm-{trapped.pk}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="deadline overdue"' in row and "前到场" in row and 'name="arrive"' in row
    response = client.post(reverse("web:alarm_arrive", args=[trapped.pk]), **HTMX)
    assert response.status_code == 200 and "已记录到场" in response.content.decode()
    trapped.refresh_from_db()
    assert trapped.arrived_at is not None and trapped.status == "active"
    row = board(client)
    row = row[row.index(f'id="alarm-{trapped.pk}"'):]
    assert 'name="arrive"' not in row[:row.index("</tr>")]
    timeline = client.get(reverse("web:alarm_detail", args=[trapped.pk])).content.decode()
    assert "已到场" in timeline[timeline.index('id="timeline"'):]
    assert client.post(reverse("web:alarm_arrive", args=[trapped.pk]), **HTMX).status_code == 400


def test_a_viewer_sees_the_board_without_buttons_and_cannot_act(district, client_for):
    fire = smoke(district.a)
    client = client_for(district.city_admin)
    html = board(client)
    assert f"alarm-{fire.pk}" in html and reverse("web:alarm_acknowledge", args=[fire.pk]) not in html
    assert client.post(reverse("web:alarm_acknowledge", args=[fire.pk])).status_code == 403
    fire.refresh_from_db()
    assert fire.status == "active"


def test_the_detail_tells_the_whole_story(district, client_for):
    fire = smoke(district.a)
    a = district.a.users
    manager = client_for(a["property_manager"])
    assert manager.post(reverse("web:alarm_acknowledge", args=[fire.pk])).status_code == 302
    with change_context(ChangeContext(source="test", actor="escalation")):
        save_changes(Alarm.objects.get(pk=fire.pk), {"escalation_level": 2})
    assert manager.post(reverse("web:alarm_dispatch", args=[fire.pk]),
                        {"assignee": a["technician"].pk}).status_code == 302
    assert manager.post(reverse("web:alarm_comment", args=[fire.pk]), {"text": "维修师傅已出发"}).status_code == 302
    technician = client_for(a["technician"])
    assert technician.post(reverse("web:alarm_resolve", args=[fire.pk]), {"note": "更换探测器"}).status_code == 302

    html = manager.get(reverse("web:alarm_detail", args=[fire.pk])).content.decode()
    timeline = html[html.index('id="timeline"'):]
    steps = ["告警产生", "确认告警", "告警升级", "派单", "维修师傅已出发", "处置完毕", "更换探测器"]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "升级至街道" in timeline and "property_manager_a" in timeline and "technician_a" in timeline
    assert str(a["technician"]) in timeline
    assert 'id="resolve-form"' not in html  # closed: nothing left to do


def test_an_empty_comment_is_refused_next_to_the_field(district, client_for):
    client = client_for(district.a.users["guard"])
    response = client.post(reverse("web:alarm_comment", args=[district.a.alarm.pk]), {"text": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写内容" in html[html.index('id="comment-form"'):]
    assert not district.a.alarm.comments.exists()


@pytest.fixture
def snapshot():
    ref = f"events/2025/01/01/{uuid.uuid4().hex}.jpg"
    media.save(ref, b"\xff\xd8jpeg-bytes")
    yield ref
    media.delete([ref])


def test_evidence_is_served_only_within_scope(district, client_for, snapshot):
    ref = snapshot
    fire = smoke(district.a, evidence=[{"kind": "image", "ref": ref}, {"kind": "camera", "device": "cam-1"},
                                       {"kind": "image", "ref": "../../etc/passwd"}])
    client = client_for(district.a.users["guard"])
    url = reverse("web:alarm_evidence", args=[fire.pk, 0])
    assert f'src="{url}"' in board(client)
    assert f'src="{url}"' in client.get(reverse("web:alarm_detail", args=[fire.pk])).content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == b"\xff\xd8jpeg-bytes"
    # Only the stored snapshot counts: a camera note has no file, a path out of the store is no reference.
    assert reverse("web:alarm_evidence", args=[fire.pk, 1]) not in board(client)
    assert client.get(reverse("web:alarm_evidence", args=[fire.pk, 1])).status_code == 404
    assert client_for(district.b.users["guard"]).get(url).status_code == 404


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def more_alarms(district, start, n):
    side, guard = district.a, district.a.users["guard"]
    for i in range(start, start + n):
        alarm, _ = services.raise_alarm(compound_id=side.compound.pk, source=f"{side.device.code}-{i}",
                                        type="smoke", severity=["critical", "major", "minor"][i % 3],
                                        title=f"烟感{i}", device_id=side.device.pk, life_safety=i % 2 == 0,
                                        evidence=[{"kind": "image", "ref": f"events/{i}.jpg"}])
        if i % 3 == 1:
            services.acknowledge(actor=guard, alarm=alarm)
        if i % 3 == 2:
            services.acknowledge(actor=guard, alarm=alarm)
            services.dispatch(actor=guard, alarm=alarm, assignee=side.users["technician"])
        services.comment(actor=guard, alarm=alarm, text="已查看")


@pytest.mark.parametrize("name", ["web:alarm_board", "web:alarm_board_rows", "web:alarm_list"])
def test_alarm_lists_run_a_constant_number_of_queries(district, client_for, name):
    client = client_for(district.a.users["property_manager"])
    url = reverse(name)
    more_alarms(district, 0, 1)
    before = queries(client, url)
    more_alarms(district, 1, 9)
    assert queries(client, url) == before


# In a real browser -------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture
def browser_page(monkeypatch):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required on CI for the browser tests")
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            yield page, sync_api.expect
        finally:
            context.close()
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_the_board_shows_a_fresh_alarm_without_a_reload_and_acknowledges_it(live_server, browser_page):
    from linli.core.testing import PASSWORD, build_district

    district = build_district()
    page, expect = browser_page
    page.goto(f"{live_server.url}/alarms/board/")
    page.fill("#id_staff-username", "guard_a")
    page.fill("#id_staff-password", PASSWORD)
    page.click("#staff-login button[type=submit]")
    expect(page.locator("h1")).to_have_text("告警看板")
    expect(page.locator(f"#alarm-{district.a.alarm.pk}")).to_contain_text("消防通道占用")
    page.click("#alarm-sound")
    expect(page.locator("#alarm-sound")).to_have_attribute("aria-pressed", "true")
    page.evaluate("window.sameDocument = true")

    fire = smoke(district.a)
    row = page.locator(f"#alarm-{fire.pk}")
    expect(row).to_contain_text("3号楼2单元烟感报警")  # within a polling interval or two
    expect(row).to_have_class(re.compile(r"\bfresh\b"))  # the visual cue for a new critical alarm
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    assert page.title().startswith("(1)")
    assert page.locator("#alarm-board tbody tr").first.get_attribute("id") == f"alarm-{fire.pk}"

    row.locator("button[name=acknowledge]").click()
    expect(page.locator("#board-flash")).to_contain_text("已确认告警")
    expect(row).to_contain_text("已确认")
    expect(row.locator("button[name=acknowledge]")).to_have_count(0)
    assert page.evaluate("window.sameDocument") is True
    fire.refresh_from_db()
    assert fire.status == "acknowledged" and fire.acknowledged_by == district.a.users["guard"]


@pytest.mark.django_db(transaction=True)
def test_a_live_feed_message_refreshes_the_board_at_once(live_server, browser_page):
    """The websocket only nudges: on an alarm message the rows are fetched without waiting for the poll."""
    from linli.core.testing import PASSWORD, build_district

    district = build_district()
    page, expect = browser_page
    sockets = []
    page.route_web_socket(re.compile(r"/ws/feed/$"), lambda ws: sockets.append(ws))  # stands in for the feed
    page.goto(f"{live_server.url}/alarms/board/")
    page.fill("#id_staff-username", "guard_a")
    page.fill("#id_staff-password", PASSWORD)
    page.click("#staff-login button[type=submit]")
    expect(page.locator("h1")).to_have_text("告警看板")
    page.wait_for_function("() => true")
    assert sockets, "the board opened the live feed socket"

    rows = re.compile(r"/alarms/board/rows/")
    with page.expect_request(rows, timeout=5_000):
        pass  # a poll just went out: the next one is three seconds away
    fire = smoke(district.a)
    with page.expect_request(rows, timeout=1_000):
        sockets[-1].send(json.dumps({"type": "alarm", "id": 1, "compound_id": district.a.compound.pk,
                                     "data": {"id": fire.pk}}))
    expect(page.locator(f"#alarm-{fire.pk}")).to_contain_text("3号楼2单元烟感报警", timeout=1_000)
