"""Writes of notices: drafting, publishing now or on schedule (the publisher job), withdrawal,
read receipts and the emergency broadcast to one building.

Publication tells the audience through the notify outbox (in-app inbox and web push); the
emergency broadcast takes notify's life-safety lane on every channel at critical severity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.roles import Role
from linli.core.context import ChangeContext, change_context
from linli.core.errors import Conflict
from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.notices.models import MAX_BODY, Notice, NoticeAudience, NoticeCategory, NoticeRead, NoticeStatus

JOB_LABEL = "notice-publisher"
# Roles a notice may be addressed to: every staff role (residents are reached by place, not by role).
STAFF_ROLES = frozenset(r for r in Role.values if r != Role.RESIDENT)
SEVERITY = {NoticeCategory.ORDINARY: "info", NoticeCategory.MAINTENANCE: "warning", NoticeCategory.EMERGENCY: "major"}
WITHDRAWABLE = (NoticeStatus.DRAFT, NoticeStatus.SCHEDULED, NoticeStatus.PUBLISHED)


def _clean_text(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise field_error("title", _("请填写标题"))
    if len(title) > 120:
        raise field_error("title", _("标题不能超过120个字"))
    if not body:
        raise field_error("body", _("请填写正文"))
    if len(body) > MAX_BODY:
        raise field_error("body", _("正文不能超过5000个字"))
    return title, body


def _audience(compound: Any, building: Any, unit: Any, roles: tuple[str, ...]) -> dict[str, Any]:
    if roles:
        unknown = set(roles) - STAFF_ROLES
        if unknown:
            raise field_error("roles", _("未知的岗位"))
        if building is not None or unit is not None:
            raise field_error("roles", _("指定岗位的通知不能同时限定楼栋或单元"))
        return {"audience": NoticeAudience.ROLES, "roles": Notice.roles_text(roles)}
    if unit is not None:
        if unit.compound_id != compound.pk or (building is not None and unit.building_id != building.pk):
            raise field_error("unit", _("单元不属于该小区或楼栋"))
        return {"audience": NoticeAudience.UNIT, "building_id": unit.building_id, "unit": unit}
    if building is not None:
        if building.compound_id != compound.pk:
            raise field_error("building", _("楼栋不属于该小区"))
        return {"audience": NoticeAudience.BUILDING, "building": building}
    return {"audience": NoticeAudience.COMPOUND}


@service
def draft_notice(*, actor: Any, compound: Any, title: str, body: str, category: str = NoticeCategory.ORDINARY,
                 building: Any = None, unit: Any = None, roles: tuple[str, ...] = (),
                 publish_at: dt.datetime | None = None, expires_at: dt.datetime | None = None,
                 pinned: bool = False) -> Notice:
    """A draft to `compound`'s residents (all, one building's, one unit's) or to some staff `roles`."""
    require_in_compound(actor, Notice, "add", compound.pk)
    title, body = _clean_text(title, body)
    if category not in NoticeCategory.values:
        raise field_error("category", _("未知的通知类别"))
    if expires_at is not None and expires_at <= (publish_at or timezone.now()):
        raise field_error("expires_at", _("失效时间必须晚于发布时间"))
    notice = Notice(compound=compound, title=title, body=body, category=category, publish_at=publish_at,
                    expires_at=expires_at, pinned=pinned, author=actor if getattr(actor, "pk", None) else None,
                    **_audience(compound, building, unit, tuple(roles or ())))
    return save_new(notice, exclude=("compound", "building", "unit", "author"))


def _locked(notice: Notice) -> Notice:
    return Notice.objects.select_for_update().get(pk=notice.pk)


@service
def publish_notice(*, actor: Any, notice: Notice) -> Notice:
    """Publish a draft now, or schedule it when its `publish_at` lies ahead (the publisher job then
    publishes it at that time)."""
    require(actor, notice, "change")
    notice = _locked(notice)
    if notice.status != NoticeStatus.DRAFT:
        raise field_error("status", _("只有草稿可以发布"), code="invalid_transition")
    now = timezone.now()
    if notice.expires_at is not None and notice.expires_at <= now:
        raise field_error("expires_at", _("通知已过失效时间，不能发布"))
    if notice.publish_at is not None and notice.publish_at > now:
        return save_changes(notice, {"status": NoticeStatus.SCHEDULED})
    return _publish(notice, now)


def _publish(notice: Notice, at: dt.datetime) -> Notice:
    notice = save_changes(notice, {"status": NoticeStatus.PUBLISHED, "published_at": at})
    if notice.expires_at is None or notice.expires_at > timezone.now():
        sent = _announce(notice)
        Notice.objects.filter(pk=notice.pk).update(notification_id=sent.pk)
        notice.notification_id = sent.pk
    return notice


def _announce(notice: Notice) -> Any:
    from linli.notify.models import Channel
    from linli.notify.services import notify

    return notify(compound_id=notice.compound_id, audience=audience_of(notice), title=notice.title,
                  body=notice.body, category="notice", severity=SEVERITY[notice.category],
                  source=f"notice:{notice.pk}", dedupe_key=f"notice:{notice.pk}:published",
                  channels=(Channel.INBOX, Channel.WEBPUSH))


def audience_of(notice: Notice) -> Any:
    """The notify audience a notice speaks to (also the denominator of its read rate)."""
    from linli.notify.services import Audience

    if notice.audience == NoticeAudience.ROLES:
        return Audience(roles=tuple(notice.role_list))
    if notice.audience == NoticeAudience.BUILDING:
        return Audience(residents_of_building=notice.building_id)
    if notice.audience == NoticeAudience.UNIT:
        return Audience(user_ids=tuple(_residents_of_unit(notice.unit_id)))
    return Audience(residents_of_compound=notice.compound_id)


def _residents_of_unit(unit_id: int) -> list[int]:
    from linli.accounts.models import AccountKind, User

    return list(User.objects.filter(kind=AccountKind.RESIDENT, is_active=True,
                                    person__residencies__house__unit_id=unit_id,
                                    person__residencies__until__isnull=True)
                .values_list("id", flat=True).order_by("id").distinct())


def publish_due(*, now: dt.datetime | None = None) -> int:
    """Publish the scheduled notices whose time has come; a system job, safe to run late (each is
    published at its own `publish_at`) and from several processes at once (row locks; each
    notice's announcement is deduplicated). Returns how many it published."""
    now = now or timezone.now()
    done = 0
    due = Notice.objects.filter(status=NoticeStatus.SCHEDULED, publish_at__lte=now).order_by("publish_at", "pk")
    with change_context(ChangeContext(source="job", actor=JOB_LABEL)):
        for pk in list(due.values_list("pk", flat=True)):
            with transaction.atomic():
                rows = Notice.objects.filter(pk=pk, status=NoticeStatus.SCHEDULED)
                if connection.features.has_select_for_update_skip_locked:
                    rows = rows.select_for_update(skip_locked=True)
                else:
                    rows = rows.select_for_update()
                notice = rows.first()
                if notice is None:
                    continue
                _publish(notice, notice.publish_at or now)
                done += 1
    return done


@service
def withdraw_notice(*, actor: Any, notice: Notice, reason: str) -> Notice:
    require(actor, notice, "change")
    notice = _locked(notice)
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", _("请填写撤回原因"))
    if notice.status not in WITHDRAWABLE:
        raise field_error("status", _("该通知已撤回"), code="invalid_transition")
    return save_changes(notice, {"status": NoticeStatus.WITHDRAWN, "withdrawn_at": timezone.now(),
                                 "withdraw_reason": reason[:200]})


@service
def mark_notice_read(*, actor: Any, notice: Notice) -> NoticeRead:
    """The reader's receipt, written once: a second call returns the first. Personal state, like the
    inbox's read marks, so not audited."""
    require(actor, notice, "view")
    if notice.status != NoticeStatus.PUBLISHED:
        raise field_error("status", _("只能阅读已发布的通知"))
    existing = NoticeRead.objects.filter(notice=notice, reader=actor).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return NoticeRead.objects.create(compound_id=notice.compound_id, notice=notice, reader=actor)
    except IntegrityError:  # the same reader, concurrently: that receipt stands
        found = NoticeRead.objects.filter(notice=notice, reader=actor).first()
        if found is None:
            raise Conflict(_("已存在相同的记录")) from None
        return found


@service
def emergency_broadcast(*, actor: Any, building: Any, title: str, body: str) -> Notice:
    """An emergency notice to every current resident of `building`, published at once and sent on
    every channel (inbox, web push, SMS, WeChat) through notify's life-safety lane."""
    from linli.notify.services import Audience, notify

    require(actor, building, "view")
    require_in_compound(actor, Notice, "broadcast", building.compound_id)
    title, body = _clean_text(title, body)
    now = timezone.now()
    notice = save_new(Notice(compound_id=building.compound_id, audience=NoticeAudience.BUILDING, building=building,
                             title=title, body=body, category=NoticeCategory.EMERGENCY,
                             status=NoticeStatus.PUBLISHED, publish_at=now, published_at=now, pinned=True,
                             author=actor if getattr(actor, "pk", None) else None),
                      exclude=("compound", "building", "author"))
    sent = notify(compound_id=building.compound_id, audience=Audience(residents_of_building=building.pk),
                  title=title, body=body, category="notice", severity="critical", life_safety=True,
                  source=f"notice:{notice.pk}", dedupe_key=f"notice:{notice.pk}:emergency")
    Notice.objects.filter(pk=notice.pk).update(notification_id=sent.pk)
    notice.notification_id = sent.pk
    return notice
