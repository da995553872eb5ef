"""Receipts: a paid payment's PDF names the amount exactly and its receipt number; only its
household and the compound's staff get it."""

from __future__ import annotations

import base64
import re
import zlib

import pytest

from linli.billing import payments, receipts
from linli.billing.tests.conftest import bill_of, billed, notice
from linli.core.errors import Conflict, NotFound
from linli.core.tests.apiclient import ApiClient


def pdf_text(data: bytes) -> str:
    """The page content streams of a reportlab PDF, decoded (ASCII85 then Flate): text operators
    such as `(116.78) Tj` are readable there."""
    assert data.startswith(b"%PDF-")
    out = []
    for match in re.finditer(rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream",
                             data, re.S):
        raw = match.group(1).strip().removeprefix(b"<~").removesuffix(b"~>")
        out.append(zlib.decompress(base64.a85decode(raw)).decode("latin-1"))
    return "\n".join(out)


def _paid_online(side, merchants):
    billed(side)
    payment = payments.start_payment(actor=side.users["resident"], bills=[bill_of(side)], provider="wechatpay")
    return payments.credit_payment(notice(payment)).payment


def test_the_receipt_shows_the_amount_in_yuan_exactly_the_order_and_its_number(district, merchants):
    payment = _paid_online(district.a, merchants)
    pdf = receipts.receipt_pdf(district.a.users["resident"], payment)
    text = pdf_text(pdf)
    number = receipts.receipt_number(payment)
    assert number.startswith("SJ20261103")
    assert f"({number}) Tj" in text
    assert "(116.78) Tj" in text  # 11678 fen: the line, what this payment settled, and the total
    assert text.count("(116.78) Tj") == 3
    assert f"({payment.out_trade_no}) Tj" in text
    assert "STSong-Light" in pdf.decode("latin-1")


def test_a_cash_payment_above_the_bill_shows_what_went_to_prepaid(district):
    a = district.a
    billed(a)
    payment = payments.record_cash_payment(actor=a.users["cashier"], bills=[bill_of(a)], amount_fen=20000)
    text = pdf_text(receipts.receipt_pdf(a.users["property_manager"], payment))
    assert "(83.22) Tj" in text and "(200.00) Tj" in text


def test_a_neighbour_or_another_compound_gets_no_receipt_and_an_unpaid_payment_has_none(district, merchants):
    a = district.a
    payment = _paid_online(a, merchants)
    with pytest.raises(NotFound):
        receipts.receipt_pdf(district.b.users["resident"], payment)
    with pytest.raises(NotFound):
        receipts.receipt_pdf(district.b.users["property_manager"], payment)
    neighbours = payments.record_cash_payment(actor=a.users["cashier"], bills=[bill_of(a, a.other_house)],
                                              amount_fen=100)
    with pytest.raises(NotFound):  # the household next door
        receipts.receipt_pdf(a.users["resident"], neighbours)
    assert receipts.receipt_pdf(a.users["customer_service"], neighbours).startswith(b"%PDF-")
    unpaid = payments.start_payment(actor=a.users["property_manager"], bills=[bill_of(a, a.other_house)],
                                    provider="alipay")
    with pytest.raises(Conflict):  # started, never paid: no receipt
        receipts.receipt_pdf(a.users["property_manager"], unpaid)


def test_the_receipt_api_answers_a_pdf_to_the_payer_and_404_to_a_neighbour(district, merchants):
    payment = _paid_online(district.a, merchants)
    mine = ApiClient(district.a.users["resident"]).get(f"/api/billing/payments/{payment.pk}/receipt")
    assert mine.status_code == 200 and mine["Content-Type"] == "application/pdf"
    assert mine.content.startswith(b"%PDF-")
    assert ApiClient(district.b.users["resident"]).get(f"/api/billing/payments/{payment.pk}/receipt").status_code == 404
