"""Receipts (缴费收据) as PDF: one page per paid payment (more when it settled many bills).

A scoped read: the household that paid, or staff of the compound. Chinese text is set in
reportlab's built-in CID font STSong-Light (every PDF reader has it, nothing to ship); numbers,
amounts and references in Helvetica. Amounts are yuan from integer fen, exactly.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.models import Allocation, Bill, BillLine, Payment, PaymentBill, PaymentStatus, Provider
from linli.billing.money import yuan
from linli.core.errors import Conflict
from linli.core.selectors import get_visible

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"


def receipt_number(payment: Payment) -> str:
    """Stable for a payment: the day it was paid (Asia/Shanghai) and its id."""
    return f"SJ{timezone.localtime(payment.paid_at):%Y%m%d}{payment.pk:08d}"


def _font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def receipt_pdf(user: Any, payment: Payment) -> bytes:
    """The receipt of a paid payment the user may see (NotFound otherwise; Conflict if unpaid)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from linli.places.models import House

    payment = get_visible(Payment.objects.select_related("compound"), user, payment.pk)
    if payment.status != PaymentStatus.PAID or payment.paid_at is None:
        raise Conflict(_("只有已支付的款项才能开具收据"), field="payment")
    house = House.objects.get(pk=payment.house_id)
    order = list(PaymentBill.objects.filter(payment=payment).order_by("position").values_list("bill_id", flat=True))
    bills = {b.pk: b for b in Bill.objects.filter(pk__in=order).select_related("fee_item")}
    lines: dict[int, list[BillLine]] = {}
    for ln in BillLine.objects.filter(bill_id__in=order).order_by("bill_id", "id"):
        lines.setdefault(ln.bill_id, []).append(ln)
    settled: dict[int | None, int] = {}
    refunded = 0
    for a in Allocation.objects.filter(payment=payment):
        if a.refund_id:
            refunded -= a.amount_fen
        else:
            settled[a.bill_id] = settled.get(a.bill_id, 0) + a.amount_fen

    _font()
    out = io.BytesIO()
    width, height = A4
    pdf = Canvas(out, pagesize=A4, pageCompression=1)
    number = receipt_number(payment)
    pdf.setTitle(f"{_('缴费收据')} {number}")
    left, right = 20 * mm, width - 20 * mm
    y = height - 25 * mm

    def text(x: float, value: str, size: float = 10, latin: bool = False, align: str = "left") -> None:
        pdf.setFont(LATIN_FONT if latin else CJK_FONT, size)
        {"left": pdf.drawString, "right": pdf.drawRightString, "center": pdf.drawCentredString}[align](x, y, value)

    def down(step: float = 6.5 * mm) -> None:
        nonlocal y
        y -= step
        if y < 25 * mm:
            pdf.showPage()
            y = height - 25 * mm

    text(width / 2, _("缴费收据"), 18, align="center")
    down(10 * mm)
    rows = [
        (_("收据编号"), number, True),
        (_("小区"), payment.compound.name, False),
        (_("房屋"), house.standard_address or str(house), False),
        (_("缴费方式"), str(Provider(payment.provider).label), False),
        (_("商户订单号"), payment.out_trade_no, True),
        (_("支付平台流水号"), payment.transaction_id or "-", True),
        (_("缴费时间"), f"{timezone.localtime(payment.paid_at):%Y-%m-%d %H:%M:%S}", True),
    ]
    for label, value, latin in rows:
        text(left, label)
        text(left + 35 * mm, value, latin=latin)
        down()
    down(3 * mm)
    text(left, _("收费项目"), 11)
    text(right, _("金额（元）"), 11, align="right")
    down()
    for bill_id in order:
        bill = bills[bill_id]
        text(left, f"{bill.fee_item.name}  {bill.period_start.isoformat()} ~ {bill.period_end.isoformat()}")
        down()
        for ln in lines.get(bill_id, []):
            text(left + 6 * mm, ln.description[:60], 9)
            text(right, yuan(ln.amount_fen), 9, latin=True, align="right")
            down(5.5 * mm)
        text(left + 6 * mm, _("本次缴纳"), 9)
        text(right, yuan(settled.get(bill_id, 0)), 9, latin=True, align="right")
        down()
    if settled.get(None):
        text(left, _("转入预收款"))
        text(right, yuan(settled[None]), latin=True, align="right")
        down()
    if refunded:
        text(left, _("已退款"))
        text(right, yuan(refunded), latin=True, align="right")
        down()
    down(2 * mm)
    pdf.line(left, y + 5 * mm, right, y + 5 * mm)
    text(left, _("合计（元）"), 12)
    text(right, yuan(payment.amount_fen), 12, latin=True, align="right")
    down(12 * mm)
    text(left, _("本收据由系统根据支付记录生成。"), 8)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
