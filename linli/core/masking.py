"""Masks for personal data shown without the reveal permission."""

from __future__ import annotations

import re


def mask_id_number(value: str) -> str:
    """`370281199001011234` → `3702**********1234`; short documents keep two characters each side."""
    value = value.strip()
    if len(value) >= 15:
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`."""
    digits = value.strip()
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


def mask_name(value: str) -> str:
    """`张三丰` → `张**`, used in exports for roles that may not see names."""
    return value[:1] + "*" * (len(value) - 1) if value else value


# Used by the log filter and the privacy scans: an 18-character mainland ID or an 11-digit mobile number.
ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![0-9A-Za-z])")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def scrub(text: str) -> str:
    text = ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    return MOBILE_RE.sub(lambda m: mask_phone(m.group(0)), text)
