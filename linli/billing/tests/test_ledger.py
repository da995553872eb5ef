"""The double-entry ledger: only balanced, single-compound entries; append-only; the books check."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from linli.billing import ledger
from linli.billing.models import JournalEntry, Posting
from linli.core.errors import Conflict


def _lines(compound, amount=1000):
    return [ledger.line(compound.pk, "bank", amount), ledger.line(compound.pk, "public_revenue", -amount)]


def test_a_balanced_entry_is_posted_and_accounts_appear_on_first_use(district):
    c = district.a.compound
    entry = ledger.post(compound_id=c.pk, kind="fund_movement", memo="广告收入", lines=_lines(c), idempotency_key="t1")
    assert sorted(p.amount_fen for p in entry.postings.all()) == [-1000, 1000]
    assert ledger.balance(c.pk, "public_revenue") == 1000
    assert ledger.balance(c.pk, "bank") == 1000
    assert ledger.balance(district.b.compound.pk, "public_revenue") == 0


def test_an_entry_that_does_not_sum_to_zero_is_empty_or_mixes_compounds_is_refused(district):
    a, b = district.a.compound, district.b.compound
    with pytest.raises(ValidationError):
        ledger.post(compound_id=a.pk, kind="fund_movement", memo="x", idempotency_key="u",
                    lines=[ledger.line(a.pk, "bank", 1000), ledger.line(a.pk, "public_revenue", -999)])
    with pytest.raises(ValidationError):
        ledger.post(compound_id=a.pk, kind="fund_movement", memo="x", idempotency_key="e", lines=[])
    with pytest.raises(ValidationError):
        ledger.post(compound_id=a.pk, kind="fund_movement", memo="x", idempotency_key="m",
                    lines=[ledger.line(a.pk, "bank", 1000), ledger.line(b.pk, "public_revenue", -1000)])
    with pytest.raises(ValidationError):  # a house of the other compound on a sub-ledger line
        ledger.post(compound_id=a.pk, kind="fund_movement", memo="x", idempotency_key="h",
                    lines=[ledger.line(a.pk, "receivable", 1000, district.b.house.pk),
                           ledger.line(a.pk, "property_income", -1000)])
    assert not JournalEntry.objects.exists()


def test_the_same_idempotency_key_posts_once(district):
    c = district.a.compound
    ledger.post(compound_id=c.pk, kind="fund_movement", memo="x", lines=_lines(c), idempotency_key="same")
    with pytest.raises(Conflict):
        ledger.post(compound_id=c.pk, kind="fund_movement", memo="x", lines=_lines(c), idempotency_key="same")
    assert JournalEntry.objects.count() == 1
    assert ledger.balance(c.pk, "public_revenue") == 1000


def test_entries_are_append_only_and_corrected_by_a_reversing_entry(district):
    c = district.a.compound
    entry = ledger.post(compound_id=c.pk, kind="fund_movement", memo="x", lines=_lines(c), idempotency_key="k")
    with pytest.raises(ValueError):
        entry.memo = "changed"
        entry.save()
    with pytest.raises(ValueError):
        entry.postings.first().delete()
    reversal = ledger.reverse(entry, memo="冲正", idempotency_key="k:reversal")
    assert reversal.reverses_id == entry.pk
    assert ledger.balance(c.pk, "public_revenue") == 0
    assert JournalEntry.objects.count() == 2


def test_the_balance_check_finds_an_entry_written_around_the_rules(district):
    c = district.a.compound
    entry = ledger.post(compound_id=c.pk, kind="fund_movement", memo="x", lines=_lines(c), idempotency_key="k")
    assert ledger.check_balanced().ok
    stray = Posting.objects.bulk_create([Posting(compound=c, entry=entry, account=ledger.account(c.pk, "bank"),
                                                 amount_fen=1)])
    report = ledger.check_balanced()
    assert not report.ok
    assert report.unbalanced_entries == [entry.pk]
    assert report.trial_balance_fen == 1
    Posting.objects.filter(pk=stray[0].pk).delete()  # leave the books as the autouse check expects
    assert ledger.check_balanced().ok
