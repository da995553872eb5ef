"""Demo accounts: the administrator, staff with their role grants, residents bound to persons.

Every demo staff account shares one password; it is hashed once (PBKDF2 is slow on purpose).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password

from linli.accounts import services as accounts
from linli.accounts.models import AccountKind, User
from linli.core.services import save_new
from linli.demo import names

DEMO_PASSWORD = "linli-demo"  # noqa: S105 - published demo password, printed by `linli demo`
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class StaffAccount:
    username: str
    role: str
    node: dict[str, Any]  # one of region=, grid=, compound=, organisation=


def ensure_admin() -> User:
    """The platform administrator the demo acts as; reused when it already exists."""
    existing = User.objects.filter(username=ADMIN_USERNAME, is_superuser=True).first()
    return existing or accounts.create_superuser(username=ADMIN_USERNAME, password=DEMO_PASSWORD)


class StaffFactory:
    def __init__(self, rng: random.Random, actor: User):
        self.rng, self.actor = rng, actor
        self.password = make_password(DEMO_PASSWORD)

    def create(self, account: StaffAccount) -> User:
        display = names.person_name(self.rng, male=self.rng.random() < 0.55, birth_year=self.rng.randint(1968, 1998))
        user = User(username=account.username, display_name=display, kind=AccountKind.STAFF,
                    password=self.password)
        save_new(user, exclude=["password"])
        accounts.grant_role(actor=self.actor, user=user, role=account.role, **account.node)
        return user
