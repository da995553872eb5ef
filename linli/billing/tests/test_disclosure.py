"""The monthly disclosure owners read: public revenue and the maintenance fund, from the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.billing import selectors, services
from linli.core.errors import NotFound

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_the_disclosure_figures_match_the_postings_of_the_month(district):
    a = district.a
    manager = a.users["property_manager"]

    def move(fund, amount, spending, at):
        services.record_fund_movement(actor=manager, compound=a.compound, fund=fund, amount_fen=amount,
                                      spending=spending, memo="公示测试", at=at)

    move("public_revenue", 50000, False, dt.datetime(2026, 10, 20, tzinfo=SHANGHAI))  # before the month
    move("public_revenue", 30000, False, dt.datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI))  # first instant
    move("public_revenue", 12000, True, dt.datetime(2026, 11, 15, tzinfo=SHANGHAI))
    move("public_revenue", 7000, False, dt.datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI))  # next month
    move("maintenance_fund", 900000, False, dt.datetime(2026, 11, 30, 23, 59, tzinfo=SHANGHAI))
    figures = selectors.monthly_disclosure(a.users["resident"], a.compound, 2026, 11)
    revenue = figures["public_revenue"]
    assert (revenue.opening_fen, revenue.income_fen, revenue.spending_fen, revenue.closing_fen) == (
        50000, 30000, 12000, 68000)
    fund = figures["maintenance_fund"]
    assert (fund.opening_fen, fund.income_fen, fund.spending_fen, fund.closing_fen) == (0, 900000, 0, 900000)


def test_shared_parking_billed_into_the_public_revenue_is_that_months_income(district):
    a = district.a
    manager = a.users["property_manager"]
    fee = services.create_fee_item(actor=manager, compound=a.compound, name="共享车位", kind="fixed_monthly",
                                   amount_fen=15000, income_account="public_revenue")
    run = services.run_bills(actor=manager, compound=a.compound, fee_item=fee, period="2026-11", houses=[a.house])
    billed_on = run.run.at.astimezone(SHANGHAI)  # the income is recognised when billed
    figures = selectors.monthly_disclosure(a.users["resident"], a.compound, billed_on.year, billed_on.month)
    assert figures["public_revenue"].income_fen == 15000
    assert figures["public_revenue"].closing_fen == 15000


def test_a_fund_cannot_spend_more_than_it_holds_and_other_compounds_cannot_read_it(district):
    a, b = district.a, district.b
    with pytest.raises(Exception):  # noqa: B017 - ValidationError naming amount_fen
        services.record_fund_movement(actor=a.users["property_manager"], compound=a.compound,
                                      fund="maintenance_fund", amount_fen=1, spending=True, memo="电梯维修")
    with pytest.raises(NotFound):
        selectors.monthly_disclosure(b.users["resident"], a.compound, 2026, 11)
    with pytest.raises(NotFound):
        selectors.monthly_disclosure(a.users["technician"], a.compound, 2026, 11)
    empty = selectors.monthly_disclosure(district.city_admin, a.compound, 2026, 11)
    assert empty["public_revenue"].closing_fen == 0
