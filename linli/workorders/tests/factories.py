"""Small builders for work-order tests, all through the real services."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.utils import timezone

from linli.accounts import services as accounts
from linli.accounts.models import AccountKind, User
from linli.core.testing import PASSWORD
from linli.workorders import services


def category(district, side="a", **settings):
    s = getattr(district, side)
    fields = {"code": "plumbing", "kind": "repair", "name": "水电维修", "deadline_minutes": 240, **settings}
    return services.create_category(actor=s.users["property_manager"], compound=s.compound, **fields)


def leaking_pipe(district, cat, side="a", **extra):
    s = getattr(district, side)
    extra.setdefault("house", s.house)
    return services.submit(actor=s.users["resident"], compound=s.compound, category=cat, title="厨房水管漏水",
                           description="水从吊顶滴下来", **extra)


def technician(district, side="a", name="technician2"):
    s = getattr(district, side)
    user = User.objects.create_user(username=f"{name}_{side}", password=PASSWORD, kind=AccountKind.STAFF)
    accounts.grant_role(actor=district.admin, user=user, role="technician", compound=s.compound)
    return user


def photo_ref(compound_id: int) -> str:
    return f"workorders/{compound_id}/test/{uuid.uuid4().hex}.jpg"


@dataclass
class Clock:
    """The services' clock, moved by hand (`sla.now` is patched to read it)."""

    at: dt.datetime

    def advance(self, **delta) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at


def start_clock() -> Clock:
    return Clock(timezone.now().replace(microsecond=0))
