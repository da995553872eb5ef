"""Paying bills online: place the provider's order for a payment, find out what became of it.

`pay_online` records the payment (`payments.start_payment`, its own transaction) and then asks
the provider for the order outside any database transaction, so no bill stays locked while a
provider is slow. A provider that fails leaves the payment `created`: paying again reuses it
(the same out_trade_no is the same order at both providers), and the recovery job closes it
once its order has expired. Money is credited only through `payments.credit_payment`, from a
verified notification (linli/billing/views.py) or a verified query answer (here).
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing import payments
from linli.billing.models import ONLINE_PROVIDERS, Bill, Payment, PaymentBill, PaymentStatus
from linli.billing.providers import ProviderNotConfigured, configured
from linli.billing.providers.base import PaymentOrder, ProviderError
from linli.billing.providers.base import PaymentStatus as NoticeStatus
from linli.core.errors import Conflict
from linli.core.services import field_error, require, save_changes

log = logging.getLogger("linli.billing")

# How long a provider's order can be paid; the recovery job closes ours after it.
ORDER_TTL = dt.timedelta(minutes=30)
SCENES = {"wechatpay": ("h5", "native", "jsapi"), "alipay": ("wap", "page")}
JOB_LABEL = "billing.payment_recovery"


@dataclass(frozen=True)
class Checkout:
    payment: Payment
    redirect_url: str = ""  # H5 / wap: send the payer's browser here
    code_url: str = ""  # native: show as a QR code
    jsapi: dict | None = None  # JSAPI: parameters for WeixinJSBridge


def notify_url(provider: str) -> str:
    """Where the provider posts its notifications: the deployment's public URL + /pay/notify/<provider>/."""
    base = (getattr(settings, "PAYMENT_NOTIFY_BASE_URL", "") or "").rstrip("/")
    if not base:
        raise ProviderNotConfigured(provider, "LINLI_PUBLIC_URL")
    return f"{base}/pay/notify/{provider}/"


def _provider(name: str) -> Any:
    try:
        provider = configured(name)
        notify_url(name)
    except ProviderNotConfigured as exc:
        log.warning("payment provider not configured: %s", exc.missing)
        raise field_error("provider", _("该支付方式暂未开通")) from None
    return provider


def _return_url(return_url: str, payment: Payment) -> str:
    if not return_url:
        return ""
    url = return_url.replace("{payment}", str(payment.pk))
    base = (getattr(settings, "PAYMENT_NOTIFY_BASE_URL", "") or "").rstrip("/")
    if url.startswith("/") and not url.startswith("//"):
        return base + url
    if base and (url == base or url.startswith(base + "/")):
        return url
    # The provider sends the payer's browser there: only our own pages.
    raise field_error("return_url", _("返回地址必须是本站的页面"))


def _reusable(actor: Any, bills: Sequence[Bill], provider: str) -> Payment | None:
    """An order this person started for exactly these bills a moment ago and never paid."""
    ids = [b.pk for b in bills]
    total = sum(b.outstanding_fen for b in bills)
    recent = timezone.now() - ORDER_TTL + dt.timedelta(minutes=5)
    for payment in Payment.objects.filter(status=PaymentStatus.CREATED, provider=provider, started_by=actor,
                                          house_id=bills[0].house_id, amount_fen=total, created_at__gte=recent):
        chosen = list(PaymentBill.objects.filter(payment=payment).order_by("position").values_list("bill_id", flat=True))
        if chosen == ids:
            return payment
    return None


def pay_online(*, actor: Any, bills: Sequence[Bill], provider: str, scene: str = "h5", client_ip: str = "",
               return_url: str = "", payer_openid: str = "") -> Checkout:
    """Start (or resume) an online payment of the bills and place its order with the provider.

    `scene`: WeChat Pay h5 (needs `client_ip`), native (a QR code) or jsapi (needs `payer_openid`);
    Alipay wap or page. `return_url` (our own page; `{payment}` is replaced by the payment's id)
    is where the provider sends the payer's browser afterwards. A provider failure is a 409 on
    `provider`; the payment stays `created` and paying again retries the same order.
    """
    if provider not in ONLINE_PROVIDERS:
        raise field_error("provider", _("不支持的支付方式"))
    if scene not in SCENES[provider]:
        raise field_error("scene", _("该支付方式不支持此支付场景"))
    if provider == "wechatpay" and scene == "h5" and not client_ip:
        raise field_error("client_ip", _("缺少付款人的IP地址"))
    if provider == "wechatpay" and scene == "jsapi" and not payer_openid:
        raise field_error("payer_openid", _("请先绑定微信"))
    client = _provider(provider)
    for bill in bills:
        require(actor, bill, "view")
    payment = _reusable(actor, bills, provider) if bills else None
    if payment is None:
        payment = payments.start_payment(actor=actor, bills=bills, provider=provider)
    back = _return_url(return_url, payment)
    from linli.places.models import Compound

    compound = Compound.objects.filter(pk=payment.compound_id).values_list("name", flat=True).first() or ""
    order = PaymentOrder(out_trade_no=payment.out_trade_no, amount_fen=payment.amount_fen,
                         # Shown on the payer's statement: no personal data, no house number.
                         description=(_("%(compound)s 物业缴费") % {"compound": compound})[:100],
                         notify_url=notify_url(provider), payer_openid=payer_openid,
                         expires_at=payment.created_at + ORDER_TTL, scene=scene)
    try:
        if provider == "wechatpay":
            answer = client.create_order(order, payer_client_ip=client_ip)
        else:
            answer = client.create_order(order, return_url=back)
    except ProviderError as exc:
        log.warning("payment %s: order refused by the provider: %s", payment.pk, exc.reason)
        if exc.retry:
            raise Conflict(_("支付平台暂时无法下单，请稍后重试"), field="provider") from None
        raise Conflict(_("支付平台拒绝了该订单"), field="provider") from None
    if "h5_url" in answer:
        url = answer["h5_url"]
        if back:  # WeChat sends the browser back to redirect_url once the payment is done
            url += ("&" if "?" in url else "?") + "redirect_url=" + urllib.parse.quote(back, safe="")
        return Checkout(payment, redirect_url=url)
    if "pay_url" in answer:
        return Checkout(payment, redirect_url=answer["pay_url"])
    if "code_url" in answer:
        return Checkout(payment, code_url=answer["code_url"])
    return Checkout(payment, jsapi=dict(answer))


def _ask(payment: Payment) -> bool:
    """Query the provider about one pending payment and credit it when paid; True if credited."""
    try:
        notice = configured(payment.provider).query(payment.out_trade_no)
    except ProviderNotConfigured:
        return False
    except ProviderError as exc:
        log.info("payment %s: query failed: %s", payment.pk, exc.reason)
        return False
    if notice is None or notice.status not in (NoticeStatus.SUCCESS, NoticeStatus.REFUNDED):
        return False
    if notice.status == NoticeStatus.REFUNDED:
        # Paid and already (partly) refunded at the provider: the money did arrive once.
        from dataclasses import replace

        notice = replace(notice, status=NoticeStatus.SUCCESS)
    try:
        return payments.credit_payment(notice).credited
    except payments.PaymentRefused as exc:
        from linli.billing.views import record_rejection

        record_rejection(payment.provider, exc.reason, out_trade_no=exc.out_trade_no,
                         detail=f"query: {exc.detail}" if exc.detail else "query")
        return False


def refresh_payment(*, actor: Any, payment: Payment) -> Payment:
    """The payment as it stands, after asking the provider when it is still pending (the payer
    came back from the cashier before the notification arrived)."""
    require(actor, payment, "view")
    if payment.status != PaymentStatus.PAID and payment.provider in ONLINE_PROVIDERS:
        _ask(payment)
    return Payment.objects.get(pk=payment.pk)


def _close(payment: Payment, now: dt.datetime) -> bool:
    """Close the expired order at the provider, then ours; a paid order cannot be closed there."""
    client = configured(payment.provider)
    try:
        client.close_order(payment.out_trade_no)
    except ProviderError as exc:
        if exc.reason.endswith(":ORDER_NOT_EXIST"):
            pass  # never reached the provider: nothing to close there
        else:
            log.info("payment %s: close failed: %s", payment.pk, exc.reason)
            return False
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != PaymentStatus.CREATED:
            return False
        save_changes(locked, {"status": PaymentStatus.CLOSED, "closed_at": now})
    return True


def recover_lost_payments(*, older_than: dt.timedelta = dt.timedelta(minutes=5),
                          now: dt.datetime | None = None) -> int:
    """Job (system write): ask the provider about every online payment still `created` after
    `older_than`; credit the paid ones, close the ones whose order has expired. Returns how many
    it settled either way. Safe to run twice at once: crediting and closing lock the payment."""
    now = now or timezone.now()
    settled = 0
    pending = Payment.objects.filter(status=PaymentStatus.CREATED, provider__in=ONLINE_PROVIDERS,
                                     created_at__lt=now - older_than).order_by("created_at", "pk")
    for payment in pending.iterator():
        try:
            configured(payment.provider)
        except ProviderNotConfigured:
            continue
        if _ask(payment):
            settled += 1
        elif payment.created_at + ORDER_TTL < now:
            # The query said not paid (or could not tell): only close what the provider closes too.
            try:
                settled += _close(payment, now)
            except ProviderNotConfigured:
                continue
    return settled


# WeChat Pay's trade bill for a day is ready by 10:00 (Asia/Shanghai) the next morning.
STATEMENT_READY_HOUR = 10
STATEMENT_PROVIDERS = ("wechatpay",)  # Alipay's bill download is not implemented (docs/payments.md)
RECONCILE_LABEL = "billing.daily_reconciliation"


def reconcile_statements(*, day: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Job (system write): reconcile `day` (default: yesterday, once its bill is ready) against each
    configured provider's statement, once per provider and day; returns how many it stored. A bill
    not ready yet or a provider unreachable is simply tried again on the next run."""
    from linli.billing.models import Reconciliation

    now = timezone.localtime(now or timezone.now())
    if day is None:
        if now.hour < STATEMENT_READY_HOUR:
            return 0
        day = now.date() - dt.timedelta(days=1)
    stored = 0
    for name in STATEMENT_PROVIDERS:
        if Reconciliation.objects.filter(provider=name, day=day).exists():
            continue
        try:
            rows = configured(name).trade_bill(day)
        except ProviderNotConfigured:
            continue
        except ProviderError as exc:
            log.info("%s statement for %s not fetched: %s", name, day, exc.reason)
            continue
        payments.reconcile(provider=name, day=day, statement_rows=[payments.StatementRow(**row) for row in rows])
        stored += 1
    return stored
