"""Delivery channels behind one interface, as the dispatcher uses them.

A channel looks up what it needs in the database first (`prepare`: phone numbers, openids,
push subscriptions; in the dispatcher's thread), then `send`s one delivery, returning the
provider's message id or raising `SendError`. A `local` channel only writes to our own
database (the live feed), so the dispatcher runs it inside the claiming transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from linli.notify.models import Channel, FeedItem, Notification, PushSubscription, Severity, WechatBinding
from linli.notify.providers import SendError, SmsMessage, sms_provider


@dataclass
class Outgoing:
    delivery_id: int
    recipient_id: int
    channel: str
    notification: Notification
    attempts: int = 0  # before this one
    address: Any = None  # what the channel found in prepare(): a phone, an openid, subscriptions
    results: list[Any] = field(default_factory=list)


def payload_of(n: Notification) -> dict[str, Any]:
    """What a recipient's device or console is told (JSON; no personal data)."""
    return {"notification_id": n.pk, "compound_id": n.compound_id, "category": n.category,
            "severity": n.severity, "title": n.title, "body": n.body, "link": n.link,
            "alarm_id": n.alarm_id, "life_safety": n.life_safety, "created_at": n.created_at.isoformat()}


def _urgent(n: Notification) -> bool:
    return n.life_safety or n.severity in (Severity.CRITICAL, Severity.MAJOR)


class ConsoleFeedChannel:
    name = Channel.CONSOLE_FEED
    local = True

    def send_local(self, items: list[Outgoing]) -> list[str]:
        from linli.notify.feed import publish_rows

        rows = [FeedItem(compound_id=o.notification.compound_id, user_id=o.recipient_id, kind="notification",
                         data=payload_of(o.notification)) for o in items]
        return [f"feed-{row.pk}" for row in publish_rows(rows)]


class WebPushChannel:
    name = Channel.WEBPUSH
    local = False

    def prepare(self, items: list[Outgoing]) -> None:
        subs: dict[int, list[PushSubscription]] = {}
        for s in PushSubscription.objects.filter(user_id__in={o.recipient_id for o in items}):
            subs.setdefault(s.user_id, []).append(s)
        for o in items:
            o.address = subs.get(o.recipient_id, [])

    def send(self, item: Outgoing) -> str:
        from linli.notify.webpush import _PushFailed, push_to_all

        try:
            message_id, item.results = push_to_all(item.address, payload_of(item.notification),
                                                   urgent=_urgent(item.notification))
        except _PushFailed as exc:
            item.results = exc.results
            raise
        return message_id

    def after(self, item: Outgoing) -> None:
        """Forget subscriptions the push service says are gone; note when each last worked."""
        from linli.core.services import delete_audited

        now = timezone.now()
        ok = [r.subscription_id for r in item.results if r.ok]
        failed = [r.subscription_id for r in item.results if not r.ok and not r.gone]
        gone = [r.subscription_id for r in item.results if r.gone]
        if ok:
            PushSubscription.objects.filter(pk__in=ok).update(last_ok_at=now)
        if failed:
            PushSubscription.objects.filter(pk__in=failed).update(last_failed_at=now)
        for subscription in PushSubscription.objects.filter(pk__in=gone):
            with transaction.atomic():
                delete_audited(subscription)


class SmsChannel:
    name = Channel.SMS
    local = False

    def prepare(self, items: list[Outgoing]) -> None:
        from linli.accounts.models import User

        users = User.objects.select_related("person").in_bulk({o.recipient_id for o in items})
        for o in items:
            user = users.get(o.recipient_id)
            o.address = user.person.phone_plain() if user is not None and user.person_id else ""

    def send(self, item: Outgoing) -> str:
        if not item.address:
            raise SendError("sms_no_phone", retry=False)
        n = item.notification
        # Template variables are short on every provider: title and body are cut to 35 characters.
        params = {"title": n.title[:35], "body": (n.body or n.title)[:35]}
        return sms_provider().send(SmsMessage(phone=item.address, template="notification", params=params))


class WechatChannel:
    name = Channel.WECHAT
    local = False

    def prepare(self, items: list[Outgoing]) -> None:
        openids = dict(WechatBinding.objects.filter(user_id__in={o.recipient_id for o in items})
                       .values_list("user_id", "openid"))
        for o in items:
            o.address = openids.get(o.recipient_id, "")

    def send(self, item: Outgoing) -> str:
        from linli.notify.wechat import WechatError, template_data, wechat_client

        if not item.address:
            raise SendError("wechat_not_bound", retry=False)
        n = item.notification
        values = {"title": n.title, "body": n.body or n.title, "severity": str(Severity(n.severity).label),
                  "category": n.category,
                  "time": timezone.localtime(n.created_at).strftime("%Y-%m-%d %H:%M")}
        try:
            return wechat_client().send_subscribe(openid=item.address,
                                                  data=template_data(settings.WECHAT["fields"], values),
                                                  page=n.link if n.link.startswith("pages/") else "")
        except WechatError as exc:
            raise SendError(f"wechat:{exc.errcode}", retry=exc.retry) from None


CHANNELS: dict[str, Any] = {c.name: c for c in (ConsoleFeedChannel(), WebPushChannel(), SmsChannel(),
                                                WechatChannel())}
