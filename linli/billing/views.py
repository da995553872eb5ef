"""The providers' payment notifications (POST /pay/notify/<provider>/): plain Django views.

No session, no CSRF token: the provider's signature is the only credential. A notification is
verified (`parse_notification`), credited (`payments.credit_payment`, one transaction, once per
order) and answered the way the provider expects. Anything refused is recorded with its reason
and answered with the failure answer, so the provider sends it again later.
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
from linli.billing.providers.base import NotificationRejected

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


def _answer(provider, accepted: bool) -> HttpResponse:
    status, headers, body = provider.notification_answer(accepted)
    response = HttpResponse(body, status=status, content_type=headers.get("Content-Type", "text/plain"))
    for name, value in headers.items():
        if name.lower() != "content-type":
            response[name] = value
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
        log.warning("%s notification rejected: %s", provider, exc.reason)
        record_rejection(provider, exc.reason, detail=exc.detail, headers=headers)
        return _answer(client, False)
    except payments.PaymentRefused as exc:
        log.warning("%s notification refused: %s", provider, exc.reason)
        record_rejection(provider, exc.reason, out_trade_no=exc.out_trade_no, headers=headers)
        return _answer(client, False)
    except DatabaseError as exc:  # nothing was written (credit_payment is one transaction): ask again later
        log.warning("%s notification not recorded: %s", provider, type(exc).__name__)
        return _answer(client, False)
    if result.credited:
        log.info("%s payment %s credited", provider, result.payment.pk)
    return _answer(client, True)
