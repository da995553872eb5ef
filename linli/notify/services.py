"""Writes of the notify app: `notify` (the outbox entry other apps call), the inbox, Web Push
subscriptions and WeChat bindings.

`notify` is a system write called inside the caller's transaction (a rule firing, an alarm
escalating): it resolves recipients in a handful of queries, writes one audited `Notification`
and its `Delivery` rows in one bulk insert, and wakes the dispatcher when the transaction commits.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import wakeup
from linli.core.errors import Conflict, NotFound
from linli.core.services import delete_audited, field_error, save_new, service
from linli.notify.models import (
    PRIORITY_LIFE_SAFETY,
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    Category,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    PushSubscription,
    Severity,
    WechatBinding,
)

log = logging.getLogger("linli.notify")


@dataclass(frozen=True)
class Audience:
    """Who should hear about it. Everything named is joined; nobody outside the compound is reached.

    roles: staff role codes (linli/accounts/roles.py) whose grants cover the compound, e.g.
        ("property_manager", "guard", "community_officer").
    residents_of_building / _house / _compound: users of residents with a current residency there.
    user_ids: particular users; kept only if they are staff of the compound or live in it.
    """

    roles: tuple[str, ...] = ()
    residents_of_building: int | None = None
    residents_of_house: int | None = None
    residents_of_compound: int | None = None
    user_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Recipient:
    user_id: int
    resident: bool
    has_phone: bool = False


# The wake-up the dispatcher listens for (linli/core/wakeup.py).
DISPATCH_WAKEUP = "dispatch"
STAFF_CHANNELS = (Channel.CONSOLE_FEED, Channel.INBOX, Channel.WEBPUSH)
RESIDENT_CHANNELS = (Channel.INBOX, Channel.WEBPUSH, Channel.SMS, Channel.WECHAT)


def notify(*, compound_id: int, audience: Audience, title: str, body: str, category: str = Category.ALARM,
           severity: str = Severity.INFO, link: str = "", source: str = "", alarm_id: int | None = None,
           life_safety: bool = False, dedupe_key: str | None = None,
           channels: tuple[str, ...] | None = None, resolve_later: bool = False) -> Notification:
    """Queue a notification for the audience of `compound_id`; returns it (or the earlier one
    with the same `dedupe_key`, unchanged: a repeated call is a no-op).

    `resolve_later` writes only the notification with its audience (one row): the dispatcher
    resolves the recipients and writes the deliveries right after the commit
    (`resolve_pending`). The event writer's rules use it, so a smoke alarm commits without
    waiting on recipient queries; the row is in the same transaction, so nothing is lost if
    the process dies before the dispatcher gets to it.

    Channels per recipient (limited to `channels` when given, and to `NOTIFY_CHANNELS`):
    staff get console_feed and inbox, plus webpush when they subscribed; residents get inbox,
    webpush when subscribed, sms when `life_safety` or critical (and a phone is on file), and
    wechat when they bound WeChat. Title and body must hold no personal data.
    """
    if dedupe_key and not resolve_later:  # before resolving recipients for nothing; queued, the insert tells
        existing = Notification.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    _check(category=category, severity=severity, channels=channels)
    with transaction.atomic(savepoint=False):  # a failed insert is undone by save_new's own savepoint
        recipients = [] if resolve_later else resolve_recipients(compound_id, audience)
        notification = Notification(
            compound_id=compound_id, category=category, severity=severity, title=title[:120], body=body[:1000],
            link=link[:300], source=source[:80], alarm_id=alarm_id, life_safety=life_safety,
            dedupe_key=dedupe_key or None, recipient_count=len(recipients))
        if resolve_later:
            notification.audience = dataclasses.asdict(audience)
            notification.channels = list(channels) if channels is not None else None
        else:
            notification.resolved_at = notification.created_at
        try:
            # The compound is the caller's own (a rule's device, an alarm's): the foreign key holds
            # it without a look-up; the dedupe key is the database's unique constraint to hold.
            save_new(notification, exclude=("compound", "dedupe_key"))
        except (Conflict, ValidationError):
            # The same dedupe key was written before (or concurrently); that one stands.
            existing = Notification.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
            if existing is None:
                raise
            return existing
        if not resolve_later:
            Delivery.objects.bulk_create(_deliveries(notification, recipients, channels), batch_size=1000)
        # The dispatcher may run in another process (`linli gateway --edge`, a web request).
        wakeup.announce(DISPATCH_WAKEUP)
    transaction.on_commit(_wake_dispatcher)
    if life_safety:
        _on_commit_once(_dispatch_life_safety)
    return notification


def _on_commit_once(func) -> None:
    """`func` after this transaction commits, once however many notifications asked for it."""
    if not any(f is func for _sids, f, _robust in transaction.get_connection().run_on_commit):
        transaction.on_commit(func)


RESOLVE_BATCH = 50


def resolve_pending(limit: int = RESOLVE_BATCH, *, life_safety_only: bool = False) -> int:
    """Write the deliveries of notifications queued with `resolve_later`; returns how many were
    resolved (fewer than `limit`: none is left). One transaction; several dispatchers skip each
    other's rows (PostgreSQL)."""
    with transaction.atomic():
        pending = Notification.objects.filter(resolved_at__isnull=True).order_by("-life_safety", "id")
        if life_safety_only:
            pending = pending.filter(life_safety=True)
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        done = 0
        for notification in pending[:limit]:
            # No savepoint (a round trip each, on a fire alarm's way out): what may fail here fails
            # before the one write, and a failing write undoes the whole round.
            try:
                audience = Audience(**{k: tuple(v) if isinstance(v, list) else v
                                       for k, v in (notification.audience or {}).items()})
                recipients = resolve_recipients(notification.compound_id, audience)
                channels = tuple(notification.channels) if notification.channels is not None else None
                deliveries = _deliveries(notification, recipients, channels)
            except (NotFound, TypeError) as exc:  # the compound is gone, or an audience we cannot read
                log.warning("notification %s has no recipients: %s", notification.pk, type(exc).__name__)
                recipients, deliveries = [], []
            Delivery.objects.bulk_create(deliveries, batch_size=1000)
            Notification.objects.filter(pk=notification.pk).update(recipient_count=len(recipients),
                                                                   resolved_at=timezone.now())
            done += 1
    return done


def _check(*, category: str, severity: str, channels: tuple[str, ...] | None) -> None:
    if category not in Category.values:
        raise field_error("category", _("未知的通知类别"))
    if severity not in Severity.values:
        raise field_error("severity", _("未知的严重程度"))
    if channels is not None and not set(channels) <= set(Channel.values):
        raise field_error("channels", _("未知的通知渠道"))


def _wake_dispatcher() -> None:
    from linli.notify.dispatcher import WAKER

    WAKER.wake()


def _dispatch_life_safety() -> None:
    from linli.notify.dispatcher import WAKER

    WAKER.dispatch_life_safety_here()


def resolve_recipients(compound_id: int, audience: Audience) -> list[Recipient]:
    """Staff by role grants covering the compound, and residents by current residency.

    One query for the compound, one for staff, one for residents, one or two for `user_ids`.
    """
    from linli.accounts.models import AccountKind, RoleGrant
    from linli.places.models import Compound

    compound = Compound.objects.filter(pk=compound_id).values("region_path", "grid_id", "property_company_id").first()
    if compound is None:
        raise NotFound("compound")
    reach = _grants_reaching(compound_id, compound)
    found: dict[int, Recipient] = {}
    if audience.roles:
        staff = (RoleGrant.objects.filter(reach, role__in=audience.roles, user__is_active=True,
                                          user__kind=AccountKind.STAFF)
                 .values_list("user_id", flat=True).order_by().distinct())
        found.update({uid: Recipient(uid, resident=False) for uid in staff})
    places = Q()
    if audience.residents_of_compound:
        places |= Q(person__residencies__compound_id=audience.residents_of_compound)
    if audience.residents_of_building:
        places |= Q(person__residencies__house__building_id=audience.residents_of_building)
    if audience.residents_of_house:
        places |= Q(person__residencies__house_id=audience.residents_of_house)
    if places:
        found.update(_residents(places, compound_id))
    if audience.user_ids:
        staff = (RoleGrant.objects.filter(reach, user_id__in=audience.user_ids, user__is_active=True,
                                          user__kind=AccountKind.STAFF)
                 .values_list("user_id", flat=True).order_by().distinct())
        found.update({uid: Recipient(uid, resident=False) for uid in staff if uid not in found})
        named = _residents(Q(pk__in=audience.user_ids), compound_id)
        found.update({uid: r for uid, r in named.items() if uid not in found})
    return sorted(found.values(), key=lambda r: r.user_id)


def _grants_reaching(compound_id: int, compound: dict[str, Any]) -> Q:
    """RoleGrants whose node covers the compound: itself, its grid, its property company, or a
    region above it (accounts/scopes.py reads grants the same way)."""
    from linli.places.models import ancestor_paths

    path = compound["region_path"]
    q = Q(compound_id=compound_id) | Q(region__path__in=[*ancestor_paths(path), path])
    if compound["grid_id"]:
        q |= Q(grid_id=compound["grid_id"])
    if compound["property_company_id"]:
        q |= Q(organisation_id=compound["property_company_id"])
    return q


def _residents(where: Q, compound_id: int) -> dict[int, Recipient]:
    from linli.accounts.models import AccountKind, User

    # One filter() call, so every condition on residencies applies to the same, current residency.
    rows = (User.objects.filter(where, kind=AccountKind.RESIDENT, is_active=True,
                                person__residencies__until__isnull=True,
                                person__residencies__compound_id=compound_id)
            .values_list("id", "person__phone_digest").order_by().distinct())
    return {uid: Recipient(uid, resident=True, has_phone=bool(digest)) for uid, digest in rows}


def _deliveries(notification: Notification, recipients: list[Recipient],
                channels: tuple[str, ...] | None) -> list[Delivery]:
    allowed = set(settings.NOTIFY_CHANNELS) & set(channels if channels is not None else Channel.values)
    user_ids = [r.user_id for r in recipients]
    pushed = set()
    if Channel.WEBPUSH in allowed and user_ids:
        pushed = set(PushSubscription.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True))
    wechat = set()
    if Channel.WECHAT in allowed and user_ids and settings.WECHAT["app_id"]:
        wechat = set(WechatBinding.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True))
    urgent = notification.life_safety or notification.severity == Severity.CRITICAL
    # SMS costs money and wakes people: residents get it for what is urgent, or where the caller
    # asked for it by name (a monthly arrears reminder), never by default.
    sms_asked = channels is not None and Channel.SMS in channels
    priority = (PRIORITY_LIFE_SAFETY if notification.life_safety
                else PRIORITY_URGENT if notification.severity in (Severity.CRITICAL, Severity.MAJOR)
                else PRIORITY_NORMAL)
    now = timezone.now()
    rows = []
    for r in recipients:
        for channel in (RESIDENT_CHANNELS if r.resident else STAFF_CHANNELS):
            if channel not in allowed:
                continue
            if ((channel == Channel.WEBPUSH and r.user_id not in pushed)
                    or (channel == Channel.WECHAT and r.user_id not in wechat)
                    or (channel == Channel.SMS and not ((urgent or sms_asked) and r.has_phone))):
                continue
            rows.append(_delivery(notification, r.user_id, channel, priority, now))
    return rows


def _delivery(notification: Notification, user_id: int, channel: str, priority: int, now: Any) -> Delivery:
    if channel == Channel.INBOX:
        # The inbox row is the delivery itself: nothing is left to send.
        return Delivery(notification=notification, recipient_id=user_id, channel=channel,
                        status=DeliveryStatus.SENT, priority=priority, created_at=now, sent_at=now)
    return Delivery(notification=notification, recipient_id=user_id, channel=channel, priority=priority,
                    created_at=now, next_attempt_at=now)


# --- the inbox: a user's own rows; read marks are personal state, not audited ---

@service
def mark_read(*, actor: Any, delivery_id: int) -> Delivery:
    delivery = (Delivery.objects.select_for_update().select_related("notification")
                .filter(pk=delivery_id, recipient=actor, channel=Channel.INBOX).first())
    if delivery is None:
        raise NotFound("delivery")
    if delivery.read_at is None:
        delivery.read_at = timezone.now()
        Delivery.objects.filter(pk=delivery.pk).update(read_at=delivery.read_at)
    return delivery


@service
def mark_all_read(*, actor: Any) -> int:
    return (Delivery.objects.filter(recipient=actor, channel=Channel.INBOX, read_at__isnull=True)
            .update(read_at=timezone.now()))


# --- Web Push subscriptions ---

@service
def subscribe_webpush(*, actor: Any, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Keep a browser's subscription for `actor`; the same endpoint again replaces its keys
    (and its owner: a shared browser belongs to whoever subscribed last)."""
    from linli.notify.webpush import validate_subscription

    validate_subscription(endpoint=endpoint, p256dh=p256dh, auth=auth)
    current = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
    if current is not None:
        delete_audited(current)
    return save_new(PushSubscription(user=actor, endpoint=endpoint, p256dh=p256dh, auth=auth))


@service
def unsubscribe_webpush(*, actor: Any, subscription_id: int) -> None:
    subscription = PushSubscription.objects.filter(pk=subscription_id, user=actor).first()
    if subscription is None:
        raise NotFound("push_subscription")
    delete_audited(subscription)


# --- WeChat ---

@service
def bind_wechat(*, actor: Any, code: str) -> WechatBinding:
    """Bind the actor to the openid WeChat returns for a mini-program login `code`."""
    from linli.notify.wechat import WechatError, wechat_client

    try:
        openid = wechat_client().openid_for_code(code)
    except WechatError as exc:
        raise field_error("code", _("微信登录凭证无效或已过期")) from exc
    taken = WechatBinding.objects.filter(openid=openid).exclude(user=actor).first()
    if taken is not None:
        delete_audited(taken)
    current = WechatBinding.objects.filter(user=actor).first()
    if current is not None:
        if current.openid == openid:
            return current
        delete_audited(current)
    try:
        return save_new(WechatBinding(user=actor, openid=openid))
    except IntegrityError as exc:  # pragma: no cover - save_new turns this into Conflict
        raise Conflict(_("已存在相同的记录")) from exc


@service
def unbind_wechat(*, actor: Any) -> None:
    current = WechatBinding.objects.filter(user=actor).first()
    if current is not None:
        delete_audited(current)
