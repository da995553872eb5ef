"""Ballot receipts: a digest an owner can find in the published list to see their ballot counted.

The salt is random, handed to the voter once and never stored, so nobody holding only the list (or
the database) can tell which receipt belongs to which house.
"""

from __future__ import annotations

import hashlib
import secrets


def new_salt() -> str:
    return secrets.token_hex(16)


def receipt_of(*, vote_id: int, house_id: int, choice: str, salt: str) -> str:
    """sha256 over "vote_id|house_id|choice|salt"; anyone can recompute it with the salt they hold."""
    return hashlib.sha256(f"{vote_id}|{house_id}|{choice}|{salt}".encode()).hexdigest()
