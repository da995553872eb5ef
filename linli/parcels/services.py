"""Writes of parcels: registration at the booth or from a locker event, pickup (with the code at the
booth, or confirmed by the household), return to the courier, and overdue reminders.

The pickup code never leaves the household: notifications say a parcel arrived and where, and the
residents read the code in their own parcel list. Staff must be told the code by the resident.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import crypto
from linli.core.codes import clean_code
from linli.core.context import ChangeContext, change_context
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.parcels.models import TRACKING_CONTEXT, Parcel, ParcelPolicy, PickupMethod, Source, Status

JOB_LABEL = "parcel-reminders"
TRACKING_RE = re.compile(r"^[0-9A-Z-]{6,40}$")
LOCKER_CODE_RE = re.compile(r"^[0-9A-Za-z]{4,12}$")
STAFF_SOURCES = (Source.BOOTH, Source.SERVICE_DESK)
POLICY_FIELDS = ("first_reminder_hours", "reminder_every_hours", "max_reminders", "code_attempts",
                 "lockout_minutes")
CODE_TRIES = 20


def clock() -> dt.datetime:
    """The services' clock (one place, so tests can move time)."""
    return timezone.now()


def policy_for(compound_id: int) -> ParcelPolicy:
    """The compound's policy, or an unsaved one holding the defaults."""
    return ParcelPolicy.objects.filter(compound_id=compound_id).first() or ParcelPolicy(compound_id=compound_id)


@service
def set_policy(*, actor: Any, compound: Any, **settings: Any) -> ParcelPolicy:
    """A property manager sets the compound's reminder period and code lockout."""
    unknown = set(settings) - set(POLICY_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], _("未知字段"))
    existing = ParcelPolicy.objects.filter(compound_id=compound.pk).first()
    if existing is None:
        require_in_compound(actor, ParcelPolicy, "add", compound.pk)
        return save_new(ParcelPolicy(compound=compound, **settings))
    require(actor, existing, "change")
    return save_changes(existing, settings)


# --- registration ------------------------------------------------------------------------------

def _tracking(tracking_no: str) -> tuple[str, str]:
    """(last four, keyed digest) of a tracking number; the number itself is not kept."""
    value = clean_code(tracking_no, field="tracking_no", upper=True, pattern=TRACKING_RE,
                       message=_("快递单号格式不正确"))
    if not value:
        return "", ""
    return value[-4:], crypto.digest(value, context=TRACKING_CONTEXT)


def tracking_digest(tracking_no: str) -> str:
    """For finding a parcel by its full tracking number; empty when the number is malformed."""
    try:
        return _tracking(tracking_no)[1]
    except ValidationError:
        return ""


def _new_code(compound_id: int) -> str:
    taken = set(Parcel.objects.filter(compound_id=compound_id, status=Status.WAITING)
                .values_list("pickup_code", flat=True))
    for _try in range(CODE_TRIES):
        code = f"{secrets.randbelow(10 ** 6):06d}"
        if code not in taken:
            return code
    raise Conflict(_("暂时无法生成取件码，请稍后重试"), field="pickup_code")


def _tell_household(parcel: Parcel, *, title: str, body: str, key: str) -> None:
    from linli.notify.services import Audience, notify

    notify(compound_id=parcel.compound_id, audience=Audience(residents_of_house=parcel.house_id), title=title,
           body=body, category="system", severity="info", source=f"parcel:{parcel.pk}",
           dedupe_key=f"parcel:{parcel.pk}:{key}", channels=("inbox", "webpush"))


def _arrival_text(parcel: Parcel) -> str:
    where = parcel.position or parcel.get_source_display()
    if not parcel.courier:
        return _("您的快递已到，存放于%(where)s。取件码请在“我的快递”中查看，领取时出示。") % {"where": where}
    return _("%(courier)s快递已到，存放于%(where)s。取件码请在“我的快递”中查看，领取时出示。") % {
        "courier": parcel.courier, "where": where}


@service
def register_parcel(*, actor: Any, house: Any, courier: str = "", tracking_no: str = "", position: str = "",
                    source: str = "booth", note: str = "") -> Parcel:
    """A guard or the service desk takes in a parcel for a house; the household is told it arrived."""
    require_in_compound(actor, Parcel, "add", house.compound_id)
    if getattr(actor, "kind", "") == "resident":
        raise Forbidden(_("只有物业人员可以登记快递"))
    if source not in STAFF_SOURCES:
        raise field_error("source", _("快递来源只能是门岗或物业前台"))
    last4, digest = _tracking(tracking_no)
    parcel = None
    for _try in range(3):  # two guards registering at once may draw the same code
        candidate = Parcel(compound_id=house.compound_id, house=house, source=source, courier=(courier or "").strip(),
                           tracking_last4=last4, tracking_digest=digest, position=(position or "").strip(),
                           pickup_code=_new_code(house.compound_id), note=(note or "").strip(),
                           registered_at=clock(), registered_by=actor)
        try:
            parcel = save_new(candidate, exclude=("compound", "house"))
            break
        except Conflict:
            continue
    if parcel is None:
        raise Conflict(_("暂时无法生成取件码，请稍后重试"), field="pickup_code")
    _tell_household(parcel, title=_("您有新的快递"), body=_arrival_text(parcel), key="arrived")
    return parcel


def register_from_locker(*, compound_id: int, device_code: str, house_id: int, locker_code: str, box: str,
                         tracking_no: str = "", message_id: str) -> Parcel:
    """A smart locker reports a parcel put into a box; the locker's own code is the pickup code.

    A system write for the gateway, idempotent by the locker's message id: a redelivered event
    returns the parcel it registered."""
    from linli.devices.models import Device
    from linli.places.models import House

    key = f"{device_code}#{message_id}"[:140]
    existing = Parcel.objects.filter(source_key=key).first()
    if existing is not None:
        return existing
    if not message_id:
        raise field_error("message_id", _("缺少消息编号"))
    if not Device.objects.filter(compound_id=compound_id, code=device_code).exists():
        raise field_error("device_code", _("该快递柜不属于本小区"))
    house = House.objects.filter(pk=house_id, compound_id=compound_id).first()
    if house is None:
        raise field_error("house_id", _("房屋不属于本小区"))
    if not LOCKER_CODE_RE.match(locker_code or ""):
        raise field_error("locker_code", _("快递柜取件码格式不正确"))
    last4, digest = _tracking(tracking_no)
    if Parcel.objects.filter(compound_id=compound_id, status=Status.WAITING, pickup_code=locker_code).exists():
        raise Conflict(_("该取件码与本小区待取的快递重复"), field="locker_code")
    try:
        with change_context(ChangeContext(source="event", actor=f"device:{device_code}"[:150])), transaction.atomic():
            parcel = save_new(Parcel(compound_id=compound_id, house=house, source=Source.LOCKER,
                                     tracking_last4=last4, tracking_digest=digest, position=(box or "")[:40],
                                     locker_device=device_code, pickup_code=locker_code,
                                     registered_at=clock(), source_key=key), exclude=("compound", "house"))
            _tell_household(parcel, title=_("您有新的快递"), body=_arrival_text(parcel), key="arrived")
    except (Conflict, ValidationError):
        existing = Parcel.objects.filter(source_key=key).first()
        if existing is None:
            raise
        return existing
    return parcel


# --- pickup and return ---------------------------------------------------------------------------

def _locked(parcel: Parcel) -> Parcel:
    """The parcel read again under a row lock: a second pickup queues here and finds it taken."""
    try:
        return Parcel.objects.select_for_update().get(pk=parcel.pk)
    except Parcel.DoesNotExist as exc:
        raise NotFound("parcel") from exc


def _of_household(actor: Any, parcel: Parcel) -> bool:
    if getattr(actor, "kind", "") != "resident":
        return False
    return Parcel.objects.restrict(actor, "change").filter(pk=parcel.pk).exists()


def _still_waiting(parcel: Parcel) -> None:
    if parcel.status != Status.WAITING:
        raise Conflict(_("该快递已取件或已退回"), field="status")


@service
def _confirm(*, actor: Any, parcel: Parcel, pickup_code: str | None) -> Parcel | ValidationError:
    """The pickup itself; a wrong code is returned (not raised) so the count of failures is kept."""
    parcel = _locked(parcel)
    require(actor, parcel, "change")
    _still_waiting(parcel)
    at = clock()
    if _of_household(actor, parcel):
        return save_changes(parcel, {"status": Status.PICKED_UP, "picked_up_at": at, "picked_up_by": actor,
                                     "pickup_method": PickupMethod.RESIDENT_CONFIRMED})
    if parcel.locked_until is not None and parcel.locked_until > at:
        return field_error("pickup_code", _("取件码错误次数过多，请于%(time)s后再试") % {
            "time": timezone.localtime(parcel.locked_until).strftime("%H:%M")}, code="locked")
    try:
        typed = clean_code(pickup_code, field="pickup_code", message=_("取件码格式不正确"))
    except ValidationError as malformed:
        return malformed  # can never be right, so it costs no attempt
    if not typed or not hmac.compare_digest(typed, parcel.pickup_code):
        policy = policy_for(parcel.compound_id)
        failed = parcel.failed_code_attempts + 1
        changes: dict[str, Any] = {"failed_code_attempts": failed}
        if failed >= policy.code_attempts:
            changes = {"failed_code_attempts": 0, "locked_until": at + dt.timedelta(minutes=policy.lockout_minutes)}
        save_changes(parcel, changes)
        return field_error("pickup_code", _("取件码不正确"), code="wrong_code")
    return save_changes(parcel, {"status": Status.PICKED_UP, "picked_up_at": at, "picked_up_by": actor,
                                 "pickup_method": PickupMethod.CODE_AT_BOOTH, "failed_code_attempts": 0,
                                 "locked_until": None})


def confirm_pickup(*, actor: Any, parcel: Parcel, pickup_code: str | None = None) -> Parcel:
    """Staff hand a parcel over when told the right code; a resident of the house confirms their own
    parcel without one. After `code_attempts` wrong codes the parcel is locked for `lockout_minutes`."""
    outcome = _confirm(actor=actor, parcel=parcel, pickup_code=pickup_code)
    if isinstance(outcome, ValidationError):
        raise outcome
    return outcome


def picked_up_from_locker(*, compound_id: int, device_code: str, locker_code: str, message_id: str = "") -> Parcel:
    """A locker reports its box opened with the code: the waiting parcel is picked up. A system write
    for the gateway; a redelivered event finds the parcel already picked up and changes nothing."""
    with transaction.atomic():
        found = (Parcel.objects.select_for_update()
                 .filter(compound_id=compound_id, locker_device=device_code, pickup_code=locker_code)
                 .order_by("-registered_at", "-id"))
        parcel = found.filter(status=Status.WAITING).first() or found.first()
        if parcel is None:
            raise NotFound("parcel")
        if parcel.status != Status.WAITING:
            return parcel
        label = f"device:{device_code}"[:150]
        with change_context(ChangeContext(source="event", actor=label, extra={"message_id": message_id[:80]})):
            return save_changes(parcel, {"status": Status.PICKED_UP, "picked_up_at": clock(),
                                         "pickup_method": PickupMethod.LOCKER})


@service
def return_to_courier(*, actor: Any, parcel: Parcel, reason: str) -> Parcel:
    """退回: refused, wrong address, or never collected; staff only."""
    parcel = _locked(parcel)
    require(actor, parcel, "change")
    if getattr(actor, "kind", "") == "resident":
        raise Forbidden(_("只有物业人员可以退回快递"))
    _still_waiting(parcel)
    if not (reason or "").strip():
        raise field_error("reason", _("请填写退回原因"))
    parcel = save_changes(parcel, {"status": Status.RETURNED, "returned_at": clock(),
                                   "return_reason": reason.strip()[:200]})
    _tell_household(parcel, title=_("您的快递已退回快递员"), body=_("原因：%(reason)s") % {"reason": parcel.return_reason},
                    key="returned")
    return parcel


# --- reminders (system job) ------------------------------------------------------------------------

def _due(policy: ParcelPolicy, at: dt.datetime):
    from django.db.models import Q

    return Parcel.objects.filter(
        compound_id=policy.compound_id, status=Status.WAITING, registered_at__lte=at - policy.first_reminder,
        reminders_sent__lt=policy.max_reminders).filter(
        Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=at - policy.reminder_every))


def remind_overdue(*, now: dt.datetime | None = None) -> int:
    """Remind each household of a parcel left waiting past its compound's first reminder, then once
    every period, at most `max_reminders` times; returns how many reminders were sent.

    Safe to run twice at once (row locks, and each reminder's notification has its own dedupe key)
    and after a pause: a parcel overdue for several periods gets one reminder now, the next one a
    period later."""
    at = now or clock()
    compounds = (Parcel.objects.filter(status=Status.WAITING).order_by().values_list("compound_id", flat=True)
                 .distinct())
    sent = 0
    with change_context(ChangeContext(source="job", actor=JOB_LABEL)):
        for compound_id in list(compounds):
            policy = policy_for(compound_id)
            for pk in list(_due(policy, at).order_by("pk").values_list("pk", flat=True)):
                with transaction.atomic():
                    rows = _due(policy, at).filter(pk=pk)
                    if connection.features.has_select_for_update_skip_locked:
                        rows = rows.select_for_update(skip_locked=True)
                    else:
                        rows = rows.select_for_update()
                    parcel = rows.first()
                    if parcel is None:
                        continue
                    count = parcel.reminders_sent + 1
                    save_changes(parcel, {"reminders_sent": count, "last_reminded_at": at})
                    _tell_household(parcel, title=_("快递待取提醒"), body=_arrival_text(parcel),
                                    key=f"reminder:{count}")
                    sent += 1
    return sent
