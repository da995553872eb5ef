"""1,000 identical and reordered notices for one payment, arriving at once, credit it exactly once.

Each thread has its own database connection. On PostgreSQL the payment row lock serialises them;
on SQLite every write transaction starts IMMEDIATE, which serialises them the same way, so the
test runs on both.
"""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection

from linli.billing import payments
from linli.billing.models import Allocation, Bill, JournalEntry, Payment
from linli.billing.providers.base import PaymentStatus as NoticeStatus
from linli.billing.tests.conftest import bill_of, billed, notice

NOTICES = 1000
THREADS = 16


@pytest.mark.django_db(transaction=True)
def test_a_payment_notice_credits_once_when_1000_identical_or_reordered_notices_arrive_concurrently(
        district, merchants):
    a = district.a
    billed(a)
    payment = payments.start_payment(actor=a.users["resident"], bills=[bill_of(a)])
    paid = notice(payment)
    # Replays of the success, mixed with the "not paid yet" answers a query may give, in any order.
    batch = [paid] * (NOTICES - 200) + [notice(payment, status=NoticeStatus.NOT_PAID, paid_at=None)] * 200
    random.Random(4).shuffle(batch)
    start = threading.Barrier(THREADS)
    outcomes: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(chunk):
        try:
            start.wait()
            mine = [payments.credit_payment(n).credited for n in chunk]
            with lock:
                outcomes.extend(mine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(batch[i::THREADS],)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert len(outcomes) == NOTICES
    assert outcomes.count(True) == 1
    assert Payment.objects.get().status == "paid"
    assert JournalEntry.objects.filter(kind="payment").count() == 1
    assert Allocation.objects.count() == 1
    assert Bill.objects.get(house=a.house).paid_fen == payment.amount_fen
