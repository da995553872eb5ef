"""Helpers for tests: per side of the test district (and for the household next door) an invitation
with its clear code, a visit by that invitation and a walk-in waiting for the host, made through
the real services once and found again after. The visitor's phone is one the privacy scans look for."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from linli.core.context import ChangeContext, change_context
from linli.visitors.models import Invitation, Visit

MARK = "test-side"
VISITOR_PHONE = "13700137001"  # linli.core.testing.PHONES["a_neighbour"]: scanned for in every response
# The clear codes of the invitations made here (only a digest is stored), by that digest.
_codes: dict[str, str] = {}


def _records_for(house: Any, host: Any, guard: Any) -> dict[str, Any]:
    from linli.visitors import services

    invitation = Invitation.objects.filter(house=house, note=MARK).first()
    if invitation is None or invitation.code_digest not in _codes:
        now = timezone.now()
        with change_context(ChangeContext(source="test", actor="test")):
            invitation, code = services.invite(actor=host, house=house, visitor_name="测试访客",
                                               visitor_phone=VISITOR_PHONE, starts_at=now - dt.timedelta(hours=1),
                                               ends_at=now + dt.timedelta(days=6), uses=20, note=MARK)
            _codes[invitation.code_digest] = code
            services.honour_invitation(code=code, gate="东门")
            services.register_walk_in(actor=guard, house=house, visitor_name="临时访客", visitor_phone=VISITOR_PHONE,
                                      purpose="送货")
        invitation.refresh_from_db()
    walk_in = Visit.objects.filter(house=house, kind="walk_in").order_by("id").first()
    return {"invitation": invitation, "invitation_code": _codes[invitation.code_digest], "visit": walk_in}


def side_records(side: Any) -> dict[str, Any]:
    return _records_for(side.house, side.users["resident"], side.users["guard"])


def side_ids(side: Any) -> dict[str, set[int]]:
    """Ids a user of the other side must never see."""
    return {"invitation": set(Invitation.objects.filter(compound=side.compound).values_list("pk", flat=True)),
            "visit": set(Visit.objects.filter(compound=side.compound).values_list("pk", flat=True))}


def neighbour_records(d: Any, neighbour: Any) -> dict[str, Any]:
    """For a resident of side a: the records of the household next door, whose `neighbour` (a person
    living in the other house of the unit) is given a resident account to invite with."""
    from linli.accounts import services as accounts
    from linli.accounts.models import User

    side_records(d.b)
    host = User.objects.filter(person=neighbour).first()
    if host is None:
        with change_context(ChangeContext(source="test", actor="test")):
            host = accounts.create_resident_account(actor=d.admin, person=neighbour)
    return _records_for(d.a.other_house, host, d.a.users["guard"])


def resident_ids(d: Any) -> dict[str, set[int]]:
    """Everything side a's resident must not see: invitations and visits not of their own house."""
    return {"invitation": set(Invitation.objects.exclude(house=d.a.house).values_list("pk", flat=True)),
            "visit": set(Visit.objects.exclude(house=d.a.house).values_list("pk", flat=True))}
