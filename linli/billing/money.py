"""Money is integer fen everywhere; these two turn it into yuan text and back, exactly (no floats)."""

from __future__ import annotations

import re

_YUAN = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?")


def yuan(fen: int) -> str:
    """12345 → "123.45", -5 → "-0.05"."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fen_from_yuan(text: str) -> int:
    """"123.45" → 12345, exactly; anything but a plain non-negative amount with at most two
    decimals ("1e3", "-1", "1.234", " 1") is refused (ValueError) rather than rounded."""
    match = _YUAN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("not a yuan amount")
    whole, cents = match.groups()
    return int(whole) * 100 + int((cents or "0").ljust(2, "0"))
