"""The Civil Code Art. 278 outcome of a vote, as a pure function with exact arithmetic.

Art. 278 para. 2 (2021): owners holding at least two thirds of the exclusive area AND at least two
thirds of the owners must take part; an ordinary matter then needs more than half of the
participating area AND of the participating owners, a major matter (items 6–8) at least three
quarters of each. "以上" includes the number itself (Art. 1259), "过半数" does not. Shares are
`Fraction`s so an edge such as exactly two thirds is never lost to rounding.

Headcount follows the Supreme People's Court interpretation on building ownership (Art. 9): one
owner per exclusive part, but a person owning several parts counts once. Ballots are cast per house.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

PARTICIPATION = Fraction(2, 3)  # 三分之二以上: at least
ORDINARY_APPROVAL = Fraction(1, 2)  # 过半数: strictly more than
MAJOR_APPROVAL = Fraction(3, 4)  # 四分之三以上: at least

APPROVE = "approve"


@dataclass(frozen=True)
class ElectorRow:
    """One house of the electorate: its id, who owns it (for headcount) and its exclusive area."""

    house_id: int
    owner_id: int
    area: Decimal | Fraction | int


@dataclass(frozen=True)
class CastChoice:
    house_id: int
    choice: str


@dataclass(frozen=True)
class Outcome:
    total_area: Fraction
    total_owners: int
    participating_area: Fraction
    participating_owners: int
    approving_area: Fraction
    approving_owners: int
    participation_area_share: Fraction
    participation_headcount_share: Fraction
    approval_area_share: Fraction
    approval_headcount_share: Fraction
    participation_area_met: bool
    participation_headcount_met: bool
    approval_area_met: bool
    approval_headcount_met: bool
    major: bool

    @property
    def quorate(self) -> bool:
        return self.participation_area_met and self.participation_headcount_met

    @property
    def passed(self) -> bool:
        return self.quorate and self.approval_area_met and self.approval_headcount_met

    def as_record(self) -> dict[str, Any]:
        """A JSON-safe copy (fractions as "p/q" strings) to store on the closed vote."""
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            out[name] = str(value) if isinstance(value, Fraction) else value
        out["quorate"], out["passed"] = self.quorate, self.passed
        return out


def _share(part: Fraction | int, whole: Fraction | int) -> Fraction:
    return Fraction(part) / Fraction(whole) if whole else Fraction(0)


def art278_outcome(electorate: Iterable[ElectorRow], ballots: Iterable[CastChoice], major: bool) -> Outcome:
    """Participation and approval shares, which thresholds were met, and whether the matter passed.

    A ballot for a house outside the electorate is ignored (it cannot count). An abstention takes
    part but does not approve. A person owning several houses is one head: they take part if any of
    their houses voted, and approve by head only if every ballot cast for their houses approves.
    """
    rows = {row.house_id: row for row in electorate}
    cast = {b.house_id: b.choice for b in ballots if b.house_id in rows}
    total_area = sum((Fraction(r.area) for r in rows.values()), Fraction(0))
    owners = {r.owner_id for r in rows.values()}
    participating_area = sum((Fraction(rows[h].area) for h in cast), Fraction(0))
    approving_area = sum((Fraction(rows[h].area) for h, c in cast.items() if c == APPROVE), Fraction(0))
    choices_by_owner: dict[int, list[str]] = {}
    for house_id, choice in cast.items():
        choices_by_owner.setdefault(rows[house_id].owner_id, []).append(choice)
    participating_owners = len(choices_by_owner)
    approving_owners = sum(1 for cs in choices_by_owner.values() if all(c == APPROVE for c in cs))

    area_share = _share(participating_area, total_area)
    head_share = _share(participating_owners, len(owners))
    approval_area = _share(approving_area, participating_area)
    approval_head = _share(approving_owners, participating_owners)
    if major:
        area_ok, head_ok = approval_area >= MAJOR_APPROVAL, approval_head >= MAJOR_APPROVAL
    else:
        area_ok, head_ok = approval_area > ORDINARY_APPROVAL, approval_head > ORDINARY_APPROVAL
    return Outcome(
        total_area=total_area, total_owners=len(owners),
        participating_area=participating_area, participating_owners=participating_owners,
        approving_area=approving_area, approving_owners=approving_owners,
        participation_area_share=area_share, participation_headcount_share=head_share,
        approval_area_share=approval_area, approval_headcount_share=approval_head,
        participation_area_met=bool(total_area) and area_share >= PARTICIPATION,
        participation_headcount_met=bool(owners) and head_share >= PARTICIPATION,
        approval_area_met=participating_area > 0 and area_ok,
        approval_headcount_met=participating_owners > 0 and head_ok,
        major=major,
    )
