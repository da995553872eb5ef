"""SMS providers behind one interface, chosen by `LINLI_SMS_PROVIDER`.

`console` (the default) writes the message to the log with the phone masked: the demo and the
tests. `aliyun` sends through Alibaba Cloud SMS (Dysmsapi `SendSms`, RPC signature v1.0).
Resident login codes (accounts) and notifications (the dispatcher) both send through here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from linli.core.masking import mask_phone

log = logging.getLogger("linli.notify")


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    template: str  # Linli's template name ("login_code", "notification"); providers map it to theirs
    params: dict[str, str]


class SendError(Exception):
    """A provider refused or could not take a message. `reason` names it without personal data;
    `retry` says whether trying again later may help (timeouts, 5xx, throttling)."""

    def __init__(self, reason: str, *, retry: bool):
        super().__init__(reason)
        self.reason = reason[:200]
        self.retry = retry


class SmsProvider(Protocol):
    def send(self, message: SmsMessage) -> str: ...


class ConsoleSmsProvider:
    """Writes the message to the console log with the phone number masked (demo only)."""

    # The last messages, for tests and the demo; bounded so a long-running demo does not grow.
    sent: deque[SmsMessage] = deque(maxlen=100)

    def send(self, message: SmsMessage) -> str:
        ConsoleSmsProvider.sent.append(message)
        log.info("SMS to %s: %s %s", mask_phone(message.phone), message.template, message.params)
        return f"console-{uuid.uuid4().hex[:12]}"


def percent_encode(value: str) -> str:
    """Alibaba Cloud's RPC encoding: RFC 3986 unreserved characters stay, all else is %XX of
    UTF-8 (space is %20, `*` is %2A, `~` stays)."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Signature v1.0: HMAC-SHA1 with key `secret + "&"` over
    `METHOD & %2F & percent(canonical query)`, where the canonical query is the parameters
    (without Signature) sorted by name, each name and value percent-encoded."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Codes that say "not now" rather than "never": throttling and the service's own trouble.
ALIYUN_RETRY_CODES = ("Throttling", "isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable", "InternalError",
                      "isp.SYSTEM_ERROR", "SignatureNonceUsed")


class AliyunSmsProvider:
    """Alibaba Cloud SMS (阿里云短信服务) `SendSms`, API version 2017-05-25.

    Settings: `ALIYUN_SMS` (access key id and secret, sign name, endpoint) and `SMS_TEMPLATES`
    (Linli template name → the approved TemplateCode, e.g. `notification=SMS_123456`).
    """

    version = "2017-05-25"

    def send(self, message: SmsMessage) -> str:
        conf = settings.ALIYUN_SMS
        template_code = settings.SMS_TEMPLATES.get(message.template)
        if not (conf["access_key_id"] and conf["access_key_secret"] and conf["sign_name"]):
            raise SendError("sms_not_configured", retry=False)
        if not template_code:
            raise SendError(f"sms_template_missing:{message.template}", retry=False)
        params = {
            "AccessKeyId": conf["access_key_id"],
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": message.phone,
            "RegionId": conf["region"],
            "SignName": conf["sign_name"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(message.params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.version,
        }
        params["Signature"] = aliyun_signature(params, conf["access_key_secret"], "POST")
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items()).encode()
        # The endpoint comes from settings (https by default), never from a request.
        request = urllib.request.Request(conf["endpoint"], data=body, method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        status, answer = _exchange(request, "aliyun")
        code = str(answer.get("Code", ""))
        if status == 200 and code == "OK":
            log.info("SMS to %s sent (%s)", mask_phone(message.phone), message.template)
            return str(answer.get("BizId", ""))
        retry = status >= 500 or code.startswith(ALIYUN_RETRY_CODES)
        raise SendError(f"aliyun:{status}:{code or 'no_code'}", retry=retry)


def _exchange(request: urllib.request.Request, name: str) -> tuple[int, dict]:
    """Send and read a JSON answer; network trouble and 5xx are worth retrying, never logged
    with the request (it carries the phone number)."""
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFY_SEND_TIMEOUT_SECONDS) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (OSError, ValueError) as exc:
        raise SendError(f"{name}:network:{type(exc).__name__}", retry=True) from None
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    if status >= 500 and not answer:
        raise SendError(f"{name}:{status}", retry=True)
    return status, answer if isinstance(answer, dict) else {}


_PROVIDERS: dict[str, type] = {"console": ConsoleSmsProvider, "aliyun": AliyunSmsProvider}


def sms_provider() -> SmsProvider:
    try:
        return _PROVIDERS[settings.SMS_PROVIDER]()
    except KeyError as exc:
        raise RuntimeError(f"unknown SMS provider {settings.SMS_PROVIDER!r}") from exc
