"""Invitations: who may invite, the window and the number of uses, admission by code at the gate with
a clear reason when refused, cancellation, expiry, and two gates honouring a one-use code at once."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from linli.accounts import services as accounts
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.testing import at_once
from linli.visitors import services
from linli.visitors.models import Invitation, Visit
from linli.visitors.qr import qr_svg
from linli.visitors.services import VisitRefused
from linli.visitors.tests.conftest import invite


def _refused(code, **kwargs) -> str:
    with pytest.raises(VisitRefused) as exc:
        services.honour_invitation(code=code, **kwargs)
    return exc.value.reason


def test_an_invitation_admits_exactly_its_number_of_uses(district, clock):
    invitation, code = invite(district, uses=3)
    visits = [services.honour_invitation(code=code, gate="东门") for _ in range(3)]
    assert [v.status for v in visits] == ["admitted"] * 3 and all(v.invitation_id == invitation.pk for v in visits)
    assert _refused(code) == "used_up"
    invitation.refresh_from_db()
    assert invitation.uses_made == 3 and invitation.status == "used_up"


def test_only_a_digest_of_the_code_is_kept_and_the_visitors_phone_is_sealed(district, clock):
    invitation, code = invite(district)
    assert len(code) >= 20
    stored = Invitation.objects.filter(pk=invitation.pk).values()[0]
    assert code not in str(stored) and "13600136000" not in str(stored)
    assert invitation.visitor_phone_masked == "136****6000"
    assert invitation.visitor_phone_plain() == "13600136000"


def test_a_code_outside_its_window_is_refused_with_the_reason(district, clock):
    _, early = invite(district, start_in=dt.timedelta(hours=2), hours=1)
    assert _refused(early) == "not_yet_valid"
    clock.advance(hours=2)
    assert services.honour_invitation(code=early).status == "admitted"
    _, late = invite(district, hours=1, uses=2)
    clock.advance(hours=1)
    assert _refused(late) == "expired"
    # A controller that was offline reports when the visitor actually came, inside the window.
    assert services.honour_invitation(code=late, at=clock.at - dt.timedelta(minutes=30)).status == "admitted"


def test_unknown_cancelled_and_wrong_plate_codes_are_refused(district, clock):
    assert _refused("not-a-code") == "unknown_code"
    assert _refused("") == "unknown_code"
    invitation, code = invite(district, plate="鲁B7K3D9")
    assert invitation.plate == "鲁B7K3D9"
    assert _refused(code, plate="鲁B12345") == "wrong_plate"
    assert services.honour_invitation(code=code, plate="鲁b 7k3d9").plate == "鲁B7K3D9"
    other, other_code = invite(district)
    services.cancel_invitation(actor=district.a.users["resident"], invitation=other)
    assert _refused(other_code) == "cancelled"
    assert Visit.objects.count() == 1


def test_a_guard_honours_only_codes_of_their_own_compound(district, clock):
    _, code = invite(district)
    assert _refused(code, actor=district.b.users["guard"]) == "unknown_code"
    visit = services.honour_invitation(code=code, actor=district.a.users["guard"], gate="南门岗")
    assert visit.registered_by == district.a.users["guard"] and visit.gate == "南门岗"


def test_the_host_is_told_when_their_visitor_arrives(district, clock):
    from linli.notify.models import Delivery, Notification

    _, code = invite(district)
    visit = services.honour_invitation(code=code)
    note = Notification.objects.get(source=f"visit:{visit.pk}")
    assert "王小明" not in note.body and "王" in note.body
    assert Delivery.objects.filter(notification=note, recipient=district.a.users["resident"]).exists()


def test_the_window_is_checked(district, clock):
    with pytest.raises(ValidationError, match="7天"):
        invite(district, hours=7 * 24 + 1)
    with pytest.raises(ValidationError, match="晚于"):
        invite(district, hours=0)
    with pytest.raises(ValidationError, match="次数"):
        invite(district, uses=21)
    with pytest.raises(ValidationError, match="次数"):
        invite(district, uses=0)
    with pytest.raises(ValidationError, match="车牌"):
        invite(district, plate="ABC")
    assert invite(district, hours=7 * 24)[0].uses_allowed == 1


def test_family_may_invite_and_a_resident_of_another_house_may_not(district, clock):
    a = district.a
    family = accounts.create_resident_account(actor=district.admin, person=a.family)
    assert invite(district, actor=family)[0].host_user == family
    with pytest.raises(Forbidden):
        services.invite(actor=a.users["resident"], house=a.other_house, visitor_name="访客",
                        starts_at=services.clock(), ends_at=services.clock() + dt.timedelta(hours=1))
    with pytest.raises(NotFound):
        invite(district, actor=district.b.users["resident"])
    with pytest.raises((Forbidden, NotFound)):
        invite(district, actor=a.users["guard"])


def test_a_resident_who_moved_out_can_no_longer_invite(district, clock):
    from linli.people import services as people

    people.end_residency(actor=district.admin, residency=district.a.residency, until=timezone.localdate())
    resident = type(district.a.users["resident"]).objects.get(pk=district.a.users["resident"].pk)
    with pytest.raises((Forbidden, NotFound)):
        invite(district, actor=resident)


def test_cancelling_is_for_the_household_and_only_once(district, clock):
    invitation, _ = invite(district)
    with pytest.raises(NotFound):
        services.cancel_invitation(actor=district.b.users["resident"], invitation=invitation)
    with pytest.raises(Forbidden):
        services.cancel_invitation(actor=district.a.users["guard"], invitation=invitation)
    services.cancel_invitation(actor=district.a.users["resident"], invitation=invitation)
    with pytest.raises(Conflict):
        services.cancel_invitation(actor=district.a.users["resident"], invitation=invitation)


def test_past_invitations_expire_once(district, clock):
    invitation, _ = invite(district, hours=1)
    assert services.expire_invitations(now=clock.at) == 0
    assert services.expire_invitations(now=clock.at + dt.timedelta(hours=1)) == 1
    assert services.expire_invitations(now=clock.at + dt.timedelta(hours=2)) == 0
    invitation.refresh_from_db()
    assert invitation.status == "expired"


def test_the_qr_code_is_inline_svg():
    svg = qr_svg("abc-DEF_123")
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<path" in svg and "<?xml" not in svg


@pytest.mark.django_db(transaction=True)
def test_two_gates_honouring_a_one_use_code_at_once_admit_one_on_postgresql(district):
    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrency are a PostgreSQL matter; SQLite has one writer")
    invitation, code = invite(district)
    gates = 6

    def honour(gate):
        try:
            services.honour_invitation(code=code, gate=f"gate-{gate}")
            return "admitted"
        except VisitRefused as refused:
            return refused.reason

    outcomes = at_once(honour, list(range(gates)))
    assert sorted(outcomes) == ["admitted"] + ["used_up"] * (gates - 1)
    invitation.refresh_from_db()
    assert invitation.uses_made == 1 and Visit.objects.filter(invitation=invitation).count() == 1
