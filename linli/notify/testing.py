"""Helpers for tests and benchmarks: a notification per side of the test district, and the
latency of notifications from creation to their first dispatched delivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Min, Q

from linli.notify.models import Channel, Delivery, Notification, PushSubscription


def side_records(side: Any) -> dict[str, Any]:
    """A notification about `side`'s compound to its staff and the residents of its building,
    one web-push subscription of its resident; made once, found again after."""
    from linli.notify.services import Audience, notify

    key = f"test-side-{side.compound.pk}"
    resident = side.users["resident"]
    subscription = PushSubscription.objects.filter(user=resident).first()
    if subscription is None:
        subscription = PushSubscription.objects.create(
            user=resident, endpoint=f"https://push.invalid/{side.compound.pk}",
            p256dh="B" + "A" * 86, auth="A" * 22)
    notification = notify(compound_id=side.compound.pk, title="烟感报警", body="3号楼2单元",
                          audience=Audience(roles=("property_manager", "guard", "community_officer"),
                                            residents_of_building=side.building.pk),
                          severity="critical", life_safety=True, dedupe_key=key, source="test")
    inbox = Delivery.objects.filter(notification=notification, channel=Channel.INBOX).order_by("id").first()
    return {"notification": notification, "inbox": inbox, "push_subscription": subscription}


def side_ids(side: Any) -> dict[str, set[int]]:
    """Ids a user of the other side must never see."""
    users = [u.pk for u in side.users.values()]
    return {
        "notification": set(Notification.objects.filter(compound=side.compound).values_list("pk", flat=True)),
        "inbox": set(Delivery.objects.filter(recipient_id__in=users, channel=Channel.INBOX)
                     .values_list("pk", flat=True)),
        "push_subscription": set(PushSubscription.objects.filter(user_id__in=users).values_list("pk", flat=True)),
    }


def first_dispatch_latencies(notification_ids: list[int] | None = None) -> list[dt.timedelta]:
    """created_at → the first `sent_at` of a dispatched channel (not the inbox, which is
    written with the notification), per notification that has one."""
    qs = Notification.objects.all()
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    dispatched = ~Q(deliveries__channel=Channel.INBOX)
    rows = (qs.annotate(first_sent=Min("deliveries__sent_at", filter=dispatched))
            .exclude(first_sent=None).values_list("created_at", "first_sent"))
    return [sent - created for created, sent in rows]
