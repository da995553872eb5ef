"""Writes of work orders: categories and skills, reporting, the state machine (accept, dispatch,
grab, work, complete, follow-up, close, transfer, return, suspend, resume, reopen, cancel) and
intake from automations. Every move is checked against `TRANSITIONS` and leaves one step."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.errors import Conflict, Forbidden
from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.workorders import dispatch, sla
from linli.workorders.models import (
    CLOCK_RUNNING,
    Category,
    Channel,
    DispatchMode,
    Kind,
    Status,
    TechnicianSkill,
    WorkOrder,
    WorkOrderStep,
    code_validator,
)

S = Status
# action → (the states it may start from, the state it leads to; None: back where it was).
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "accept": (frozenset({S.SUBMITTED}), S.ACCEPTED),
    "assign": (frozenset({S.ACCEPTED}), S.ASSIGNED),
    "grab": (frozenset({S.ACCEPTED}), S.ASSIGNED),
    "transfer": (frozenset({S.ASSIGNED, S.IN_PROGRESS}), S.ASSIGNED),
    "return": (frozenset({S.ASSIGNED, S.IN_PROGRESS}), S.ACCEPTED),
    "start": (frozenset({S.ASSIGNED}), S.IN_PROGRESS),
    "complete": (frozenset({S.IN_PROGRESS}), S.DONE),
    "visit": (frozenset({S.DONE}), S.VISITED),
    "close": (frozenset({S.DONE, S.VISITED}), S.CLOSED),
    "suspend": (frozenset({S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS}), S.SUSPENDED),
    "resume": (frozenset({S.SUSPENDED}), None),
    "reopen": (frozenset({S.DONE, S.VISITED, S.CLOSED}), S.ACCEPTED),
    "cancel": (frozenset({S.SUBMITTED, S.ACCEPTED, S.ASSIGNED}), S.CANCELLED),
}
ACTION_NAMES = {
    "accept": gettext_lazy("受理"), "assign": gettext_lazy("派单"), "grab": gettext_lazy("抢单"),
    "transfer": gettext_lazy("转派"), "return": gettext_lazy("退回"), "start": gettext_lazy("开始处理"),
    "complete": gettext_lazy("完成"), "visit": gettext_lazy("回访"), "close": gettext_lazy("关闭"),
    "suspend": gettext_lazy("挂起"), "resume": gettext_lazy("恢复"), "reopen": gettext_lazy("重新打开"),
    "cancel": gettext_lazy("撤销"),
}
STAFF_CHANNELS = (Channel.STAFF_ON_BEHALF, Channel.BOOTH, Channel.PATROL, Channel.HOTLINE_12345, Channel.IMPORT)
PHONE_RE = re.compile(r"^[0-9+\-]{5,20}$")
MAX_PHOTOS = 9
CATEGORY_FIELDS = ("kind", "name", "deadline_minutes", "warning_minutes", "dispatch_mode", "required_skill", "paid",
                   "escalation_levels", "escalation_interval_minutes", "reopen_window_hours", "active")
# A category an automation names that the compound lacks is created with these (documented).
AUTOMATION_DEFAULTS = {"kind": Kind.REPAIR, "deadline_minutes": 240, "warning_minutes": 30,
                       "dispatch_mode": DispatchMode.GRAB}


# --- categories and skills ---------------------------------------------------------------------

@service
def create_category(*, actor: Any, compound: Any, code: str, kind: str, name: str, deadline_minutes: int,
                    **settings: Any) -> Category:
    require_in_compound(actor, Category, "add", compound.pk)
    unknown = set(settings) - set(CATEGORY_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], _("未知字段"))
    return save_new(Category(compound=compound, code=code, kind=kind, name=name, deadline_minutes=deadline_minutes,
                             **settings))


@service
def update_category(*, actor: Any, category: Category, **changes: Any) -> Category:
    require(actor, category, "change")
    unknown = set(changes) - set(CATEGORY_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], _("该字段不能修改"))
    return save_changes(category, changes)


@service
def add_skill(*, actor: Any, compound: Any, user: Any, skill: str) -> TechnicianSkill:
    require_in_compound(actor, TechnicianSkill, "add", compound.pk)
    if not dispatch.is_technician(user, compound.pk):
        raise field_error("user", _("该用户不是本小区的维修师傅"))
    return save_new(TechnicianSkill(compound=compound, user=user, skill=skill))


# --- reporting -------------------------------------------------------------------------------

@service
def submit(*, actor: Any, compound: Any, category: Category, title: str, description: str = "",
           house: Any = None, building: Any = None, place: str = "", contact_phone: str = "",
           channel: str | None = None, reporter_person: Any = None,
           photos: list[str] | tuple[str, ...] = ()) -> WorkOrder:
    """A resident reports for themself (channel portal); staff file on someone's behalf. `photos` are
    references from `photos.store_photo` for this compound."""
    require_in_compound(actor, WorkOrder, "add", compound.pk)
    refs = _stored_photos(actor, photos, compound.pk)
    resident = getattr(actor, "kind", "") == "resident"
    if resident:
        reporter_person, channel = actor.person, Channel.PORTAL
        if house is not None and not _lives_in(actor, house):
            raise field_error("house", _("只能为自己居住的房屋报事"))
    else:
        channel = channel or Channel.STAFF_ON_BEHALF
        if channel not in STAFF_CHANNELS:
            raise field_error("channel", _("工作人员不能使用该报事渠道"))
    order = _new_order(compound_id=compound.pk, category=category, title=title, description=description,
                       house=house, building=building, place=place, contact_phone=contact_phone, channel=channel,
                       reporter_user=actor if resident else None, reporter_person=reporter_person,
                       report_photos=refs)
    _step(order, "submit", "", S.SUBMITTED, actor=actor, photos=refs)
    return order


def _lives_in(actor: Any, house: Any) -> bool:
    from linli.people.models import Residency

    return Residency.objects.filter(person_id=actor.person_id, house_id=house.pk, until__isnull=True).exists()


def _new_order(*, compound_id: int, category: Category, title: str, channel: str, description: str = "",
               house: Any = None, building: Any = None, place: str = "", contact_phone: str = "",
               reporter_user: Any = None, reporter_person: Any = None, deadline_minutes: int | None = None,
               source_key: str = "", details: dict | None = None, report_photos: list[str] | None = None,
               submitted_at: Any = None) -> WorkOrder:
    if category.compound_id != compound_id or not category.active:
        raise field_error("category", _("该类别不属于本小区或已停用"))
    if house is not None:
        if house.compound_id != compound_id:
            raise field_error("house", _("房屋不属于本小区"))
        building = building or house.building
    if building is not None and building.compound_id != compound_id:
        raise field_error("building", _("楼栋不属于本小区"))
    contact_phone = (contact_phone or "").strip()
    if contact_phone and not PHONE_RE.match(contact_phone):
        raise field_error("contact_phone", _("联系电话格式不正确"))
    if not (title or "").strip():
        raise field_error("title", _("请填写标题"))
    start = submitted_at or sla.now()
    order = WorkOrder(compound_id=compound_id, category=category, house=house, building=building, place=place,
                      title=title.strip(), description=description, channel=channel, reporter_user=reporter_user,
                      reporter_person=reporter_person, submitted_at=start, source_key=source_key,
                      details=details or {}, report_photos=report_photos or [],
                      **sla.timers(category, start, deadline_minutes))
    order.set_contact_phone(contact_phone)
    return save_new(order, exclude=("compound",))


# --- moves -------------------------------------------------------------------------------------

def _locked(order: WorkOrder) -> WorkOrder:
    """The order read again under a row lock: concurrent moves (two grabs) queue here."""
    return WorkOrder.objects.select_for_update(of=("self",)).select_related("category").get(pk=order.pk)


def _check(order: WorkOrder, action: str) -> None:
    allowed, _to = TRANSITIONS[action]
    if order.status not in allowed:
        raise field_error("status", _("工单当前状态为“%(state)s”，不能%(action)s") % {
            "state": order.get_status_display(), "action": ACTION_NAMES[action]}, code="invalid_transition")


def _move(actor: Any, order: WorkOrder, action: str, *, note: str = "", step_photos: list | None = None,
          details: dict | None = None, **changes: Any) -> WorkOrder:
    _check(order, action)
    to = TRANSITIONS[action][1] or changes.pop("status")
    from_status = order.status
    order = save_changes(order, {"status": to, **changes})
    _step(order, action, from_status, to, actor=actor, note=note, photos=step_photos, details=details)
    return order


def _step(order: WorkOrder, action: str, from_status: str, to_status: str, *, actor: Any = None, label: str = "",
          note: str = "", photos: list | None = None, details: dict | None = None) -> WorkOrderStep:
    return save_new(WorkOrderStep(compound_id=order.compound_id, work_order=order,
                                  actor=actor if getattr(actor, "pk", None) else None, actor_label=label,
                                  at=sla.now(), action=action, from_status=from_status, to_status=to_status,
                                  note=(note or "").strip()[:500], photos=photos or [], details=details or {}),
                    exclude=("compound", "work_order"))


def _is_dispatcher(actor: Any, order: WorkOrder) -> bool:
    return WorkOrder.objects.restrict(actor, "dispatch").filter(pk=order.pk).exists()


def _is_reporter(actor: Any, order: WorkOrder) -> bool:
    person_id = getattr(actor, "person_id", None)
    return (person_id is not None and order.reporter_person_id == person_id) or (
        order.reporter_user_id is not None and order.reporter_user_id == getattr(actor, "pk", None))


def _require_dispatcher(actor: Any, order: WorkOrder) -> None:
    require(actor, order, "dispatch")


def _require_worker(actor: Any, order: WorkOrder) -> None:
    """Dispatchers may work any order of their compounds; a technician only the orders assigned to them."""
    require(actor, order, "change")
    if not _is_dispatcher(actor, order) and order.assignee_id != actor.pk:
        raise Forbidden(_("该工单未派给您"))


def _require_reporter_or_dispatcher(actor: Any, order: WorkOrder) -> None:
    require(actor, order, "view")
    if not (_is_reporter(actor, order) or _is_dispatcher(actor, order)):
        raise Forbidden(_("只有报事人或物业客服可以执行该操作"))


def _technician(order: WorkOrder, user: Any) -> Any:
    if user is None or not dispatch.is_technician(user, order.compound_id):
        raise field_error("assignee", _("该用户不是本小区的维修师傅"))
    return user


@service
def accept(*, actor: Any, order: WorkOrder, note: str = "") -> WorkOrder:
    """Take the order in; categories dispatched round robin or by skill are assigned at once."""
    order = _locked(order)
    _require_dispatcher(actor, order)
    order = _move(actor, order, "accept", note=note, accepted_at=sla.now())
    category = Category.objects.select_for_update().get(pk=order.category_id)
    chosen = dispatch.automatic_choice(category)
    if chosen is not None:
        order = _move(actor, order, "assign", details={"assignee": chosen.pk, "mode": category.dispatch_mode},
                      assignee=chosen, assigned_at=sla.now())
        if category.dispatch_mode == DispatchMode.ROUND_ROBIN:
            save_changes(category, {"last_assignee": chosen})
    return order


@service
def assign(*, actor: Any, order: WorkOrder, assignee: Any, note: str = "") -> WorkOrder:
    order = _locked(order)
    _require_dispatcher(actor, order)
    _check(order, "assign")
    _technician(order, assignee)
    return _move(actor, order, "assign", note=note, details={"assignee": assignee.pk}, assignee=assignee,
                 assigned_at=sla.now())


@service
def grab(*, actor: Any, order: WorkOrder) -> WorkOrder:
    """抢单: the first technician wins; the row lock makes a second grab see the order taken."""
    order = _locked(order)
    require(actor, order, "change")
    if order.category.dispatch_mode != DispatchMode.GRAB:
        raise field_error("order", _("该类别的工单不能抢单"))
    if order.status == S.ASSIGNED or order.assignee_id is not None:
        raise Conflict(_("该工单已被抢走"), field="order")
    _check(order, "grab")
    _technician(order, actor)
    return _move(actor, order, "grab", details={"assignee": actor.pk}, assignee=actor, assigned_at=sla.now())


@service
def transfer(*, actor: Any, order: WorkOrder, assignee: Any, note: str = "") -> WorkOrder:
    order = _locked(order)
    _require_dispatcher(actor, order)
    _check(order, "transfer")
    _technician(order, assignee)
    if assignee.pk == order.assignee_id:
        raise field_error("assignee", _("该工单已由此人处理"))
    return _move(actor, order, "transfer", note=note, details={"from": order.assignee_id, "assignee": assignee.pk},
                 assignee=assignee, assigned_at=sla.now(), started_at=None)


@service
def return_to_pool(*, actor: Any, order: WorkOrder, note: str) -> WorkOrder:
    """退回: the assignee (or a dispatcher) gives the order back for someone else."""
    order = _locked(order)
    _require_worker(actor, order)
    if not (note or "").strip():
        raise field_error("note", _("请填写退回原因"))
    return _move(actor, order, "return", note=note, details={"from": order.assignee_id}, assignee=None,
                 assigned_at=None, started_at=None)


@service
def start(*, actor: Any, order: WorkOrder, note: str = "") -> WorkOrder:
    order = _locked(order)
    _require_worker(actor, order)
    return _move(actor, order, "start", note=note, started_at=sla.now())


@service
def complete(*, actor: Any, order: WorkOrder, note: str = "", photos: list[str] | tuple[str, ...] = (),
             price_fen: int | None = None) -> WorkOrder:
    """Done, with completion photos (references to media already stored) and, for paid repairs, the price."""
    order = _locked(order)
    _require_worker(actor, order)
    _check(order, "complete")
    refs = _stored_photos(actor, photos, order.compound_id)
    if order.category.paid:
        if price_fen is None or isinstance(price_fen, bool) or not isinstance(price_fen, int) or price_fen < 0:
            raise field_error("price_fen", _("有偿维修须填写费用（分）"))
    elif price_fen is not None:
        raise field_error("price_fen", _("该类别为无偿服务，不能收费"))
    order = _move(actor, order, "complete", note=note, step_photos=refs, photos=refs, done_at=sla.now(),
                  price_fen=price_fen)
    return _bill_paid_repair(order)


def _bill_paid_repair(order: WorkOrder) -> WorkOrder:
    """A paid repair of a house is billed to the house once: completing again after a reopening
    finds the first bill (by the order on the order, and by `source` in billing) and adds none."""
    if not order.category.paid or not order.price_fen or order.house_id is None or order.bill_id is not None:
        return order
    from linli.billing.services import charge_once

    bill = charge_once(compound_id=order.compound_id, house=order.house, amount_fen=order.price_fen,
                       description=_("有偿维修：%(title)s") % {"title": order.title}, source=f"workorder:{order.pk}")
    return save_changes(order, {"bill": bill})


def _stored_photos(actor: Any, photos: list[str] | tuple[str, ...], compound_id: int) -> list[str]:
    """References of photos already stored for this compound that `actor` may attach (see
    `photos.attachable`: a resident's own uploads, staff the compound's), at most MAX_PHOTOS."""
    from linli.workorders.photos import attachable

    if len(photos or ()) > MAX_PHOTOS:
        raise field_error("photos", _("照片不能超过%(n)s张") % {"n": MAX_PHOTOS})
    return attachable(actor=actor, compound_id=compound_id, refs=photos)


@service
def follow_up(*, actor: Any, order: WorkOrder, rating: int, comment: str = "") -> WorkOrder:
    """回访: customer service records the reporter's rating, or the reporter rates in the portal."""
    order = _locked(order)
    _require_reporter_or_dispatcher(actor, order)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise field_error("rating", _("评分须为1到5分"))
    return _move(actor, order, "visit", note=comment, details={"rating": rating}, rating=rating,
                 rating_comment=(comment or "").strip()[:500], visited_at=sla.now())


@service
def close(*, actor: Any, order: WorkOrder, note: str = "") -> WorkOrder:
    order = _locked(order)
    _require_dispatcher(actor, order)
    return _move(actor, order, "close", note=note, closed_at=sla.now())


@service
def suspend(*, actor: Any, order: WorkOrder, reason: str) -> WorkOrder:
    """挂起 (waiting for parts, for the resident to be home): the SLA clock stops until resumed."""
    order = _locked(order)
    _require_dispatcher(actor, order)
    if not (reason or "").strip():
        raise field_error("reason", _("请填写挂起原因"))
    return _move(actor, order, "suspend", note=reason, suspended_from=order.status, suspended_at=sla.now())


@service
def resume(*, actor: Any, order: WorkOrder, note: str = "") -> WorkOrder:
    """The clock goes on where it stopped: every timer moves on by the time spent suspended."""
    order = _locked(order)
    _require_dispatcher(actor, order)
    _check(order, "resume")
    paused = max(sla.now() - order.suspended_at, dt.timedelta(0))
    return _move(actor, order, "resume", note=note, details={"paused_s": int(paused.total_seconds())},
                 status=order.suspended_from, suspended_from="", suspended_at=None, **sla.shifted(order, paused))


@service
def reopen(*, actor: Any, order: WorkOrder, reason: str) -> WorkOrder:
    """重新打开 within the category's window after completion; the clock starts afresh."""
    order = _locked(order)
    _require_reporter_or_dispatcher(actor, order)
    _check(order, "reopen")
    if not (reason or "").strip():
        raise field_error("reason", _("请填写重新打开的原因"))
    now = sla.now()
    if now > order.done_at + dt.timedelta(hours=order.category.reopen_window_hours):
        raise field_error("status", _("已超过可重新打开的期限"))
    return _move(actor, order, "reopen", note=reason, assignee=None, assigned_at=None, started_at=None,
                 done_at=None, visited_at=None, closed_at=None, rating=None, rating_comment="",
                 accepted_at=now, reopen_count=order.reopen_count + 1, **sla.timers(order.category, now))


@service
def cancel(*, actor: Any, order: WorkOrder, reason: str = "") -> WorkOrder:
    """The reporter withdraws the order before work starts (a dispatcher may too, e.g. a duplicate)."""
    order = _locked(order)
    _require_reporter_or_dispatcher(actor, order)
    return _move(actor, order, "cancel", note=reason, cancelled_at=sla.now())


# --- intake from automations (system write) --------------------------------------------------

def file_from_automation(*, compound_id: int, category: str, title: str, deadline_minutes: int | None,
                         source: str, details: dict) -> dict:
    """The `work_order` action of a rule (registered in WORK_ORDER_HANDLERS); no actor.

    Idempotent on `source` and the event id: a redelivered event returns the order it filed. With
    no event id, an order from the same source that is still open stands instead of a new one."""
    event_id = (details or {}).get("event_id")
    key = f"{source}#{event_id}"[:120] if event_id is not None else ""
    existing = _filed_before(key, source, compound_id)
    if existing is not None:
        return {"work_order": existing.pk, "created": False}
    found = _category_for(compound_id, category, deadline_minutes)
    order_details = {**(details or {}), "source": source}
    try:
        order = _new_order(compound_id=compound_id, category=found, title=title, channel=Channel.AUTOMATION,
                           building=_device_building(compound_id, (details or {}).get("device")),
                           deadline_minutes=deadline_minutes, source_key=key, details=order_details)
    except (Conflict, ValidationError):
        existing = _filed_before(key, source, compound_id)
        if existing is None:
            raise
        return {"work_order": existing.pk, "created": False}
    _step(order, "submit", "", S.SUBMITTED, label="automation", details={"source": source})
    return {"work_order": order.pk, "created": True, "category": found.code}


def _filed_before(key: str, source: str, compound_id: int) -> WorkOrder | None:
    if key:
        return WorkOrder.objects.filter(source_key=key).first()
    return (WorkOrder.objects.filter(compound_id=compound_id, channel=Channel.AUTOMATION, details__source=source,
                                     status__in=(*CLOCK_RUNNING, S.SUSPENDED)).first())


def _category_for(compound_id: int, name: str, deadline_minutes: int | None) -> Category:
    """By code, then by kind; otherwise a default repair category is created for the compound."""
    code = name if _valid_code(name) else "auto-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    found = (Category.objects.filter(compound_id=compound_id, code=code).first()
             or Category.objects.filter(compound_id=compound_id, active=True)
             .filter(Q(kind=name)).order_by("pk").first())
    if found is not None:
        return found
    defaults = dict(AUTOMATION_DEFAULTS)
    if deadline_minutes:
        defaults["deadline_minutes"] = deadline_minutes
        defaults["warning_minutes"] = min(defaults["warning_minutes"], deadline_minutes // 4)
    try:
        return save_new(Category(compound_id=compound_id, code=code, name=name[:60], **defaults), exclude=("compound",))
    except Conflict:
        return Category.objects.get(compound_id=compound_id, code=code)


def _valid_code(name: str) -> bool:
    try:
        code_validator(name)
    except ValidationError:
        return False
    return len(name) <= 40


def _device_building(compound_id: int, device_code: str | None) -> Any:
    if not device_code:
        return None
    from linli.devices.models import Device

    device = Device.objects.select_related("building").filter(compound_id=compound_id, code=device_code).first()
    return device.building if device else None
