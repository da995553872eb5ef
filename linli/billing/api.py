"""REST endpoints for billing (/api/billing/…): fee items, bill runs, bills, payments, refunds,
the monthly disclosure of the public funds and a house's prepaid balance.

Money is integer fen in and out. Thin: inputs are validated here, reads go through
`linli.billing.selectors`, writes through `linli.billing.services` and `linli.billing.payments`.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.billing import online, payments, receipts, selectors, services
from linli.billing.models import (
    BillStatus,
    FeeItem,
    FeeKind,
    LineKind,
    Payment,
    PaymentStatus,
    Provider,
    Refund,
    RefundStatus,
)
from linli.core.api import ERRORS, Count, Fen, Id, PageQuery, Payload, page, paged, patch_field
from linli.core.selectors import get_visible
from linli.places import selectors as places

router = Router(tags=["billing"])


# --- fee items -----------------------------------------------------------------------------------

class FeeItemOut(Schema):
    id: int
    compound_id: int
    name: str
    kind: FeeKind
    unit_price_fen: int | None
    amount_fen: int | None
    meter_kind: str
    income_account: str
    due_days: int
    late_fee_bp_per_day: int
    late_fee_cap_bp: int
    reminder_every_days: int
    active: bool


class FeeItemFilter(Schema):
    compound_id: Id | None = None
    active_only: bool = False


class FeeItemIn(Payload):
    compound_id: Id
    name: str = Field(min_length=1, max_length=60)
    kind: FeeKind
    unit_price_fen: Fen | None = Field(None, description="fen per m² per month, or per metered unit")
    amount_fen: Fen | None = Field(None, description="fen per month, or the cycle's total when shared")
    meter_kind: str = Field("", max_length=20)
    income_account: str = Field("property_income", description="property_income, public_revenue or "
                                                               "maintenance_fund")
    due_days: int = Field(15, ge=0, le=366)
    late_fee_bp_per_day: Count = 0
    late_fee_cap_bp: Count = 10000
    reminder_every_days: int = Field(7, ge=0, le=365, description="overdue bills remind at most this often; 0 never")
    active: bool = True


class FeeItemPatch(Payload):
    name: str = patch_field(min_length=1, max_length=60)
    unit_price_fen: Fen | None = None
    amount_fen: Fen | None = None
    due_days: int = patch_field(ge=0, le=366)
    late_fee_bp_per_day: Count = patch_field()
    late_fee_cap_bp: Count = patch_field()
    reminder_every_days: int = patch_field(ge=0, le=365)
    active: bool = patch_field()


class BillRunIn(Payload):
    period: str = Field(description="a calendar month, e.g. 2026-11 (Asia/Shanghai)", max_length=7)


class BillRunOut(Schema):
    id: int
    compound_id: int
    fee_item_id: int
    period_start: dt.date
    period_end: dt.date
    at: dt.datetime
    billed: int
    total_fen: int
    skipped: list
    created: bool = Field(False, description="false when this fee item and period were billed before (nothing new)")


@router.get("/fee-items", response={200: paged(FeeItemOut), **ERRORS}, operation_id="list_fee_items")
def list_fee_items(request: HttpRequest, filters: Query[FeeItemFilter], pg: Query[PageQuery]):
    return page(selectors.fee_items(request.user, **filters.dict()).order_by("compound_id", "name", "id"), pg)


@router.get("/fee-items/{fee_item_id}", response={200: FeeItemOut, **ERRORS}, operation_id="get_fee_item")
def get_fee_item(request: HttpRequest, fee_item_id: Id):
    return get_visible(FeeItem.objects.select_related("compound"), request.user, fee_item_id)


@router.post("/fee-items", response={201: FeeItemOut, **ERRORS}, operation_id="create_fee_item")
def create_fee_item(request: HttpRequest, payload: FeeItemIn):
    fields = payload.dict()
    compound = places.compound(request.user, fields.pop("compound_id"))
    return Status(201, services.create_fee_item(actor=request.user, compound=compound, **fields))


@router.patch("/fee-items/{fee_item_id}", response={200: FeeItemOut, **ERRORS}, operation_id="update_fee_item")
def update_fee_item(request: HttpRequest, fee_item_id: Id, payload: FeeItemPatch):
    fee_item = get_visible(FeeItem.objects.select_related("compound"), request.user, fee_item_id)
    return services.change_fee_item(actor=request.user, fee_item=fee_item, changes=payload.dict(exclude_unset=True))


@router.post("/fee-items/{fee_item_id}/runs", response={200: BillRunOut, 201: BillRunOut, **ERRORS},
             operation_id="run_bills")
def run_bills(request: HttpRequest, fee_item_id: Id, payload: BillRunIn):
    """Bill every house of the fee item's compound for the period, once: a repeat answers 200 with
    the earlier run and bills nothing."""
    fee_item = get_visible(FeeItem.objects.select_related("compound"), request.user, fee_item_id)
    result = services.run_bills(actor=request.user, compound=fee_item.compound, fee_item=fee_item,
                                period=payload.period)
    result.run.created = result.created
    return Status(201 if result.created else 200, result.run)


# --- bills ---------------------------------------------------------------------------------------

class BillLineOut(Schema):
    id: int
    kind: LineKind
    description: str
    quantity: str | None
    unit_price_fen: int | None
    amount_fen: int
    on_day: dt.date | None

    @staticmethod
    def resolve_quantity(obj) -> str | None:
        return None if obj.quantity is None else str(obj.quantity)


class BillOut(Schema):
    id: int
    compound_id: int
    house_id: int
    fee_item_id: int
    fee_item_name: str = Field(alias="fee_item.name")
    period_start: dt.date
    period_end: dt.date
    due_on: dt.date
    charges_fen: int
    late_fees_fen: int
    amount_fen: int
    paid_fen: int
    outstanding_fen: int
    status: BillStatus
    issued_at: dt.datetime


class BillDetailOut(BillOut):
    lines: list[BillLineOut]

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


class BillFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    unpaid_only: bool = False
    status: BillStatus | None = None


@router.get("/bills", response={200: paged(BillOut), **ERRORS}, operation_id="list_bills")
def list_bills(request: HttpRequest, filters: Query[BillFilter], pg: Query[PageQuery]):
    """Staff see their compounds' bills; a resident the bills of the houses they live in."""
    f = filters.dict()
    f["status"] = f["status"] or ""
    return page(selectors.bills(request.user, **f), pg)


@router.get("/bills/{bill_id}", response={200: BillDetailOut, **ERRORS}, operation_id="get_bill")
def get_bill(request: HttpRequest, bill_id: Id):
    return selectors.bill(request.user, bill_id)


# --- payments ------------------------------------------------------------------------------------

class PaymentOut(Schema):
    """A payment (缴费) for one house's bills, in fen.

    An online payment is `created` until the provider's notification (or a query of the order)
    says it was paid; only then are the bills credited. Pay online with POST /online-payments."""

    id: int
    compound_id: int
    house_id: int
    out_trade_no: str
    provider: Provider
    amount_fen: int
    status: PaymentStatus
    created_at: dt.datetime
    paid_at: dt.datetime | None
    closed_at: dt.datetime | None
    note: str


class PaymentFilter(Schema):
    compound_id: Id | None = None
    house_id: Id | None = None
    status: PaymentStatus | None = None


class StartPaymentIn(Payload):
    bill_ids: list[Id] = Field(min_length=1, max_length=50, description="bills of one house, settled in this order")
    provider: Provider = Provider.WECHATPAY


class CashPaymentIn(Payload):
    bill_ids: list[Id] = Field([], max_length=50, description="bills of one house; empty with house_id: a top-up")
    house_id: Id | None = Field(None, description="for a prepaid top-up without bills")
    amount_fen: Fen = Field(gt=0)
    method: Provider = Provider.CASH
    note: str = Field("", max_length=200)


def _bills(request: HttpRequest, ids: list[int]) -> list:
    # Each bill through the user's scope: one out of reach answers 404, whatever the others are.
    return [selectors.bill(request.user, pk) for pk in dict.fromkeys(ids)]


@router.get("/payments", response={200: paged(PaymentOut), **ERRORS}, operation_id="list_payments")
def list_payments(request: HttpRequest, filters: Query[PaymentFilter], pg: Query[PageQuery]):
    f = filters.dict()
    f["status"] = f["status"] or ""
    return page(selectors.payments(request.user, **f), pg)


@router.get("/payments/{payment_id}", response={200: PaymentOut, **ERRORS}, operation_id="get_payment")
def get_payment(request: HttpRequest, payment_id: Id):
    return get_visible(Payment.objects, request.user, payment_id)


@router.post("/payments", response={201: PaymentOut, **ERRORS}, operation_id="start_payment")
def start_payment(request: HttpRequest, payload: StartPaymentIn):
    """Record an online payment (status `created`) for the bills' outstanding amount, without
    placing the provider's order (POST /online-payments does both)."""
    bills = _bills(request, payload.bill_ids)
    return Status(201, payments.start_payment(actor=request.user, bills=bills, provider=payload.provider))


@router.post("/cash-payments", response={201: PaymentOut, **ERRORS}, operation_id="record_cash_payment")
def record_cash_payment(request: HttpRequest, payload: CashPaymentIn):
    """A cashier takes cash or a bank transfer; anything above the bills' outstanding becomes prepaid."""
    bills = _bills(request, payload.bill_ids)
    house = places.house(request.user, payload.house_id) if payload.house_id and not bills else None
    return Status(201, payments.record_cash_payment(actor=request.user, bills=bills, amount_fen=payload.amount_fen,
                                                    method=payload.method, note=payload.note, house=house))


class PayOnlineIn(Payload):
    bill_ids: list[Id] = Field(min_length=1, max_length=50, description="bills of one house, settled in this order")
    provider: str = Field("wechatpay", description="wechatpay or alipay")
    scene: str = Field("h5", description="wechatpay: h5, native or jsapi; alipay: wap or page")
    return_url: str = Field("", max_length=500, description="our page the payer returns to; {payment} is "
                                                             "replaced by the payment's id")
    payer_openid: str = Field("", max_length=128, description="jsapi: the payer's openid for our app id")


class CheckoutOut(Schema):
    payment: PaymentOut
    redirect_url: str = Field(description="h5 / wap: send the payer's browser here")
    code_url: str = Field(description="native: show as a QR code")
    jsapi: dict | None = Field(description="jsapi: the parameters for WeixinJSBridge / wx.requestPayment")


_PDF = {200: {"description": "a PDF receipt", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                          "format": "binary"}}}}}


@router.post("/online-payments", response={201: CheckoutOut, **ERRORS}, operation_id="pay_online")
def pay_online(request: HttpRequest, payload: PayOnlineIn):
    """Start (or resume) an online payment of the bills and place the provider's order; answers
    where to send the payer. A provider failure is a 409 on `provider`, and paying again retries."""
    bills = _bills(request, payload.bill_ids)
    checkout = online.pay_online(actor=request.user, bills=bills, provider=payload.provider, scene=payload.scene,
                                 client_ip=request.META.get("REMOTE_ADDR", ""), return_url=payload.return_url,
                                 payer_openid=payload.payer_openid)
    return Status(201, {"payment": checkout.payment, "redirect_url": checkout.redirect_url,
                        "code_url": checkout.code_url, "jsapi": checkout.jsapi})


@router.post("/payments/{payment_id}/refresh", response={200: PaymentOut, **ERRORS}, operation_id="refresh_payment")
def refresh_payment(request: HttpRequest, payment_id: Id):
    """The payment, after asking the provider about it while it is still pending."""
    payment = get_visible(Payment.objects, request.user, payment_id)
    return online.refresh_payment(actor=request.user, payment=payment)


@router.get("/payments/{payment_id}/receipt", response={**ERRORS}, operation_id="get_payment_receipt",
            openapi_extra={"responses": _PDF})
def get_payment_receipt(request: HttpRequest, payment_id: Id):
    """The receipt (缴费收据) of a paid payment as PDF: the household that paid, or staff of the compound."""
    payment = get_visible(Payment.objects, request.user, payment_id)
    response = HttpResponse(receipts.receipt_pdf(request.user, payment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{receipts.receipt_number(payment)}.pdf"'
    return response


# --- refunds -------------------------------------------------------------------------------------

class RefundOut(Schema):
    id: int
    compound_id: int
    payment_id: int
    amount_fen: int
    reason: str
    status: RefundStatus
    requested_by_id: int
    requested_at: dt.datetime
    decided_by_id: int | None
    decided_at: dt.datetime | None


class RefundIn(Payload):
    amount_fen: Fen = Field(gt=0)
    reason: str = Field(min_length=1, max_length=200)


class RefundFilter(Schema):
    compound_id: Id | None = None
    pending_only: bool = False


def _refund(request: HttpRequest, refund_id: int) -> Refund:
    return get_visible(Refund.objects.select_related("payment"), request.user, refund_id)


@router.get("/refunds", response={200: paged(RefundOut), **ERRORS}, operation_id="list_refunds")
def list_refunds(request: HttpRequest, filters: Query[RefundFilter], pg: Query[PageQuery]):
    return page(selectors.refunds(request.user, **filters.dict()), pg)


@router.post("/payments/{payment_id}/refunds", response={201: RefundOut, **ERRORS}, operation_id="request_refund")
def request_refund(request: HttpRequest, payment_id: Id, payload: RefundIn):
    """Ask for money back on a paid payment; someone other than the requester approves it."""
    payment = get_visible(Payment.objects, request.user, payment_id)
    return Status(201, payments.request_refund(actor=request.user, payment=payment, amount_fen=payload.amount_fen,
                                               reason=payload.reason))


@router.post("/refunds/{refund_id}/approve", response={200: RefundOut, **ERRORS}, operation_id="approve_refund")
def approve_refund(request: HttpRequest, refund_id: Id):
    return payments.approve_refund(actor=request.user, refund=_refund(request, refund_id))


@router.post("/refunds/{refund_id}/reject", response={200: RefundOut, **ERRORS}, operation_id="reject_refund")
def reject_refund(request: HttpRequest, refund_id: Id):
    return payments.reject_refund(actor=request.user, refund=_refund(request, refund_id))


# --- disclosure and prepaid ----------------------------------------------------------------------

class MonthQuery(Schema):
    year: int = Field(ge=2000, le=2100)
    month: int = Field(ge=1, le=12)


class FundMonthOut(Schema):
    kind: str
    opening_fen: int
    income_fen: int
    spending_fen: int
    closing_fen: int


class DisclosureOut(Schema):
    compound_id: int
    year: int
    month: int
    funds: list[FundMonthOut]


class PrepaidOut(Schema):
    house_id: int
    balance_fen: int


@router.get("/compounds/{compound_id}/disclosure", response={200: DisclosureOut, **ERRORS},
            operation_id="get_disclosure")
def get_disclosure(request: HttpRequest, compound_id: Id, month: Query[MonthQuery]):
    """公示: public revenue and the maintenance fund for one calendar month; owners may read it."""
    compound = places.compound(request.user, compound_id)
    funds = selectors.monthly_disclosure(request.user, compound, month.year, month.month)
    return {"compound_id": compound.pk, "year": month.year, "month": month.month, "funds": list(funds.values())}


@router.get("/houses/{house_id}/prepaid", response={200: PrepaidOut, **ERRORS}, operation_id="get_prepaid_balance")
def get_prepaid_balance(request: HttpRequest, house_id: Id):
    house = places.house(request.user, house_id)
    return {"house_id": house.pk, "balance_fen": selectors.prepaid_balance(request.user, house)}
