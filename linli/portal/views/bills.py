"""A resident's bills (缴费) on the phone: each house's unpaid bills, paying them online with WeChat Pay
or Alipay, the payment's page (status, bills, receipt PDF), payment history and prepaid balance."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from linli.billing import online, receipts, selectors
from linli.billing.models import Bill, Payment, PaymentBill, PaymentStatus, Provider
from linli.billing.money import yuan
from linli.billing.providers import is_configured
from linli.billing.providers.base import ProviderError
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.selectors import get_visible
from linli.portal import selectors as portal
from linli.portal.views.common import resident_required, tabs

# The scene each provider's phone-browser checkout is called (see the providers' ORDER_* tables).
SCENES = {Provider.WECHATPAY: "h5", Provider.ALIPAY: "wap"}
HISTORY_SIZE = 20


def _providers() -> list[tuple[str, str]]:
    return [(p.value, p.label) for p in (Provider.WECHATPAY, Provider.ALIPAY) if is_configured(p.value)]


def _houses(user: Any) -> list[dict[str, Any]]:
    """Each of the resident's houses with its unpaid bills and prepaid balance (one bills query)."""
    unpaid: dict[int, list[Bill]] = {}
    for bill in selectors.bills(user, unpaid_only=True):
        bill.outstanding_yuan = yuan(bill.outstanding_fen)
        unpaid.setdefault(bill.house_id, []).append(bill)
    houses = []
    for residency in portal.households(user):
        house = residency.house
        try:
            prepaid = selectors.prepaid_balance(user, house)
        except NotFound:
            prepaid = 0
        bills = unpaid.get(house.pk, [])
        houses.append({"house": house, "bills": bills, "total_yuan": yuan(sum(b.outstanding_fen for b in bills)),
                       "prepaid_yuan": yuan(prepaid) if prepaid > 0 else ""})
    return houses


def _history(user: Any) -> list[Payment]:
    payments = list(selectors.payments(user).select_related("house").order_by("-created_at", "-id")[:HISTORY_SIZE])
    for payment in payments:
        payment.amount_yuan = yuan(payment.amount_fen)
    return payments


@resident_required
def bill_list(request):
    status = 200
    if request.method == "POST":
        answer = _pay(request)
        if answer is not None:
            return answer
        status = 400
    context = {"tabs": tabs("bills"), "houses": _houses(request.user), "history": _history(request.user),
               "providers": _providers()}
    return render(request, "portal/bills/list.html", context, status=status)


def _pay(request) -> HttpResponseRedirect | None:
    """Start the online payment and send the phone to the provider's checkout; None after a refusal."""
    provider = request.POST.get("provider", "")
    if provider not in dict(_providers()):
        messages.error(request, _("请选择支付方式"))
        return None
    ids = []
    for value in request.POST.getlist("bills"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    chosen = {b.pk: b for b in selectors.bills(request.user, unpaid_only=True).filter(pk__in=ids)}
    bills = [chosen[pk] for pk in dict.fromkeys(ids) if pk in chosen]
    if not bills:
        messages.error(request, _("请选择要缴纳的账单"))
        return None
    # Our own page, relative: billing puts the deployment's public address in front of it.
    back = reverse("portal:bill_list") + "payments/{payment}/"
    try:
        checkout = online.pay_online(actor=request.user, bills=bills, provider=provider,
                                     scene=SCENES[Provider(provider)], client_ip=request.META.get("REMOTE_ADDR", ""),
                                     return_url=back)
    except (ValidationError, Forbidden, Conflict) as exc:
        for text in getattr(exc, "messages", [str(exc)]):
            messages.error(request, text)
        return None
    except (ProviderError, ImproperlyConfigured):
        messages.error(request, _("支付服务暂时不可用，请稍后再试"))
        return None
    target = checkout.redirect_url or reverse("portal:payment_detail", args=[checkout.payment.pk])
    return HttpResponseRedirect(target)


def _payment(user: Any, pk: int) -> Payment:
    try:
        return get_visible(Payment.objects.select_related("house"), user, pk)
    except NotFound as exc:
        raise Http404("payment") from exc


@resident_required
def payment_detail(request, pk: int):
    payment = _payment(request.user, pk)
    if payment.status == PaymentStatus.CREATED and payment.provider in SCENES:
        try:
            payment = online.refresh_payment(actor=request.user, payment=payment)
        except (ProviderError, ImproperlyConfigured):
            messages.info(request, _("暂时无法查询支付结果，请稍后刷新"))
    # The payment is in reach, so are the bills it was for; they are still read through the scope.
    chosen = list(PaymentBill.objects.filter(payment_id=payment.pk).order_by("position")
                  .values_list("bill_id", flat=True))
    found = {b.pk: b for b in selectors.bills(request.user).filter(pk__in=chosen)}
    bills = [found[pk] for pk in chosen if pk in found]
    for bill in bills:
        bill.amount_yuan = yuan(bill.amount_fen)
    context = {"tabs": tabs("bills"), "payment": payment, "amount_yuan": yuan(payment.amount_fen), "bills": bills,
               "paid": payment.status == PaymentStatus.PAID}
    return render(request, "portal/bills/payment.html", context)


@resident_required
def payment_receipt(request, pk: int):
    payment = _payment(request.user, pk)
    if payment.status != PaymentStatus.PAID:
        raise Http404("receipt")
    try:
        pdf = receipts.receipt_pdf(request.user, payment)
    except (NotFound, Conflict) as exc:
        raise Http404("receipt") from exc
    answer = HttpResponse(pdf, content_type="application/pdf")
    answer["Content-Disposition"] = f'attachment; filename="receipt-{payment.out_trade_no}.pdf"'
    answer["Cache-Control"] = "private, no-store"
    return answer
