"""Double-entry bookkeeping: post balanced entries, reverse them, read balances, check the books.

Every amount is integer fen, debit positive and credit negative, so an entry balances when its
postings sum to zero. Entries are append-only; a mistake is corrected by a reversing entry.
Accounts (one per compound and kind) are created the first time something posts to them.
Receivable and prepaid are kept per house (the posting's `house`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.models import CREDIT_NORMAL, JournalEntry, LedgerAccount, Posting
from linli.core.errors import Conflict
from linli.core.services import bulk_create_audited, field_error, save_new


@dataclass(frozen=True)
class Line:
    """One side of an entry: `amount_fen` > 0 debits the account, < 0 credits it."""

    account: LedgerAccount
    amount_fen: int
    house_id: int | None = None


def account(compound_id: int, kind: str) -> LedgerAccount:
    """The compound's account of this kind, created on first use (safe when two writers race)."""
    found = LedgerAccount.objects.filter(compound_id=compound_id, kind=kind).first()
    if found is not None:
        return found
    try:
        return save_new(LedgerAccount(compound_id=compound_id, kind=kind), exclude=("compound",),
                        check_constraints=False)
    except (Conflict, ValidationError):
        return LedgerAccount.objects.get(compound_id=compound_id, kind=kind)


def line(compound_id: int, kind: str, amount_fen: int, house_id: int | None = None) -> Line:
    return Line(account(compound_id, kind), amount_fen, house_id)


def post(*, compound_id: int, kind: str, memo: str, lines: Sequence[Line], idempotency_key: str,
         source: tuple[str, object] = ("", ""), at: dt.datetime | None = None,
         reverses: JournalEntry | None = None) -> JournalEntry:
    """Write one balanced entry; refuses an empty, unbalanced or cross-compound one, or a key used before.

    A system write (audited through save_new); callers hold the transaction.
    """
    lines = [ln for ln in lines if ln.amount_fen != 0]
    if not lines:
        raise field_error("lines", _("记账凭证不能为空"))
    if sum(ln.amount_fen for ln in lines) != 0:
        raise field_error("lines", _("借贷不平衡"))
    if any(ln.account.compound_id != compound_id for ln in lines):
        raise field_error("lines", _("一张凭证不能跨小区记账"))
    house_ids = {ln.house_id for ln in lines if ln.house_id is not None}
    if house_ids:
        from linli.places.models import House

        if House.objects.filter(pk__in=house_ids).exclude(compound_id=compound_id).exists():
            raise field_error("lines", _("一张凭证不能跨小区记账"))
    with transaction.atomic():
        entry = save_new(JournalEntry(compound_id=compound_id, at=at or timezone.now(), kind=kind, memo=memo[:200],
                                      source_type=source[0], source_id=str(source[1]),
                                      idempotency_key=idempotency_key, reverses=reverses),
                         exclude=("compound", "reverses", "idempotency_key"), check_constraints=False)
        bulk_create_audited(Posting, [
            Posting(compound_id=compound_id, entry=entry, account=ln.account, amount_fen=ln.amount_fen,
                    house_id=ln.house_id) for ln in lines
        ])
    return entry


def posted(idempotency_key: str) -> bool:
    return JournalEntry.objects.filter(idempotency_key=idempotency_key).exists()


def reverse(entry: JournalEntry, *, memo: str, idempotency_key: str, kind: str = "reversal") -> JournalEntry:
    """The mirror image of `entry` (every posting negated): how a posted entry is corrected."""
    lines = [Line(p.account, -p.amount_fen, p.house_id) for p in entry.postings.select_related("account")]
    return post(compound_id=entry.compound_id, kind=kind, memo=memo, lines=lines, idempotency_key=idempotency_key,
                source=("billing.journalentry", entry.pk), reverses=entry)


def balance(compound_id: int, kind: str, *, house_id: int | None = None, before: dt.datetime | None = None) -> int:
    """The account's balance in its normal direction (credit-normal accounts come out positive)."""
    qs = Posting.objects.filter(account__compound_id=compound_id, account__kind=kind)
    if house_id is not None:
        qs = qs.filter(house_id=house_id)
    if before is not None:
        qs = qs.filter(entry__at__lt=before)
    total = qs.aggregate(total=Sum("amount_fen"))["total"] or 0
    return -total if kind in CREDIT_NORMAL else total


@dataclass
class BalanceReport:
    """What `check_balanced` found; `ok` when every entry and the trial balance sum to zero."""

    entries: int = 0
    trial_balance_fen: int = 0
    unbalanced_entries: list[int] = field(default_factory=list)
    empty_entries: list[int] = field(default_factory=list)
    cross_compound_postings: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.trial_balance_fen or self.unbalanced_entries or self.empty_entries
                    or self.cross_compound_postings)


def check_balanced() -> BalanceReport:
    report = BalanceReport(entries=JournalEntry.objects.count())
    report.trial_balance_fen = Posting.objects.aggregate(total=Sum("amount_fen"))["total"] or 0
    sums = Posting.objects.values("entry_id").annotate(total=Sum("amount_fen")).exclude(total=0)
    report.unbalanced_entries = sorted(row["entry_id"] for row in sums)
    report.empty_entries = list(JournalEntry.objects.filter(postings__isnull=True).values_list("pk", flat=True))
    report.cross_compound_postings = list(Posting.objects.filter(
        ~Q(account__compound_id=F("entry__compound_id")) | ~Q(compound_id=F("entry__compound_id"))
    ).values_list("pk", flat=True))
    return report
