"""Reads of notifications: staff see those of their compounds (scoped); everyone sees their own inbox."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from linli.core.selectors import get_visible
from linli.notify.models import Channel, Delivery, Notification, PushSubscription


def notifications(user: Any, *, compound_id: int | None = None, category: str = "", severity: str = "",
                  alarm_id: int | None = None) -> QuerySet[Notification]:
    qs = Notification.objects.restrict(user)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if category:
        qs = qs.filter(category=category)
    if severity:
        qs = qs.filter(severity=severity)
    if alarm_id:
        qs = qs.filter(alarm_id=alarm_id)
    return qs.order_by("-id")


def notification(user: Any, pk: int) -> Notification:
    return get_visible(Notification.objects.all(), user, pk)


def delivery_counts(notification_ids: list[int]) -> dict[int, dict[str, int]]:
    """{notification id: {status: count}} for a page of notifications, in one query."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in notification_ids}
    rows = (Delivery.objects.filter(notification_id__in=notification_ids).values("notification_id", "status")
            .annotate(n=Count("id")).order_by())
    for row in rows:
        counts[row["notification_id"]][row["status"]] = row["n"]
    return counts


def deliveries_of(notification: Notification) -> QuerySet[Delivery]:
    return Delivery.objects.filter(notification=notification).order_by("channel", "recipient_id")


def inbox(user: Any, *, unread: bool = False) -> QuerySet[Delivery]:
    """The user's own inbox, newest first; nobody reads another's."""
    qs = Delivery.objects.filter(recipient_id=user.pk, channel=Channel.INBOX).select_related("notification")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-id")


def unread_count(user: Any) -> int:
    return Delivery.objects.filter(recipient_id=user.pk, channel=Channel.INBOX, read_at__isnull=True).count()


def push_subscriptions(user: Any) -> QuerySet[PushSubscription]:
    return PushSubscription.objects.filter(user_id=user.pk)
