"""Made-up but valid identity numbers for the demo: citizen IDs (GB 11643), mobile numbers,
licence plates (GA 36) and unified social credit codes (GB 32100 with a GB 11714 body).

`Registry` remembers what was handed out so no number is issued twice, including numbers
already in the database when the demo is loaded on top of other data.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from linli.people.identity import mainland_id_check_char, uscc_check_char

# GB/T 2260 codes of Qingdao's districts, weighted towards Jiaozhou (胶州市, 370281).
QINGDAO_DISTRICTS: tuple[tuple[str, int], ...] = (
    ("370281", 0), ("370202", 6), ("370203", 8), ("370205", 4), ("370211", 10), ("370212", 5),
    ("370213", 6), ("370214", 10), ("370215", 8), ("370283", 20), ("370285", 12),
)
JIAOZHOU = "370281"
# Where Jiaozhou's floating population comes from besides the rest of Qingdao.
ELSEWHERE: tuple[tuple[str, int], ...] = (
    ("370702", 8), ("370782", 8), ("371302", 8), ("371321", 5), ("370602", 4), ("410105", 5),
    ("341202", 4), ("230102", 3), ("220102", 3), ("320322", 3), ("130102", 3),
)

MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
                   "152", "153", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180",
                   "181", "182", "183", "185", "186", "187", "188", "189", "191", "195", "198", "199")

# GA 36: letters after the province never include I or O.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# Qingdao issues 鲁B and 鲁U; a few cars come from Jinan (A), Weifang (G), Jining (H), Linyi (Q).
PLATE_PREFIXES: tuple[tuple[str, int], ...] = (
    ("鲁B", 85), ("鲁U", 7), ("鲁A", 2), ("鲁G", 3), ("鲁H", 1), ("鲁Q", 2),
)

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _weighted(rng: random.Random, table: Iterable[tuple[str, int]]) -> str:
    items = list(table)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


@dataclass
class Registry:
    """Numbers already issued in this run, plus a check against rows already stored."""

    ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    plates: set[str] = field(default_factory=set)
    credit_codes: set[str] = field(default_factory=set)
    # Digest functions and digests of numbers already in the database (empty on a fresh one).
    stored_id_digests: set[str] = field(default_factory=set)
    stored_phone_digests: set[str] = field(default_factory=set)
    id_digest: Callable[[str], str] | None = None
    phone_digest: Callable[[str], str] | None = None

    def claim_id(self, value: str) -> bool:
        if value in self.ids:
            return False
        if self.stored_id_digests and self.id_digest and self.id_digest(value) in self.stored_id_digests:
            return False
        self.ids.add(value)
        return True

    def claim_phone(self, value: str) -> bool:
        if value in self.phones:
            return False
        if self.stored_phone_digests and self.phone_digest and self.phone_digest(value) in self.stored_phone_digests:
            return False
        self.phones.add(value)
        return True


def id_region(rng: random.Random, *, registered: bool) -> str:
    """Where an ID number was issued: mostly Jiaozhou for registered residents."""
    if registered:
        return JIAOZHOU if rng.random() < 0.85 else _weighted(rng, QINGDAO_DISTRICTS)
    return _weighted(rng, QINGDAO_DISTRICTS) if rng.random() < 0.6 else _weighted(rng, ELSEWHERE)


def mainland_id(rng: random.Random, registry: Registry, *, region: str, birth: dt.date, male: bool) -> str:
    """An 18-character ID number; the 17th digit is odd for men, the last is the GB 11643 check."""
    while True:
        seq = rng.randrange(0, 1000)
        seq = seq - seq % 2 + (1 if male else 0)
        body = f"{region}{birth:%Y%m%d}{seq:03d}"
        value = body + mainland_id_check_char(body)
        if registry.claim_id(value):
            return value


def mobile(rng: random.Random, registry: Registry) -> str:
    while True:
        value = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if registry.claim_phone(value):
            return value


def plate(rng: random.Random, registry: Registry, *, new_energy: bool) -> str:
    """A GA 36 plate: 鲁B·5 characters, or a new-energy 鲁B·D/F + 5 characters."""
    while True:
        prefix = _weighted(rng, PLATE_PREFIXES)
        if new_energy:
            # Small new-energy cars: D (battery) or F (hybrid), one letter or digit, four digits.
            second = rng.choice(PLATE_LETTERS) if rng.random() < 0.3 else str(rng.randrange(10))
            value = f"{prefix}{rng.choice('DF')}{second}{rng.randrange(10**4):04d}"
        else:
            serial = [str(rng.randrange(10)) for _ in range(5)]
            for pos in rng.sample(range(5), k=rng.choices((0, 1, 2), weights=(35, 45, 20))[0]):
                serial[pos] = rng.choice(PLATE_LETTERS)
            value = prefix + "".join(serial)
        if value not in registry.plates:
            registry.plates.add(value)
            return value


def org_code(rng: random.Random) -> str:
    """A GB 11714 organisation code: 8 characters and its MOD 11 check (X for 10, 0 for 11)."""
    body = "MA" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(6))
    total = sum(_char_value(c) * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _char_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


# Registration department and kind (GB 32100 positions 1-2): 91 enterprise, 92 sole trader,
# 11 government body (街道办事处, 派出所), Y1 other (居委会, 业主委员会).
USCC_KIND = {"enterprise": "91", "sole_trader": "92", "government": "11", "other": "Y1"}


def credit_code(rng: random.Random, registry: Registry, *, kind: str, region: str = JIAOZHOU) -> str:
    while True:
        body = USCC_KIND[kind] + region + org_code(rng)
        value = body + uscc_check_char(body)
        if value not in registry.credit_codes:
            registry.credit_codes.add(value)
            return value
