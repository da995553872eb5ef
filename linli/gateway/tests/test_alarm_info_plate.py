"""LPR gate cameras (AlarmInfoPlate): the response is the gate command, offline records continue."""

from __future__ import annotations

import base64
import json

import pytest

from linli.devices import decisions
from linli.devices.adapters import alarm_info_plate
from linli.devices.decisions import GateDecision, GateQuery
from linli.events import types
from linli.events.models import DeadLetter, Event
from linli.gateway.tests.conftest import run_gateway

pytestmark = pytest.mark.django_db(transaction=True)

TINY_JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16 + b"\xff\xd9"


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

    decisions.GATE_DECIDERS.append(decide)
    yield decide
    decisions.GATE_DECIDERS.remove(decide)


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
    assert event.type == types.PLATE_READ and event.message_id == "plate:90813"
    assert event.payload == {"plate": "鲁VF0050", "colour": "blue", "confidence": 94, "direction": 4,
                             "plate_id": 90813, "offline": False}
    assert event.at.timestamp() == 1646063999
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

    decisions.GATE_DECIDERS.append(broken)
    try:
        answer = run_gateway(lambda h: _json(_post(h, cam, plate_read())))
    finally:
        decisions.GATE_DECIDERS.remove(broken)
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
