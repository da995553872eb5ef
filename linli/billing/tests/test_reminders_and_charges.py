"""Arrears reminders and one-off charges (a paid repair billed to the household)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from linli.billing import ledger, payments, services
from linli.billing.models import AccountKind, Bill, FeeKind, JournalEntry
from linli.billing.reminders import remind_arrears
from linli.billing.tests.conftest import bill_of, billed
from linli.notify.models import Channel, Delivery, Notification

SHANGHAI = ZoneInfo("Asia/Shanghai")


def on(day: int, month: int = 11, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


# ---- arrears reminders ------------------------------------------------------------------------------

def test_an_overdue_bill_reminds_its_household_once_a_week_in_the_inbox(district):
    a = district.a
    billed(a)  # November, due on the 16th
    assert remind_arrears(now=on(16)) == 0  # due today: not overdue yet
    assert remind_arrears(now=on(17)) == 2  # both houses of the compound
    assert remind_arrears(now=on(17, hour=18)) == 0
    assert remind_arrears(now=on(23)) == 0  # within the week
    assert remind_arrears(now=on(24)) == 2  # a week after the first
    mine = Notification.objects.filter(source=f"billing.bill:{bill_of(a).pk}").order_by("id")
    assert mine.count() == 2
    first = mine.first()
    assert first.title == "欠费提醒" and "116.78" in first.body and "1 天" in first.body
    inbox = Delivery.objects.filter(notification=first, recipient=a.users["resident"])
    assert [d.channel for d in inbox] == [Channel.INBOX]
    assert not Delivery.objects.filter(notification__in=mine, channel=Channel.SMS).exists()


def test_a_reminder_job_that_was_down_sends_one_reminder_not_the_missed_ones(district):
    billed(district.a)
    assert remind_arrears(now=on(17)) == 2
    assert remind_arrears(now=dt.datetime(2026, 12, 20, 10, tzinfo=SHANGHAI)) == 2
    assert Notification.objects.filter(source__startswith="billing.bill:").count() == 4


def test_an_overdue_household_gets_one_arrears_text_a_month_naming_no_amount(district):
    a = district.a
    billed(a)
    fee = services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="垃圾清运费",
                                   kind="fixed_monthly", amount_fen=1000, reminder_every_days=3)
    services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=fee, period="2026-11")
    for day in (17, 20, 24, 27):  # two overdue bills, reminded in the inbox again and again
        remind_arrears(now=on(day))
    texts = Delivery.objects.filter(channel=Channel.SMS, recipient=a.users["resident"])
    assert texts.count() == 1
    sms = texts.get().notification
    assert "元" not in sms.body and "垃圾" not in sms.body and "物业服务费" not in sms.body
    remind_arrears(now=on(2, month=12))
    assert texts.count() == 2  # a new month, a new text
    # The inbox reminders themselves never go out as texts.
    assert not Delivery.objects.filter(channel=Channel.SMS, notification__source__startswith="billing.bill:").exists()


def test_paid_bills_and_fee_items_without_reminders_remind_nobody(district):
    a = district.a
    billed(a, reminder_every_days=0)
    assert remind_arrears(now=on(20)) == 0
    fee = services.create_fee_item(actor=a.users["property_manager"], compound=a.compound, name="垃圾清运费",
                                   kind="fixed_monthly", amount_fen=1000, reminder_every_days=3)
    services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=fee, period="2026-11")
    payments.record_cash_payment(actor=a.users["cashier"], bills=[Bill.objects.get(fee_item=fee, house=a.house)],
                                 amount_fen=1000)
    assert remind_arrears(now=on(20)) == 1  # only the other house's unpaid one
    assert remind_arrears(now=on(22)) == 0 and remind_arrears(now=on(23)) == 1  # every 3 days


# ---- one-off charges --------------------------------------------------------------------------------

def test_a_paid_repair_is_charged_once_per_source_and_posted_to_the_ledger(district):
    a = district.a
    bill = services.charge_once(compound_id=a.compound.pk, house=a.house, description="更换水龙头（含材料）",
                                amount_fen=8550, source="workorder:123")
    assert bill.fee_item.kind == FeeKind.ONE_OFF and bill.run is None
    assert bill.amount_fen == 8550 and bill.status == "open"
    assert [(ln.description, ln.amount_fen) for ln in bill.lines.all()] == [("更换水龙头（含材料）", 8550)]
    again = services.charge_once(compound_id=a.compound.pk, house=a.house, description="更换水龙头（含材料）",
                                 amount_fen=8550, source="workorder:123")
    assert again.pk == bill.pk
    assert JournalEntry.objects.filter(source_type="billing.bill", source_id=str(bill.pk)).count() == 1
    assert ledger.balance(a.compound.pk, AccountKind.RECEIVABLE, house_id=a.house.pk) == 8550
    assert ledger.balance(a.compound.pk, AccountKind.PROPERTY_INCOME) == 8550  # a credit balance, shown positive
    second = services.charge_once(compound_id=a.compound.pk, house=a.house, description="疏通下水道",
                                  amount_fen=5000, source="workorder:124")
    assert second.pk != bill.pk and second.fee_item_id == bill.fee_item_id  # two repairs on the same day
    payments.record_cash_payment(actor=a.users["cashier"], bills=[bill], amount_fen=8550)
    bill.refresh_from_db()
    assert bill.status == "paid"


def test_a_one_off_charge_is_refused_for_a_house_of_another_compound_or_a_non_positive_amount(district):
    a, b = district.a, district.b
    with pytest.raises(ValidationError, match="house"):
        services.charge_once(compound_id=a.compound.pk, house=b.house, description="维修", amount_fen=100,
                             source="workorder:1")
    for amount in (0, -5):
        with pytest.raises(ValidationError):
            services.charge_once(compound_id=a.compound.pk, house=a.house, description="维修", amount_fen=amount,
                                 source="workorder:2")
    with pytest.raises(ValidationError):
        services.charge_once(compound_id=a.compound.pk, house=a.house, description="维修", amount_fen=100, source="")
    assert not Bill.objects.exists()


def test_the_one_off_fee_item_cannot_be_billed_in_a_run(district):
    a = district.a
    bill = services.charge_once(compound_id=a.compound.pk, house=a.house, description="维修", amount_fen=100,
                                source="workorder:9")
    with pytest.raises(ValidationError, match="fee_item"):
        services.run_bills(actor=a.users["property_manager"], compound=a.compound, fee_item=bill.fee_item,
                           period="2026-11")
