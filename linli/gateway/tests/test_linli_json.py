"""Linli's own JSON push: stored before the answer, duplicates once, strangers refused."""

from __future__ import annotations

import pytest

from linli.events import types
from linli.events.models import DeadLetter, Event
from linli.gateway.tests.conftest import run_gateway

pytestmark = pytest.mark.django_db(transaction=True)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ebike(message_id: str) -> dict:
    return {"message_id": message_id, "type": types.ELEVATOR_EBIKE, "at": "2026-03-01T08:15:00+08:00",
            "payload": {"confidence": 0.93}}


def test_an_elevator_camera_push_is_stored_before_the_answer_and_a_resend_is_stored_once(provision):
    cam = provision("elevator-ai-camera", "EAI-1")
    seen_in_db_at_answer = []

    async def scenario(h):
        url = f"/push/linli/{cam.device.code}"
        first = await h.client.post(url, json=[_ebike("m-1"), _ebike("m-2")], headers=_bearer(cam.token))
        # The answer came after commit: the row is already visible to another connection.
        seen_in_db_at_answer.append(await _count_events(cam.device))
        again = await h.client.post(url, json=_ebike("m-1"), headers=_bearer(cam.token))
        return (first.status, await first.json()), (again.status, await again.json())

    (s1, b1), (s2, b2) = run_gateway(scenario)
    assert (s1, b1) == (200, {"stored": 2, "duplicates": 0})
    assert (s2, b2) == (200, {"stored": 0, "duplicates": 1})
    assert seen_in_db_at_answer == [2]
    event = Event.objects.get(device=cam.device, message_id="m-1")
    assert event.type == types.ELEVATOR_EBIKE and event.payload == {"confidence": 0.93}
    assert event.compound_id == cam.device.compound_id


async def _count_events(device) -> int:
    import asyncio

    return await asyncio.to_thread(lambda: Event.objects.filter(device=device).count())


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "body is not valid JSON"),
    (b'{"message_id": "x", "type": "parking.teleport", "at": "2026-03-01T08:00:00+08:00"}', "unsupported event type"),
    (b'{"message_id": "x", "type": "device.heartbeat", "at": "2026-03-01T08:00:00"}', "time needs a UTC offset"),
    (b'{"type": "device.heartbeat", "at": "2026-03-01T08:00:00+08:00"}', "message_id"),
    (b'{"message_id": "x", "type": "device.heartbeat", "at": "2026-03-01T08:00:00Z", "payload": [1]}', "payload"),
    # Deep enough to exhaust the parser's recursion, and merely deeper than any device message needs.
    (b"[" * 100_000 + b"]" * 100_000, "body is nested deeper than 32 levels"),
    (b'{"message_id": "x", "type": "device.heartbeat", "at": "2026-03-01T08:00:00Z", "payload": '
     + b'{"a": ' * 40 + b"1" + b"}" * 41, "body is nested deeper than 32 levels"),
    (b'{"message_id": "x", "type": "device.heartbeat", "at": "2026-03-01T08:00:00Z", "payload": "\xff"}',
     "body is not valid UTF-8 text"),
])
def test_a_malformed_message_is_a_dead_letter_and_a_4xx_naming_the_problem(provision, body, reason):
    cam = provision("elevator-ai-camera", "EAI-2")

    async def scenario(h):
        response = await h.client.post(f"/push/linli/{cam.device.code}", data=body,
                                       headers={**_bearer(cam.token), "Content-Type": "application/json"})
        return response.status, await response.json()

    status, answer = run_gateway(scenario)
    assert status == 400 and reason in answer["error"]
    letter = DeadLetter.objects.get(source="http:linli_json")
    assert reason in letter.reason and letter.device_id == cam.device.pk and letter.source == "http:linli_json"
    assert "authorization" not in {k.lower() for k in letter.headers}
    assert Event.objects.filter(device=cam.device).count() == 0


def test_a_token_cannot_post_for_another_device(provision):
    mine, other = provision("elevator-ai-camera", "EAI-3"), provision("perimeter-linli", "PER-1")

    async def scenario(h):
        response = await h.client.post(f"/push/linli/{other.device.code}", json=_ebike("m-9"),
                                       headers=_bearer(mine.token))
        return response.status, await response.json()

    status, answer = run_gateway(scenario)
    assert status == 403 and answer["error"] == "token belongs to another device"
    assert DeadLetter.objects.get(source="http:linli_json").reason == "token belongs to another device"
    assert not Event.objects.filter(message_id="m-9").exists()


def test_unknown_and_missing_tokens_are_refused_with_a_dead_letter(provision):
    cam = provision("elevator-ai-camera", "EAI-4")

    async def scenario(h):
        url = f"/push/linli/{cam.device.code}"
        bad = await h.client.post(url, json=_ebike("a"), headers=_bearer("not-a-token"))
        missing = await h.client.post(url, json=_ebike("b"))
        return bad.status, missing.status

    assert run_gateway(scenario) == (401, 401)
    assert sorted(DeadLetter.objects.filter(source="http:linli_json").values_list("reason", flat=True)) == [
        "missing device token", "unknown or revoked device token"]


def test_a_disabled_device_is_refused_once_the_directory_refreshes(provision, district):
    from linli.devices import services as devices

    cam = provision("elevator-ai-camera", "EAI-5")

    async def scenario(h):
        import asyncio

        url = f"/push/linli/{cam.device.code}"
        before = await h.client.post(url, json=_ebike("d-1"), headers=_bearer(cam.token))
        await asyncio.to_thread(devices.update_device, actor=district.admin, device=cam.device, lifecycle="disabled")
        changed = await asyncio.to_thread(h.directory.refresh_if_changed)
        after = await h.client.post(url, json=_ebike("d-2"), headers=_bearer(cam.token))
        unchanged = await asyncio.to_thread(h.directory.refresh_if_changed)
        return before.status, changed, after.status, unchanged

    assert run_gateway(scenario) == (200, True, 401, False)
    assert list(Event.objects.filter(device=cam.device).values_list("message_id", flat=True)) == ["d-1"]


def test_a_rotated_token_stops_working_after_refresh(provision, district):
    from linli.devices import services as devices
    from linli.devices.models import CredentialKind

    cam = provision("perimeter-linli", "PER-2")

    async def scenario(h):
        import asyncio

        new = await asyncio.to_thread(devices.issue_credential, actor=district.admin, device=cam.device,
                                      kind=CredentialKind.HTTP_TOKEN)
        await asyncio.to_thread(h.directory.refresh_if_changed)
        url = f"/push/linli/{cam.device.code}"
        old = await h.client.post(url, json=_ebike("r-1"), headers=_bearer(cam.token))
        fresh = await h.client.post(url, json=_ebike("r-2"), headers=_bearer(new))
        return old.status, fresh.status

    assert run_gateway(scenario) == (401, 200)


def test_the_database_down_answers_503_so_the_device_resends(provision):
    cam = provision("elevator-ai-camera", "EAI-6")

    async def scenario(h):
        async def broken(messages):
            from django.db import OperationalError

            raise OperationalError("database is away")

        h.writer.submit_many = broken
        response = await h.client.post(f"/push/linli/{cam.device.code}", json=_ebike("x"),
                                       headers=_bearer(cam.token))
        return response.status

    assert run_gateway(scenario) == 503


def test_healthz_answers(provision):
    provision("elevator-ai-camera", "EAI-7")

    async def scenario(h):
        response = await h.client.get("/healthz")
        return response.status, await response.json()

    status, body = run_gateway(scenario)
    assert status == 200 and body["ok"] is True and body["devices"] >= 1
