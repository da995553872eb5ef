"""Hikvision ISAPI pushes: JSON, XML with and without namespace, multipart with pictures."""

from __future__ import annotations

import json

import pytest

from linli.events import types
from linli.events.models import DeadLetter, Event
from linli.gateway.tests.conftest import fixture_bytes, run_gateway, tiny_jpeg

pytestmark = pytest.mark.django_db(transaction=True)

NS = "http://www.hikvision.com/ver20/XMLSchema"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64)) + b"\xff\xd9"


def alert_xml(event_type="linedetection", *, namespace=True, state="active", extra="", post_count=1) -> bytes:
    xmlns = f' version="2.0" xmlns="{NS}"' if namespace else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert{xmlns}>'
            f"<ipAddress>192.168.1.64</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>"
            f"<macAddress>44:19:b6:00:00:01</macAddress><channelID>1</channelID>"
            f"<dateTime>2026-03-01T21:15:03+08:00</dateTime><activePostCount>{post_count}</activePostCount>"
            f"<eventType>{event_type}</eventType><eventState>{state}</eventState>"
            f"<eventDescription>{event_type} alarm</eventDescription>{extra}</EventNotificationAlert>").encode()


ANPR_JSON = {"EventNotificationAlert": {
    "ipAddress": "192.168.1.65", "channelID": 1, "dateTime": "2026-03-01T08:01:02+08:00", "activePostCount": 1,
    "eventType": "ANPR", "eventState": "active", "eventDescription": "ANPR",
    "ANPR": {"licensePlate": "鲁B12345", "plateColor": "blue", "direction": "forward", "confidenceLevel": 98}}}

ACCESS_JSON = {"ipAddress": "192.168.1.70", "channelID": 1, "dateTime": "2026-03-01T07:30:00+08:00",
               "activePostCount": 3, "eventType": "AccessControllerEvent", "eventState": "active",
               "AccessControllerEvent": {"majorEventType": 5, "subEventType": 75, "employeeNoString": "R-1024",
                                         "currentVerifyMode": "cardOrFace"}}


def _post(h, dev, body: bytes, content_type: str):
    return h.client.post(f"/push/hik/{dev.device.code}?token={dev.token}", data=body,
                         headers={"Content-Type": content_type})


@pytest.mark.parametrize("namespace", [True, False])
def test_a_line_crossing_in_xml_is_an_intrusion_with_or_without_namespace(provision, namespace):
    cam = provision("ip-camera", f"DS-2CD-{namespace}")

    async def scenario(h):
        return (await _post(h, cam, alert_xml(namespace=namespace), "application/xml")).status

    assert run_gateway(scenario) == 200
    event = Event.objects.get(device=cam.device)
    assert event.type == types.INTRUSION and event.payload == {"rule": "line_crossing", "state": "active"}
    assert event.at.isoformat() == "2026-03-01T13:15:03+00:00"


def test_an_anpr_read_in_json_is_a_plate_read_and_a_resend_is_stored_once(provision):
    cam = provision("lpr-hik-isapi", "HIK-LPR-1")
    body = json.dumps(ANPR_JSON, ensure_ascii=False).encode()

    async def scenario(h):
        first = await (await _post(h, cam, body, "application/json")).json()
        again = await (await _post(h, cam, body, "application/json")).json()
        return first, again

    assert run_gateway(scenario) == ({"stored": 1, "duplicates": 0}, {"stored": 0, "duplicates": 1})
    event = Event.objects.get(device=cam.device)
    assert event.type == types.PLATE_READ and event.payload["plate"] == "鲁B12345"
    assert event.payload["confidence"] == 98


def test_a_face_pass_at_the_door_is_a_granted_access_event(provision):
    door = provision("door-hik-isapi", "DS-K1T-1")

    async def scenario(h):
        return (await _post(h, door, json.dumps(ACCESS_JSON).encode(), "application/json")).status

    assert run_gateway(scenario) == 200
    payload = Event.objects.get(device=door.device).payload
    assert payload["method"] == "face" and payload["granted"] is True and payload["credential_ref"] == "R-1024"


# A large picture is parsed off the event loop; the result must be the same.
@pytest.mark.parametrize("picture", [JPEG, JPEG[:-2] + bytes(200_000) + b"\xff\xd9"], ids=["small", "large"])
def test_a_multipart_alert_keeps_its_jpeg_as_evidence(provision, media_root, picture):
    cam = provision("ip-camera", "DS-2CD-MP")
    boundary = "MIME_boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"fielddetection.xml\"\r\n"
            f"Content-Type: application/xml\r\n\r\n").encode() + alert_xml("fielddetection") + (
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"fielddetectionPicture\"; "
        f"filename=\"fielddetectionPicture.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + picture + (
        f"\r\n--{boundary}--\r\n").encode()

    async def scenario(h):
        return (await _post(h, cam, body, f"multipart/form-data; boundary={boundary}")).status

    assert run_gateway(scenario) == 200
    event = Event.objects.get(device=cam.device)
    assert event.payload["rule"] == "field"
    [evidence] = event.evidence
    assert evidence["kind"] == "image" and evidence["ref"].startswith("events/2026/03/01/")
    assert (media_root / evidence["ref"]).read_bytes() == picture


def test_a_videoloss_heartbeat_is_a_heartbeat(provision):
    cam = provision("ip-camera", "DS-2CD-HB")

    async def scenario(h):
        return (await _post(h, cam, alert_xml("videoloss", state="inactive"), "text/xml")).status

    assert run_gateway(scenario) == 200
    assert Event.objects.get(device=cam.device).type == types.HEARTBEAT


@pytest.mark.parametrize(("body", "reason"), [
    (alert_xml("tamperdetection"), "unsupported eventType tamperdetection"),
    (b"<EventNotificationAlert><eventType>ANPR", "not well-formed XML"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><EventNotificationAlert/>', "DOCTYPE"),
    (b"<Other/>", "XML root is not EventNotificationAlert"),
    (b"hello", "neither JSON nor XML"),
])
def test_an_unusable_alert_is_a_dead_letter_and_a_400(provision, body, reason):
    cam = provision("ip-camera", "DS-2CD-BAD")

    async def scenario(h):
        response = await _post(h, cam, body, "application/xml")
        return response.status, await response.json()

    status, answer = run_gateway(scenario)
    assert status == 400 and reason in answer["error"]
    assert reason in DeadLetter.objects.get(source="http:hik_isapi").reason
    assert not Event.objects.filter(device=cam.device).exists()


# --- the vendor's format, read as documented (fixtures/README.md) ------------------------------

MULTIPART = "multipart/form-data; boundary=MIME_boundary"


def _stored(dev, body: bytes, content_type: str) -> tuple[int, dict]:
    async def scenario(h):
        response = await _post(h, dev, body, content_type)
        return response.status, await response.json()

    return run_gateway(scenario)


def _with_picture(picture: bytes) -> bytes:
    """The documented access-event multipart with its picture part replaced."""
    body = fixture_bytes("hik_isapi_access.multipart")
    head, _, rest = body.partition(b"Content-Type: image/jpeg\r\n")
    _, _, tail = rest.partition(b"\r\n--MIME_boundary--")
    return head + b"Content-Type: image/jpeg\r\n\r\n" + picture + b"\r\n--MIME_boundary--" + tail


def test_the_documented_access_multipart_is_a_pass_with_its_picture(provision, media_root):
    door = provision("door-hik-isapi", "DS-K1T-FX")

    assert _stored(door, fixture_bytes("hik_isapi_access.multipart"), MULTIPART) == (
        200, {"stored": 1, "duplicates": 0})
    event = Event.objects.get(device=door.device)
    assert event.type == types.DOOR_ACCESS and event.payload["credential_ref"] == "R-1024"
    [picture] = event.evidence
    assert picture["kind"] == "image" and "problem" not in picture
    assert (media_root / picture["ref"]).read_bytes()[:2] == b"\xff\xd8"


def test_a_truncated_jpeg_part_is_kept_and_flagged(provision, media_root):
    door = provision("door-hik-isapi", "DS-K1T-TR")
    cut = tiny_jpeg()[:-40]

    assert _stored(door, _with_picture(cut), MULTIPART)[0] == 200
    [picture] = Event.objects.get(device=door.device).evidence
    assert picture["problem"] == "truncated" and (media_root / picture["ref"]).read_bytes() == cut


def test_a_picture_part_that_is_no_picture_is_flagged_and_not_kept(provision, media_root):
    door = provision("door-hik-isapi", "DS-K1T-NP")

    assert _stored(door, _with_picture(b"<html>502 Bad Gateway</html>"), MULTIPART)[0] == 200
    [picture] = Event.objects.get(device=door.device).evidence
    assert picture == {"kind": "image", "field": "Picture", "problem": "not_a_picture"}


def test_an_xml_alert_in_gb2312_is_read_right(provision):
    cam = provision("lpr-hik-isapi", "HIK-GB")
    xml = fixture_bytes("hik_isapi_anpr.xml").decode().replace('encoding="UTF-8"', 'encoding="GB2312"')

    assert _stored(cam, xml.encode("gb2312"), "application/xml")[0] == 200
    assert Event.objects.get(device=cam.device).payload["plate"] == "鲁B12345"


def test_two_cars_read_in_the_same_second_are_two_reads(provision):
    cam = provision("lpr-hik-isapi", "HIK-2CARS")
    first = fixture_bytes("hik_isapi_anpr.xml")
    second = first.decode().replace("鲁B12345", "鲁B54321").encode()

    async def scenario(h):
        return [(await _post(h, cam, body, "application/xml")).status for body in (first, second, first)]

    assert run_gateway(scenario) == [200, 200, 200]
    assert Event.objects.filter(device=cam.device).count() == 2


@pytest.mark.parametrize(("body", "content_type"), [
    (b'{"EventNotificationAlert": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "application/json"),
    (b"<EventNotificationAlert>" + b"<a>" * 5_000 + b"</a>" * 5_000 + b"</EventNotificationAlert>",
     "application/xml"),
])
def test_an_alert_nested_too_deep_is_a_dead_letter_naming_the_nesting(provision, body, content_type):
    cam = provision("ip-camera", "DS-2CD-DEEP")

    status, answer = _stored(cam, body, content_type)
    assert status == 400 and "nested deeper than" in answer["error"]
    assert "nested deeper than" in DeadLetter.objects.get(source="http:hik_isapi").reason
