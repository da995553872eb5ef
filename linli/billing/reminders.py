"""Arrears reminders (欠费提醒): an overdue bill reminds its household, at most once per the fee
item's `reminder_every_days` (0 = never), in the inbox and by web push.

Idempotent and safe to run twice at once: each reminder's notification carries the dedupe key
`arrears:<bill>:<n>`, n counting the reminder periods since the due date, and the notification
table holds that key unique. A job that was down catches up with one reminder for the period it
is in, never with a burst of missed ones.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.models import Bill, BillStatus
from linli.billing.money import yuan

JOB_LABEL = "billing.arrears_reminders"


def remind_arrears(*, now: dt.datetime | None = None) -> int:
    """Job (system write): remind the households of overdue unpaid bills; returns how many reminders
    it queued."""
    from linli.notify.models import Category, Channel, Notification, Severity
    from linli.notify.services import Audience, notify

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    overdue = (Bill.objects.filter(status__in=(BillStatus.OPEN, BillStatus.PARTIALLY_PAID), due_on__lt=today,
                                   fee_item__reminder_every_days__gt=0)
               .select_related("fee_item").order_by("compound_id", "house_id", "due_on", "pk"))
    due: list[tuple[Bill, str, int]] = []
    for bill in overdue:
        days = (today - bill.due_on).days
        due.append((bill, f"arrears:{bill.pk}:{(days - 1) // bill.fee_item.reminder_every_days}", days))
    sent = set(Notification.objects.filter(dedupe_key__in=[key for _b, key, _d in due])
               .values_list("dedupe_key", flat=True))
    queued = 0
    for bill, key, days in due:
        if key in sent:
            continue
        body = _("%(item)s（%(start)s 至 %(end)s）尚欠 %(amount)s 元，已逾期 %(days)d 天，请及时缴纳。") % {
            "item": bill.fee_item.name, "start": bill.period_start.isoformat(), "end": bill.period_end.isoformat(),
            "amount": yuan(bill.outstanding_fen), "days": days}
        with transaction.atomic():
            notify(compound_id=bill.compound_id, audience=Audience(residents_of_house=bill.house_id),
                   title=_("欠费提醒"), body=body, category=Category.NOTICE, severity=Severity.INFO,
                   source=f"billing.bill:{bill.pk}", dedupe_key=key, channels=(Channel.INBOX, Channel.WEBPUSH))
            _text_once_a_month(bill, today)
        queued += 1
    return queued


def _text_once_a_month(bill: Bill, today: dt.date) -> None:
    """At most one arrears SMS per household and calendar month, however many bills are overdue.
    The text names no amount or item: it passes through the SMS provider (docs/notifications.md)."""
    from linli.notify.models import Category, Channel, Severity
    from linli.notify.services import Audience, notify

    notify(compound_id=bill.compound_id, audience=Audience(residents_of_house=bill.house_id),
           title=_("欠费提醒"), body=_("您家有逾期未缴的物业费用，请登录邻里居民端查看并缴纳。"),
           category=Category.NOTICE, severity=Severity.INFO, source=f"billing.house:{bill.house_id}",
           dedupe_key=f"arrears-sms:{bill.house_id}:{today:%Y-%m}", channels=(Channel.SMS,))
