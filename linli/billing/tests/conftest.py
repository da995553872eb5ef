"""Billing test fixtures (the ledger-balance check after every test is in the root conftest)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

MERCHANTS = {"wechatpay": "1900000109", "alipay": "2088102000000001"}


@pytest.fixture
def merchants(settings):
    settings.BILLING_MERCHANTS = dict(MERCHANTS)
    return MERCHANTS


def property_fee(side: Any, **overrides: Any):
    """A per-area property fee of ¥1.35 per m² per month for the side's compound."""
    from linli.billing import services

    fields = {"name": "物业费", "kind": "per_area_monthly", "unit_price_fen": 135, **overrides}
    return services.create_fee_item(actor=side.users["property_manager"], compound=side.compound, **fields)


def billed(side: Any, period: str = "2026-11", **overrides: Any):
    """The side's houses billed the property fee for `period`; returns the run result."""
    from linli.billing import services

    fee = property_fee(side, **overrides)
    return services.run_bills(actor=side.users["property_manager"], compound=side.compound, fee_item=fee,
                              period=period)


def bill_of(side: Any, house: Any = None):
    from linli.billing.models import Bill

    return Bill.objects.get(house=house or side.house)


def notice(payment: Any, **overrides: Any):
    from linli.billing.providers.base import PaymentNotice, PaymentStatus

    fields = {"provider": payment.provider, "out_trade_no": payment.out_trade_no,
              "transaction_id": "4200000000" + payment.out_trade_no[-10:], "status": PaymentStatus.SUCCESS,
              "amount_fen": payment.amount_fen, "merchant_id": MERCHANTS[payment.provider],
              "paid_at": dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)}
    return PaymentNotice(**{**fields, **overrides})
