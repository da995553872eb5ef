"""Delivery providers behind one interface. The console provider serves the demo and tests;
real SMS and WeChat adapters plug in here by name (LINLI_SMS_PROVIDER)."""

from __future__ import annotations

import logging
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
    template: str
    params: dict[str, str]


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


_PROVIDERS: dict[str, type] = {"console": ConsoleSmsProvider}


def sms_provider() -> SmsProvider:
    try:
        return _PROVIDERS[settings.SMS_PROVIDER]()
    except KeyError as exc:
        raise RuntimeError(f"unknown SMS provider {settings.SMS_PROVIDER!r}") from exc
