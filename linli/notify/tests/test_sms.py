"""Alibaba Cloud SMS (Dysmsapi SendSms): the fake gateway recomputes the RPC signature the way
Alibaba documents it and refuses anything that does not match."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import urllib.parse

import pytest
from django.test import Client

from linli.core.testing import PHONES
from linli.notify.dispatcher import dispatch_due
from linli.notify.models import Delivery, DeliveryStatus
from linli.notify.providers import SendError, SmsMessage, sms_provider
from linli.notify.services import Audience, notify
from linli.notify.tests.fakes import FakeService

SECRET = "testsecret"


def _java_style_encode(value: str) -> str:
    # The documented recipe: form-encode, then + → %20, * → %2A, %7E → ~.
    return urllib.parse.quote_plus(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def _expected_signature(params: dict[str, str]) -> str:
    canonical = "&".join(f"{_java_style_encode(k)}={_java_style_encode(v)}" for k, v in sorted(params.items()))
    to_sign = "POST&%2F&" + _java_style_encode(canonical)
    return base64.b64encode(hmac.new(f"{SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class AliyunFake:
    def __init__(self):
        self.nonces = set()
        self.accepted = []

    def __call__(self, seen):
        params = dict(urllib.parse.parse_qsl(seen.body.decode(), keep_blank_values=True))
        signature = params.pop("Signature", "")
        checks = [
            signature == _expected_signature(params),
            params.get("SignatureMethod") == "HMAC-SHA1" and params.get("SignatureVersion") == "1.0",
            params.get("Action") == "SendSms" and params.get("Version") == "2017-05-25",
            re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", params.get("Timestamp", "")) is not None,
            params.get("SignatureNonce") not in self.nonces,
            seen.headers.get("content-type") == "application/x-www-form-urlencoded",
        ]
        if not all(checks):
            return 400, {}, {"Code": "SignatureDoesNotMatch", "Message": "bad", "RequestId": "x"}
        self.nonces.add(params["SignatureNonce"])
        self.accepted.append(params)
        return 200, {}, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.accepted)}", "RequestId": "r"}


@pytest.fixture
def aliyun(settings):
    fake = AliyunFake()
    with FakeService(fake) as service:
        settings.SMS_PROVIDER = "aliyun"
        settings.SMS_TEMPLATES = {"notification": "SMS_900001", "login_code": "SMS_900002"}
        settings.ALIYUN_SMS = {"access_key_id": "LTAI-test", "access_key_secret": SECRET, "sign_name": "邻里社区",
                               "region": "cn-hangzhou", "endpoint": service.url + "/"}
        yield fake


def test_a_signed_request_with_awkward_characters_is_accepted(aliyun):
    # Space, *, ~, +, & and Chinese are where home-made encoders go wrong.
    message = SmsMessage(phone="13800138001", template="notification",
                         params={"title": "3号楼 烟感*报警~", "body": "a+b&c=d/e"})
    assert sms_provider().send(message) == "biz-1"
    sent = aliyun.accepted[0]
    assert sent["PhoneNumbers"] == "13800138001" and sent["TemplateCode"] == "SMS_900001"
    assert sent["SignName"] == "邻里社区" and json.loads(sent["TemplateParam"])["title"] == "3号楼 烟感*报警~"
    assert abs(dt.datetime.strptime(sent["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
               - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_a_wrong_secret_is_refused_for_good(aliyun, settings):
    settings.ALIYUN_SMS = {**settings.ALIYUN_SMS, "access_key_secret": "wrong"}
    with pytest.raises(SendError) as exc:
        sms_provider().send(SmsMessage(phone="13800138001", template="notification", params={"title": "x"}))
    assert exc.value.reason == "aliyun:400:SignatureDoesNotMatch" and not exc.value.retry


def test_throttling_is_worth_a_retry_and_an_unreachable_gateway_too(settings):
    throttled = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "limit", "RequestId": "r"}
    with FakeService(lambda seen: (200, {}, throttled)) as service:
        settings.SMS_PROVIDER = "aliyun"
        settings.SMS_TEMPLATES = {"notification": "SMS_1"}
        settings.ALIYUN_SMS = {"access_key_id": "id", "access_key_secret": "s", "sign_name": "n", "region": "r",
                               "endpoint": service.url + "/"}
        with pytest.raises(SendError) as exc:
            sms_provider().send(SmsMessage(phone="13800138001", template="notification", params={}))
        assert exc.value.retry
    settings.ALIYUN_SMS = {**settings.ALIYUN_SMS, "endpoint": service.url + "/"}  # the server is gone now
    with pytest.raises(SendError) as exc:
        sms_provider().send(SmsMessage(phone="13800138001", template="notification", params={}))
    assert exc.value.retry and exc.value.reason.startswith("aliyun:network:")


@pytest.mark.django_db
def test_a_life_safety_sms_reaches_the_residents_phone_and_the_log_shows_it_masked(district, aliyun, caplog):
    caplog.set_level(logging.DEBUG)
    a = district.a
    n = notify(compound_id=a.compound.pk, audience=Audience(residents_of_building=a.building.pk),
               title="3号楼2单元烟感报警", body="请立即撤离", severity="critical", life_safety=True)
    dispatch_due()
    delivery = Delivery.objects.get(notification=n, channel="sms")
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_message_id == "biz-1"
    assert aliyun.accepted[0]["PhoneNumbers"] == PHONES["a_owner"]
    assert json.loads(aliyun.accepted[0]["TemplateParam"]) == {"title": "3号楼2单元烟感报警", "body": "请立即撤离"}
    assert PHONES["a_owner"] not in caplog.text and "138****8001" in caplog.text


@pytest.mark.django_db
def test_resident_login_codes_go_through_the_same_gateway(district, aliyun):
    response = Client().post("/api/auth/code", {"phone": PHONES["a_owner"]}, content_type="application/json")
    assert response.status_code == 202
    sent = aliyun.accepted[-1]
    assert sent["TemplateCode"] == "SMS_900002" and re.fullmatch(r"\d{6}", json.loads(sent["TemplateParam"])["code"])
