"""The providers' payment notifications (POST /pay/notify/<provider>/): plain Django views.

No session, no CSRF token: the provider's signature is the only credential. A notification is
verified (`parse_notification`), credited (`payments.credit_payment`, one transaction, once per
order) and answered the way the provider expects. Anything refused is recorded with its reason
and answered with the failure answer (WeChat Pay: 401 when it could not be verified, 400 when it
is not ours to act on), so the provider sends it again later. A refusal is the provider's or an
impostor's doing, not a fault of ours: it is logged here as one warning naming the reason, and
Django's request logger is told so it adds no "Internal Server Error" or "Bad Request" line.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from linli.billing import payments
from linli.billing.models import ONLINE_PROVIDERS, PaymentNotificationRejection
from linli.billing.providers import ProviderNotConfigured, configured
from linli.billing.providers.base import NotificationAnswer, NotificationRejected

log = logging.getLogger("linli.billing")

# Headers worth keeping with a rejection; the signature and anything else stay out.
KEPT_HEADERS = ("content-type", "user-agent", "request-id", "wechatpay-serial", "wechatpay-timestamp",
                "wechatpay-signature-type")


def record_rejection(provider: str, reason: str, *, detail: str = "", out_trade_no: str = "",
                     headers: dict[str, str] | None = None) -> PaymentNotificationRejection:
    kept = {k.lower(): str(v)[:200] for k, v in (headers or {}).items() if k.lower() in KEPT_HEADERS}
    return PaymentNotificationRejection.objects.create(provider=provider, reason=reason[:40], detail=detail[:120],
                                                       out_trade_no=out_trade_no[:64], headers=kept,
                                                       at=timezone.now())


def _answer(provider, outcome: int) -> HttpResponse:
    status, headers, body = provider.notification_answer(outcome)
    response = HttpResponse(body, status=status, content_type=headers.get("Content-Type", "text/plain"))
    for name, value in headers.items():
        if name.lower() != "content-type":
            response[name] = value
    return response


def _refused(client, provider: str, outcome: int, reason: str) -> HttpResponse:
    """The failure answer for a notification we will not act on, with its one log line (the reason
    code only: the body and headers name the payer's account)."""
    response = _answer(client, outcome)
    log.warning("%s notification refused (%s): %s", provider, response.status_code, reason)
    # Already logged, as a warning: Django's request logger would add an ERROR line for a 5xx
    # answer and a second warning for a 4xx one (django.utils.log.log_response honours this).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@csrf_exempt
@require_POST
def notification(request: HttpRequest, provider: str) -> HttpResponse:
    if provider not in ONLINE_PROVIDERS:
        raise Http404
    try:
        client = configured(provider)
    except ProviderNotConfigured as exc:
        log.warning("notification for %s, which is not configured: %s", provider, exc.missing)
        return HttpResponse(status=503)
    headers = dict(request.headers)
    try:
        notice = client.parse_notification(headers, request.body)
        result = payments.credit_payment(notice)
    except NotificationRejected as exc:
        record_rejection(provider, exc.reason, detail=exc.detail, headers=headers)
        outcome = NotificationAnswer.UNVERIFIED if exc.unverified else NotificationAnswer.REFUSED
        return _refused(client, provider, outcome, exc.reason)
    except payments.PaymentRefused as exc:
        record_rejection(provider, exc.reason, detail=exc.detail, out_trade_no=exc.out_trade_no, headers=headers)
        return _refused(client, provider, NotificationAnswer.REFUSED, exc.reason)
    except DatabaseError as exc:  # nothing was written (credit_payment is one transaction): ask again later
        log.warning("%s notification not recorded: %s", provider, type(exc).__name__)
        return _answer(client, NotificationAnswer.UNAVAILABLE)
    if result.credited:
        log.info("%s payment %s credited", provider, result.payment.pk)
    return _answer(client, NotificationAnswer.ACCEPTED)
