"""How much each house owes for a fee item and a period: periods, rounding and cost splitting.

Pure arithmetic on integer fen. Rounding is half up to the fen, once per bill line. A shared
cost is split so the parts sum exactly to the total: every house gets the floor of its share and
the fen left over go one each to the largest remainders (ties: the lower house id), so the same
input always gives the same split.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from linli.core.services import field_error


def round_fen(value: Decimal) -> int:
    """Half up to the whole fen (0.5 fen → 1 fen)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Period:
    """A billing cycle: first and last day, both inclusive."""

    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, value: str | tuple[dt.date, dt.date] | Period) -> Period:
        """'2026-11' is that month; a (first, last) pair of dates is a range."""
        if isinstance(value, Period):
            return value
        if isinstance(value, str):
            match = re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())
            if not match or not 1 <= int(match[2]) <= 12:
                raise field_error("period", _("账期格式应为 年-月，例如 2026-11"))
            year, month = int(match[1]), int(match[2])
            return cls(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))
        start, end = value
        if end < start:
            raise field_error("period", _("账期结束日期不能早于开始日期"))
        return cls(start, end)

    def whole_months(self) -> int | None:
        """How many calendar months it spans exactly; None when it starts or ends mid-month."""
        if self.start.day != 1:
            return None
        if self.end.day != calendar.monthrange(self.end.year, self.end.month)[1]:
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def __str__(self) -> str:
        if self.whole_months() == 1:
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}~{self.end.isoformat()}"


def split_exactly(total_fen: int, weights: dict[int, Decimal]) -> dict[int, int]:
    """Split `total_fen` over keys in proportion to their weights; the parts sum to the total."""
    total_weight = sum(weights.values(), Decimal(0))
    if total_weight <= 0:
        return dict.fromkeys(weights, 0)
    parts: dict[int, int] = {}
    remainders: list[tuple[Decimal, int]] = []
    for key, weight in weights.items():
        exact = Decimal(total_fen) * weight / total_weight
        floor = int(exact)  # non-negative, so int() is the floor
        parts[key] = floor
        remainders.append((exact - floor, key))
    left = total_fen - sum(parts.values())
    for _remainder, key in sorted(remainders, key=lambda r: (-r[0], r[1]))[:left]:
        parts[key] += 1
    return parts
