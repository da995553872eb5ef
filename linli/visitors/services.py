"""Writes of visitors: a resident's invitation (window, uses, plate) and its cancellation, admission
by code at a door or gate, walk-ins registered at the booth and answered by the household, and the
jobs that expire unanswered walk-ins and past invitations.

Admission consumes one use under a row lock, so two gates honouring a one-use code at the same
moment admit exactly one visitor.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core import crypto
from linli.core.codes import clean_code, normalise_code
from linli.core.context import ChangeContext, change_context
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.masking import mask_name
from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.visitors.models import (
    CODE_CONTEXT,
    MAX_USES,
    Invitation,
    InvitationStatus,
    Visit,
    VisitKind,
    VisitStatus,
)

JOB_LABEL = "visitor-expiry"
PHONE_RE = re.compile(r"^[0-9+\-]{5,20}$")
MAX_WINDOW = dt.timedelta(days=7)
# How far ahead a visit may be planned; a longer lead is a standing pass, not an invitation.
MAX_LEAD = dt.timedelta(days=30)
# How long a walk-in waits at the booth for the household's answer.
WALK_IN_ANSWER_WINDOW = dt.timedelta(minutes=10)


def clock() -> dt.datetime:
    """The services' clock (one place, so tests can move time)."""
    return timezone.now()


class VisitRefused(Exception):
    """A door or gate must not admit: `reason` is one of `REFUSAL_REASONS`, the message says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(str(REFUSAL_REASONS[reason]))


REFUSAL_REASONS = {
    "unknown_code": gettext_lazy("邀请码无效"),
    "not_yet_valid": gettext_lazy("邀请尚未生效"),
    "expired": gettext_lazy("邀请已过期"),
    "used_up": gettext_lazy("邀请次数已用完"),
    "cancelled": gettext_lazy("邀请已被取消"),
    "wrong_plate": gettext_lazy("车牌与邀请不符"),
}


def code_digest(code: str) -> str:
    return crypto.digest(normalise_code(code), context=CODE_CONTEXT)


def _lives_in(actor: Any, house: Any) -> bool:
    from linli.people.models import Residency

    person_id = getattr(actor, "person_id", None)
    if getattr(actor, "kind", "") != "resident" or person_id is None:
        return False
    return Residency.objects.filter(person_id=person_id, house_id=house.pk, until__isnull=True).exists()


def _phone(value: str) -> str:
    value = normalise_code(value)
    if value and not PHONE_RE.match(value):
        raise field_error("visitor_phone", _("联系电话格式不正确"))
    return value


def _plate(value: str) -> str:
    from linli.people.plates import validate_plate

    if not (value or "").strip():
        return ""
    try:
        return validate_plate(value)
    except ValidationError as exc:
        raise field_error("plate", exc.messages[0]) from exc


def _name(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise field_error("visitor_name", _("请填写访客姓名"))
    if len(value) > 40:
        raise field_error("visitor_name", _("访客姓名过长"))
    return value


def _tell(compound_id: int, audience: Any, *, title: str, body: str, source: str, key: str) -> None:
    from linli.notify.services import notify

    notify(compound_id=compound_id, audience=audience, title=title, body=body, category="system", severity="info",
           source=source, dedupe_key=key, channels=("inbox", "webpush", "console_feed"))


# --- invitations -----------------------------------------------------------------------------------

@service
def invite(*, actor: Any, house: Any, visitor_name: str, visitor_phone: str = "", starts_at: dt.datetime,
           ends_at: dt.datetime, uses: int = 1, plate: str = "", note: str = "") -> tuple[Invitation, str]:
    """A resident of the house (owner, family, tenant) invites a visitor; returns the invitation and
    the clear code, which is shown to the host once and never stored."""
    require_in_compound(actor, Invitation, "add", house.compound_id)
    if not _lives_in(actor, house):
        raise Forbidden(_("只能为自己居住的房屋邀请访客"))
    now = clock()
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, dt.datetime) or timezone.is_naive(value):
            raise field_error(name, _("请填写带时区的时间"))
    if ends_at <= starts_at:
        raise field_error("ends_at", _("结束时间必须晚于开始时间"))
    if ends_at - starts_at > MAX_WINDOW:
        raise field_error("ends_at", _("邀请有效期不能超过7天"))
    if ends_at <= now:
        raise field_error("ends_at", _("结束时间已过"))
    if starts_at - now > MAX_LEAD:
        raise field_error("starts_at", _("只能邀请30天内的来访"))
    if isinstance(uses, bool) or not isinstance(uses, int) or not 1 <= uses <= MAX_USES:
        raise field_error("uses", _("可用次数须为1到20次"))
    code = secrets.token_urlsafe(18)
    invitation = Invitation(compound_id=house.compound_id, house=house, host_user=actor,
                            host_person_id=actor.person_id, visitor_name=_name(visitor_name), plate=_plate(plate),
                            starts_at=starts_at, ends_at=ends_at, uses_allowed=uses, code_digest=code_digest(code),
                            note=(note or "").strip()[:200], created_at=now)
    invitation.set_visitor_phone(_phone(visitor_phone))
    return save_new(invitation, exclude=("compound", "house", "host_user", "host_person")), code


def _locked_invitation(invitation: Invitation) -> Invitation:
    try:
        return Invitation.objects.select_for_update().get(pk=invitation.pk)
    except Invitation.DoesNotExist as exc:
        raise NotFound("invitation") from exc


@service
def cancel_invitation(*, actor: Any, invitation: Invitation) -> Invitation:
    """A resident of the house (or the property manager) withdraws an invitation still in force."""
    invitation = _locked_invitation(invitation)
    require(actor, invitation, "change")
    if invitation.status != InvitationStatus.ACTIVE:
        raise Conflict(_("该邀请已失效，不能取消"), field="status")
    return save_changes(invitation, {"status": InvitationStatus.CANCELLED, "cancelled_at": clock()})


def _refusal(invitation: Invitation, at: dt.datetime, plate: str) -> str | None:
    if invitation.status == InvitationStatus.CANCELLED:
        return "cancelled"
    if invitation.status == InvitationStatus.USED_UP or invitation.uses_made >= invitation.uses_allowed:
        return "used_up"
    if at < invitation.starts_at:
        return "not_yet_valid"
    if invitation.status == InvitationStatus.EXPIRED or at >= invitation.ends_at:
        return "expired"
    if plate and invitation.plate and plate != invitation.plate:
        return "wrong_plate"
    return None


@service
def honour_invitation(*, code: str, at: dt.datetime | None = None, gate: str = "", plate: str = "",
                      actor: Any = None) -> Visit:
    """What a door or gate calls with a visitor's code: admits and consumes one use, or raises
    `VisitRefused` with the reason. Judged by server time unless the controller says when (`at`).

    With an `actor` (a guard at the booth), only invitations of their compounds are honoured; any
    other code is unknown to them. A code as a guard types it (full-width, spaced) reads as the code;
    one that can never be a code is a ValidationError naming `code`."""
    code = clean_code(code, field="code", message=_("邀请码格式不正确"))
    at = at or clock()
    rows = Invitation.objects.select_for_update().filter(code_digest=code_digest(code))
    if actor is not None:
        rows = rows.filter(pk__in=Invitation.objects.restrict(actor, "honour").values("pk"))
    invitation = rows.first() if code else None
    if invitation is None:
        raise VisitRefused("unknown_code")
    try:
        plate = _plate(plate)
    except ValidationError:
        plate = (plate or "").strip().upper()  # a camera's misread: compared as read, so it will not match
    reason = _refusal(invitation, at, plate)
    if reason is not None:
        raise VisitRefused(reason)
    used = invitation.uses_made + 1
    changes: dict[str, Any] = {"uses_made": used}
    if used >= invitation.uses_allowed:
        changes["status"] = InvitationStatus.USED_UP
    save_changes(invitation, changes)
    visit = Visit(compound_id=invitation.compound_id, house_id=invitation.house_id, invitation=invitation,
                  kind=VisitKind.INVITATION, status=VisitStatus.ADMITTED, visitor_name=invitation.visitor_name,
                  plate=plate or invitation.plate, gate=(gate or "")[:64], arrived_at=at,
                  registered_by=actor if getattr(actor, "pk", None) else None)
    visit.visitor_phone_cipher = invitation.visitor_phone_cipher
    visit.visitor_phone_digest = invitation.visitor_phone_digest
    visit.visitor_phone_masked = invitation.visitor_phone_masked
    visit = save_new(visit, exclude=("compound", "house", "invitation", "registered_by"))
    from linli.notify.services import Audience

    _tell(invitation.compound_id, Audience(user_ids=(invitation.host_user_id,) if invitation.host_user_id else (),
                                           residents_of_house=invitation.house_id),
          title=_("您邀请的访客已到达"), body=_("访客%(name)s已入园") % {"name": mask_name(invitation.visitor_name)},
          source=f"visit:{visit.pk}", key=f"visit:{visit.pk}:arrived")
    return visit


# --- walk-ins --------------------------------------------------------------------------------------

@service
def register_walk_in(*, actor: Any, house: Any, visitor_name: str, visitor_phone: str = "", purpose: str = "",
                     plate: str = "") -> Visit:
    """A guard registers a visitor at the booth; the household is asked to admit or refuse."""
    require_in_compound(actor, Visit, "add", house.compound_id)
    if getattr(actor, "kind", "") == "resident":
        raise Forbidden(_("只有门岗可以登记临时访客"))
    now = clock()
    visit = Visit(compound_id=house.compound_id, house=house, kind=VisitKind.WALK_IN,
                  status=VisitStatus.PENDING_HOST, visitor_name=_name(visitor_name),
                  purpose=(purpose or "").strip()[:100], plate=_plate(plate), arrived_at=now, registered_by=actor,
                  answer_by=now + WALK_IN_ANSWER_WINDOW)
    visit.set_visitor_phone(_phone(visitor_phone))
    visit = save_new(visit, exclude=("compound", "house", "registered_by"))
    from linli.notify.services import Audience

    _tell(visit.compound_id, Audience(residents_of_house=visit.house_id), title=_("有访客等待您确认"),
          body=_("访客%(name)s正在门岗等候，请在10分钟内确认是否放行。") % {"name": mask_name(visit.visitor_name)},
          source=f"visit:{visit.pk}", key=f"visit:{visit.pk}:ask")
    return visit


def _locked_visit(visit: Visit) -> Visit:
    try:
        return Visit.objects.select_for_update().get(pk=visit.pk)
    except Visit.DoesNotExist as exc:
        raise NotFound("visit") from exc


@service
def answer_walk_in(*, actor: Any, visit: Visit, admit: bool) -> Visit:
    """A resident of the visited house admits or refuses a waiting walk-in; the booth is told."""
    visit = _locked_visit(visit)
    require(actor, visit, "change")
    if not _lives_in(actor, visit.house):
        raise Forbidden(_("只有该房屋的住户可以确认来访"))
    if visit.kind != VisitKind.WALK_IN or visit.status != VisitStatus.PENDING_HOST:
        raise Conflict(_("该来访已处理"), field="status")
    now = clock()
    if visit.answer_by is not None and now >= visit.answer_by:
        raise Conflict(_("确认已超时，请门岗重新登记"), field="status")
    status = VisitStatus.ADMITTED if admit else VisitStatus.REFUSED
    visit = save_changes(visit, {"status": status, "answered_at": now, "answered_by": actor})
    _tell_booth(visit, _("住户同意放行") if admit else _("住户拒绝来访"), key="answer")
    return visit


def _tell_booth(visit: Visit, title: str, *, key: str) -> None:
    from linli.notify.services import Audience

    users = (visit.registered_by_id,) if visit.registered_by_id else ()
    _tell(visit.compound_id, Audience(user_ids=users), title=title,
          body=_("来访记录%(id)s") % {"id": visit.pk}, source=f"visit:{visit.pk}", key=f"visit:{visit.pk}:{key}")


# --- expiry jobs (system writes) --------------------------------------------------------------------

def _each_locked(queryset, change) -> int:
    """Apply `change` to each row of `queryset` under its own lock; rows another process holds are
    skipped (it is changing them), rows no longer matching are left. Returns how many changed."""
    done = 0
    with change_context(ChangeContext(source="job", actor=JOB_LABEL)):
        for pk in list(queryset.order_by("pk").values_list("pk", flat=True)):
            with transaction.atomic():
                rows = queryset.filter(pk=pk)
                if connection.features.has_select_for_update_skip_locked:
                    rows = rows.select_for_update(skip_locked=True)
                else:
                    rows = rows.select_for_update()
                row = rows.first()
                if row is not None:
                    change(row)
                    done += 1
    return done


def expire_walk_ins(*, now: dt.datetime | None = None) -> int:
    """Walk-ins the household did not answer in time are expired and the booth is told."""
    at = now or clock()

    def expire(visit: Visit) -> None:
        save_changes(visit, {"status": VisitStatus.EXPIRED})
        _tell_booth(visit, _("住户未在规定时间内确认"), key="expired")

    return _each_locked(Visit.objects.filter(status=VisitStatus.PENDING_HOST, answer_by__lte=at), expire)


def expire_invitations(*, now: dt.datetime | None = None) -> int:
    """Active invitations whose window has closed become expired."""
    at = now or clock()
    return _each_locked(Invitation.objects.filter(status=InvitationStatus.ACTIVE, ends_at__lte=at),
                        lambda inv: save_changes(inv, {"status": InvitationStatus.EXPIRED}))


def expire_due() -> tuple[int, int]:
    return expire_walk_ins(), expire_invitations()
