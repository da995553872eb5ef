"""The vendor adapters alone: pure functions from bytes to Linli events, no database."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from linli.devices.adapters import alarm_info_plate, hik_isapi, linli_json, nbiot_webhook
from linli.devices.adapters.base import AdapterError, PushRequest, read_json
from linli.devices.adapters.pictures import (
    NOT_A_PICTURE,
    TRUNCATED,
    UNREADABLE,
    base64_picture_evidence,
    picture_problem,
)
from linli.devices.directory import DeviceRef
from linli.events import types
from linli.gateway.tests.conftest import tiny_jpeg
from linli.gateway.tests.test_alarm_info_plate import plate_read
from linli.gateway.tests.test_hik_isapi import ACCESS_JSON, alert_xml

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def ref(kind="ip_camera", protocol="hik_isapi") -> DeviceRef:
    return DeviceRef(id=7, code="c-7", compound_id=3, type_code="t", kind=kind, protocol=protocol,
                     life_safety=False, lifecycle="active", serial="S7")


def push(body: bytes, device: DeviceRef | None = None, content_type="application/json") -> PushRequest:
    return PushRequest(body=body, headers={"Content-Type": content_type}, query={}, device=device or ref(),
                       received_at=NOW)


def test_isapi_xml_with_and_without_namespace_give_the_same_event():
    with_ns = hik_isapi.parse(push(alert_xml(namespace=True), content_type="application/xml")).messages[0]
    without = hik_isapi.parse(push(alert_xml(namespace=False), content_type="application/xml")).messages[0]
    assert with_ns == without and with_ns.type == types.INTRUSION


def test_isapi_message_id_changes_with_the_post_count_only_when_it_should():
    first = hik_isapi.parse(push(alert_xml(post_count=1))).messages[0].message_id
    again = hik_isapi.parse(push(alert_xml(post_count=1))).messages[0].message_id
    later = hik_isapi.parse(push(alert_xml(post_count=2))).messages[0].message_id
    assert first == again != later and len(first) <= 80


def test_isapi_access_refusal_is_not_granted():
    refused = {**ACCESS_JSON, "AccessControllerEvent": {**ACCESS_JSON["AccessControllerEvent"], "subEventType": 76}}
    message = hik_isapi.parse(push(json.dumps(refused).encode())).messages[0]
    assert message.type == types.DOOR_ACCESS and message.payload["granted"] is False


def test_isapi_multipart_without_an_alert_part_is_refused():
    body = b"--b\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xd9\r\n--b--\r\n"
    with pytest.raises(AdapterError, match="no EventNotificationAlert part"):
        hik_isapi.parse(push(body, content_type="multipart/form-data; boundary=b"))


def test_alarm_info_plate_maps_colours_and_flags_bad_base64_without_losing_the_read():
    message = alarm_info_plate.parse(push(json.dumps(plate_read(colour=5)).encode(), ref(
        "lpr_camera", "alarm_info_plate"))).messages[0]
    assert message.payload["colour"] == "green" and message.message_id.startswith("plate:90813:")
    bad = plate_read()
    bad["AlarmInfoPlate"]["result"]["PlateResult"]["imageFile"] = "***"
    parsed = alarm_info_plate.parse(push(json.dumps(bad).encode()))
    assert parsed.files == [] and parsed.messages[0].payload["plate"] == "鲁VF0050"
    assert parsed.messages[0].evidence == [{"kind": "image", "field": "imageFile", "problem": "not_base64"}]


def test_linli_json_names_the_failing_item_in_a_list():
    good = {"message_id": "a", "type": types.HEARTBEAT, "at": "2026-03-01T00:00:00Z"}
    with pytest.raises(AdapterError, match=r"^\[1\]\.type"):
        linli_json.parse(push(json.dumps([good, {**good, "type": "nope"}]).encode()))


def test_nbiot_signature_depends_on_nonce_secret_and_body():
    signature = nbiot_webhook.sign("s", "n", b"{}")
    assert signature != nbiot_webhook.sign("s", "m", b"{}") != nbiot_webhook.sign("t", "n", b"{}")
    assert signature != nbiot_webhook.sign("s", "n", b"{ }")


def test_nbiot_report_needs_a_read_message_type_a_known_product_an_imei_and_ms_timestamp(monkeypatch):
    monkeypatch.setenv("LINLI_NBIOT_PRODUCTS_CTWING", "15012345")
    with pytest.raises(AdapterError, match="messageType"):
        nbiot_webhook.read_report("ctwing", b'{"messageType": "deviceOnline"}')
    with pytest.raises(AdapterError, match="productId 1501: not a product configured for ctwing"):
        nbiot_webhook.read_report("ctwing", b'{"messageType": "dataReport", "productId": "1501", "IMEI": "1"}')
    with pytest.raises(AdapterError, match="timestamp"):
        nbiot_webhook.read_report("ctwing", b'{"messageType": "dataReport", "productId": 15012345, "IMEI": "1", '
                                            b'"payload": {}}')


def test_bodies_are_read_in_their_declared_charset_and_bounded_in_depth():
    assert read_json("{\"plate\": \"鲁VF0050\"}".encode("gbk"), charset="GB2312") == {"plate": "鲁VF0050"}
    assert read_json(b"\xef\xbb\xbf[1]") == [1]  # a byte-order mark before UTF-8
    assert isinstance(read_json(b"[" * 32 + b"]" * 32), list)  # 32 levels are allowed
    for data, reason in ((b"[" * 33 + b"]" * 33, "nested deeper than 32 levels"),
                         (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
                         (b"\xbe\xa9", "not valid UTF-8 text"), (b"{", "not valid JSON")):
        with pytest.raises(AdapterError, match=reason):
            read_json(data)
    with pytest.raises(AdapterError, match="charset base64 is unknown"):
        read_json(b"[]", charset="base64")


def test_pictures_in_base64_are_read_as_firmware_sends_them():
    jpeg, at = tiny_jpeg(), dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    text = base64.b64encode(jpeg).decode()
    for encoded, declared in ((text, len(jpeg)),  # the picture's length (Vzenith)
                              (text, len(text)),  # the text's length (some OEM firmware)
                              ("\n".join(text[i:i + 76] for i in range(0, len(text), 76)), None),  # wrapped
                              (base64.urlsafe_b64encode(jpeg).decode().replace("=", "."), None)):  # URL-safe
        entry, file = base64_picture_evidence(encoded, at=at, field="imageFile", declared_length=declared)
        assert "problem" not in entry and file.data == jpeg
    entry, file = base64_picture_evidence(text[:-8], at=at, field="imageFile", declared_length=len(jpeg))
    assert entry["problem"] == TRUNCATED


def test_a_picture_is_checked_by_its_markers_and_header_only():
    jpeg = tiny_jpeg()
    assert picture_problem(jpeg) == (None, "jpg")
    assert picture_problem(jpeg + b"\x00" * 16) == (None, "jpg")  # padding after the end marker
    assert picture_problem(jpeg[:-2]) == (TRUNCATED, "jpg")
    assert picture_problem(jpeg, declared_length=len(jpeg) + 1) == (TRUNCATED, "jpg")
    assert picture_problem(jpeg[:3] + b"\x00" * 40 + b"\xff\xd9") == (UNREADABLE, "jpg")
    assert picture_problem(b"GIF89a") == (NOT_A_PICTURE, "")
