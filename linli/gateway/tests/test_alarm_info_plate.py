"""LPR gate cameras (AlarmInfoPlate): the response is the gate command, offline records continue."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from linli.devices import decisions
from linli.devices.adapters import alarm_info_plate
from linli.devices.decisions import GateDecision, GateQuery
from linli.events import types
from linli.events.models import DeadLetter, Event
from linli.gateway.tests.conftest import fixture_bytes, run_gateway, tiny_jpeg

pytestmark = pytest.mark.django_db(transaction=True)

TINY_JPEG = tiny_jpeg()


def plate_read(plate="鲁VF0050", plate_id=90813, *, offline=0, colour=1, image: bytes | None = None) -> dict:
    result = {"license": plate, "colorType": colour, "type": 1, "confidence": 94, "direction": 4,
              "location": {"RECT": {"left": 1141, "top": 651, "right": 1405, "bottom": 727}},
              "timeStamp": {"Timeval": {"sec": 1646063999, "usec": 638740}}, "triggerType": 8,
              "plateid": plate_id, "imagePath": "/mmc/VzIPCCap/2022_02_28/1.jpg", "isoffline": offline}
    if image is not None:
        result["imageFile"] = base64.b64encode(image).decode()
    return {"AlarmInfoPlate": {"channel": 0, "deviceName": "IVS", "ipaddr": "192.168.1.100",
                               "serialno": "e1a0b2c3-d4e5f6a7", "result": {"PlateResult": result}}}


@pytest.fixture
def resident_decider():
    def decide(query: GateQuery) -> GateDecision | None:
        if query.plate == "鲁VF0050":
            return GateDecision(open=True, display_text="欢迎回家")
        return None

    decisions.GATE_DECIDERS.register(decide)
    yield decide
    decisions.GATE_DECIDERS.unregister(decide)


def _post(h, cam, body):
    return h.client.post(f"/push/alarm-info-plate/{cam.device.code}?token={cam.token}",
                         data=json.dumps(body, ensure_ascii=False).encode(),
                         headers={"Content-Type": "application/json"})


def test_a_known_plate_lifts_the_barrier_with_a_welcome_on_the_led_board(provision, resident_decider,
                                                                          media_root):
    cam = provision("lpr-alarminfoplate", "e1a0b2c3-d4e5f6a7")

    async def scenario(h):
        response = await _post(h, cam, plate_read(image=TINY_JPEG))
        return response.status, await response.json()

    status, body = run_gateway(scenario)
    answer = body["Response_AlarmInfoPlate"]
    assert status == 200 and answer["info"] == "ok" and answer["content"] == "retransfer_stop"
    [serial] = answer["serialData"]
    assert base64.b64decode(serial["data"]).decode("gbk") == "欢迎回家" and serial["dataLen"] == 8
    event = Event.objects.get(device=cam.device)
    assert event.type == types.PLATE_READ and event.message_id == "plate:90813:1646063999.638740:鲁VF0050"
    assert event.payload == {"plate": "鲁VF0050", "colour": "blue", "confidence": 94, "direction": 4,
                             "plate_id": 90813, "offline": False}
    assert event.at == dt.datetime(2022, 2, 28, 15, 59, 59, 638740, tzinfo=dt.UTC)
    [evidence] = event.evidence
    assert evidence["ref"].startswith("events/2022/02/28/")  # 23:59:59 in Shanghai, the local day
    assert (media_root / evidence["ref"]).read_bytes() == TINY_JPEG


def test_an_unknown_plate_keeps_the_barrier_down_and_asks_for_the_guard(provision, resident_decider):
    cam = provision("lpr-alarminfoplate", "LPR-2")

    async def scenario(h):
        response = await _post(h, cam, plate_read("京A12345", 7, colour=2))
        return await response.json()

    answer = run_gateway(scenario)["Response_AlarmInfoPlate"]
    assert answer["info"] == "no"
    assert base64.b64decode(answer["serialData"][0]["data"]).decode("gbk") == decisions.DEFAULT_REFUSAL_TEXT
    assert Event.objects.get(device=cam.device).payload["colour"] == "yellow"


def test_a_resent_read_is_stored_once_and_answered_again(provision, resident_decider):
    cam = provision("lpr-alarminfoplate", "LPR-3")

    async def scenario(h):
        first = await (await _post(h, cam, plate_read())).json()
        second = await (await _post(h, cam, plate_read())).json()
        return first, second

    first, second = run_gateway(scenario)
    assert first == second and first["Response_AlarmInfoPlate"]["info"] == "ok"
    assert Event.objects.filter(device=cam.device).count() == 1


def test_an_offline_record_is_stored_and_the_camera_asked_for_the_next(provision, resident_decider):
    cam = provision("lpr-alarminfoplate", "LPR-4")

    async def scenario(h):
        return await (await _post(h, cam, plate_read(plate_id=123, offline=1))).json()

    assert run_gateway(scenario) == {"Response_AlarmInfoPlate": {"ContinuePushOffline": {"plateid": 123,
                                                                                           "continue": 1}}}
    assert Event.objects.get(device=cam.device).payload["offline"] is True


def test_a_broken_decider_keeps_the_barrier_down_rather_than_failing(provision):
    cam = provision("lpr-alarminfoplate", "LPR-5")

    def broken(query):
        raise RuntimeError("tariff cache not ready")

    decisions.GATE_DECIDERS.register(broken)
    try:
        answer = run_gateway(lambda h: _json(_post(h, cam, plate_read())))
    finally:
        decisions.GATE_DECIDERS.unregister(broken)
    assert answer["Response_AlarmInfoPlate"]["info"] == "no"


async def _json(request):
    return await (await request).json()


def test_a_read_without_plateid_is_a_dead_letter(provision):
    cam = provision("lpr-alarminfoplate", "LPR-6")
    body = plate_read()
    del body["AlarmInfoPlate"]["result"]["PlateResult"]["plateid"]

    async def scenario(h):
        response = await _post(h, cam, body)
        return response.status, await response.json()

    status, answer = run_gateway(scenario)
    assert status == 400 and "plateid" in answer["error"]
    assert DeadLetter.objects.get(source="http:alarm_info_plate").device_id == cam.device.pk


def test_a_camera_of_another_protocol_cannot_use_this_endpoint(provision):
    hik = provision("lpr-hik-isapi", "HIK-1")

    async def scenario(h):
        return (await _post(h, hik, plate_read())).status

    assert run_gateway(scenario) == 400
    assert "not alarm_info_plate" in DeadLetter.objects.get(source="http:alarm_info_plate").reason


def test_serial_data_is_gbk_text_in_base64():
    [entry] = alarm_info_plate.serial_data(GateDecision(open=False, display_text="请联系门岗"))
    assert entry == {"serialChannel": 0, "data": base64.b64encode("请联系门岗".encode("gbk")).decode(),
                     "dataLen": 10}
    frames = alarm_info_plate.serial_data(GateDecision(open=True, serial_frames=[b"\xaa\x01", b"\x55"]))
    assert [f["dataLen"] for f in frames] == [2, 1]


# --- the vendor's format, read as documented (fixtures/README.md) ------------------------------

def _post_bytes(h, cam, body: bytes, content_type: str = "application/json"):
    return h.client.post(f"/push/alarm-info-plate/{cam.device.code}?token={cam.token}", data=body,
                         headers={"Content-Type": content_type})


def _answer(cam, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    async def scenario(h):
        response = await _post_bytes(h, cam, body, content_type)
        return response.status, await response.json()

    return run_gateway(scenario)


def _documented(**changes) -> dict:
    body = json.loads(fixture_bytes("alarm_info_plate.json"))
    body["AlarmInfoPlate"]["result"]["PlateResult"].update(changes)
    return body


def _encode(body: dict, charset: str = "utf-8") -> bytes:
    return json.dumps(body, ensure_ascii=False).encode(charset)


@pytest.fixture
def gate_queries():
    """The gate questions the deciders were asked (answering none of them)."""
    asked: list[GateQuery] = []

    def record(query: GateQuery) -> None:
        asked.append(query)

    decisions.GATE_DECIDERS.register(record, order=0)
    yield asked
    decisions.GATE_DECIDERS.unregister(record)


def test_the_documented_push_is_one_plate_read_keyed_by_id_time_and_plate(provision, gate_queries):
    cam = provision("lpr-alarminfoplate", "0f823866-d2dc45ab")

    status, answer = _answer(cam, fixture_bytes("alarm_info_plate.json"))
    assert status == 200 and answer["Response_AlarmInfoPlate"]["info"] == "no"
    event = Event.objects.get(device=cam.device)
    assert event.payload == {"plate": "鲁VF0050", "colour": "blue", "confidence": 94, "direction": 4,
                             "plate_id": 90813, "offline": False}
    assert event.message_id == "plate:90813:1646063999.638740:鲁VF0050"
    assert [q.plate for q in gate_queries] == ["鲁VF0050"]


def test_a_read_without_a_plate_is_stored_as_no_plate_and_the_barrier_stays_down(provision, gate_queries):
    cam = provision("lpr-alarminfoplate", "LPR-NP")

    status, answer = _answer(cam, _encode(_documented(license="_无_", colorType=0)))
    assert status == 200 and answer["Response_AlarmInfoPlate"]["info"] == "no"
    payload = Event.objects.get(device=cam.device).payload
    assert payload["plate"] is None and payload["colour"] == "unknown"
    assert [q.plate for q in gate_queries] == [""]


def test_a_three_region_plate_is_read_as_its_plates_the_mainland_one_first(provision, gate_queries):
    cam = provision("lpr-alarminfoplate", "LPR-3R")

    status, _ = _answer(cam, _encode(_documented(license="粤ZJ068澳|MX7742|ZM127")))
    payload = Event.objects.get(device=cam.device).payload
    assert status == 200 and payload["plate"] == "粤ZJ068澳"
    assert payload["plates"] == ["粤ZJ068澳", "MX7742", "ZM127"]
    assert [q.plate for q in gate_queries] == ["粤ZJ068澳"]


@pytest.mark.parametrize("charset", ["gbk", "GB2312", "gb18030"])
def test_a_body_in_the_declared_chinese_charset_is_read_right(provision, resident_decider, charset):
    cam = provision("lpr-alarminfoplate", f"LPR-{charset}")

    status, answer = _answer(cam, _encode(_documented(), "gbk"), f"application/json; charset={charset}")
    assert status == 200 and answer["Response_AlarmInfoPlate"]["info"] == "ok"
    assert Event.objects.get(device=cam.device).payload["plate"] == "鲁VF0050"


# 鲁 in GBK is C2 B3, which is also UTF-8 (for "³"): undeclared GBK can pass as UTF-8, and only
# the plate's characters give it away.
@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (_encode(_documented(), "gbk"), "application/json", "PlateResult.license: not plate text"),
    (_encode(_documented(), "gbk"), "application/json; charset=utf-8", "PlateResult.license: not plate text"),
    (_encode(_documented(license="京A12345"), "gbk"), "application/json", "body is not valid UTF-8 text"),
    (_encode(_documented(), "gbk"), "application/json; charset=klingon", "charset klingon is unknown"),
])
def test_a_body_that_is_not_text_in_its_charset_is_a_dead_letter_never_garbled(provision, body, content_type,
                                                                               reason):
    cam = provision("lpr-alarminfoplate", "LPR-GARBLED")

    status, answer = _answer(cam, body, content_type)
    assert status == 400 and reason in answer["error"]
    assert reason in DeadLetter.objects.get(source="http:alarm_info_plate").reason
    assert not Event.objects.filter(device=cam.device).exists()


def test_an_unusable_picture_is_flagged_and_the_plate_read_kept(provision, resident_decider, media_root):
    cam = provision("lpr-alarminfoplate", "LPR-PIC")
    truncated = TINY_JPEG[:-2]
    body = _documented(imageFile="***not base64***",
                       imageFragmentFile=base64.b64encode(truncated).decode())

    status, answer = _answer(cam, _encode(body))
    assert status == 200 and answer["Response_AlarmInfoPlate"]["info"] == "ok"
    event = Event.objects.get(device=cam.device)
    assert event.payload["plate"] == "鲁VF0050"
    not_base64, cut = event.evidence
    assert not_base64 == {"kind": "image", "field": "imageFile", "problem": "not_base64"}
    assert cut["field"] == "imageFragmentFile" and cut["problem"] == "truncated"
    assert (media_root / cut["ref"]).read_bytes() == truncated  # what arrived is kept, flagged


def test_a_picture_shorter_than_its_declared_length_is_flagged_truncated(provision, media_root):
    cam = provision("lpr-alarminfoplate", "LPR-LEN")
    body = _documented(imageFile=base64.b64encode(TINY_JPEG).decode(), imageFileLen=len(TINY_JPEG) + 1000)

    assert _answer(cam, _encode(body))[0] == 200
    [picture] = Event.objects.get(device=cam.device).evidence
    assert picture["problem"] == "truncated" and (media_root / picture["ref"]).exists()


def test_a_camera_that_recycles_plate_ids_loses_no_later_read(provision):
    cam = provision("lpr-alarminfoplate", "LPR-RECYCLE")
    first = _documented()
    later = _documented(license="京A12345", timeStamp={"Timeval": {"sec": 1646070000, "usec": 5}})

    async def scenario(h):
        answers = []
        for body in (first, later, first):  # the last one is a resend of the first
            answers.append((await _post_bytes(h, cam, _encode(body))).status)
        return answers

    assert run_gateway(scenario) == [200, 200, 200]
    assert sorted(Event.objects.filter(device=cam.device).values_list("payload__plate", flat=True)) == [
        "京A12345", "鲁VF0050"]


def test_a_body_nested_too_deep_is_a_dead_letter_naming_the_nesting(provision):
    cam = provision("lpr-alarminfoplate", "LPR-DEEP")

    status, answer = _answer(cam, b'{"AlarmInfoPlate": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    assert status == 400 and "nested deeper than" in answer["error"]
    assert "nested deeper than" in DeadLetter.objects.get(source="http:alarm_info_plate").reason


def test_a_refused_gbk_body_is_kept_readable_in_its_dead_letter(provision):
    cam = provision("lpr-alarminfoplate", "LPR-GBK-DL")
    body = _documented()
    del body["AlarmInfoPlate"]["result"]["PlateResult"]["plateid"]

    status, _ = _answer(cam, _encode(body, "gbk"), "application/json; charset=gbk")
    assert status == 400
    assert "鲁VF0050" in DeadLetter.objects.get(source="http:alarm_info_plate").raw
