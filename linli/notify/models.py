"""Notifications (通知): an outbox of messages, one delivery per recipient and channel, with retries.

`Notification` is what was said and to which compound; `Delivery` is its way to one user by one
channel, with a status the dispatcher moves pending → sending → sent, or failed (retried later)
→ dead. The inbox is the deliveries of the `inbox` channel, with `read_at`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.scope import ScopedModel


class Category(models.TextChoices):
    ALARM = "alarm", _("告警")
    NOTICE = "notice", _("公告")
    SYSTEM = "system", _("系统")


class Severity(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    MAJOR = "major", _("重要")
    MINOR = "minor", _("次要")
    WARNING = "warning", _("提示")
    INFO = "info", _("消息")


class Channel(models.TextChoices):
    CONSOLE_FEED = "console_feed", _("控制台实时推送")
    INBOX = "inbox", _("站内信")
    WEBPUSH = "webpush", _("浏览器推送")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信订阅消息")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("失败待重试")
    DEAD = "dead", _("发送失败")


# Dispatch order: life safety before everything, then critical and major, then the rest.
PRIORITY_LIFE_SAFETY, PRIORITY_URGENT, PRIORITY_NORMAL = 2, 1, 0


class Notification(ScopedModel):
    """Notification — 通知: one message about a compound, sent to the recipients resolved for it.

    `alarm_id` is a plain number: alarms call notify, so notify holds no key pointing up at them.
    Title and body must not carry personal data; they go to logs of external providers.
    """

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=10, choices=Category.choices, default=Category.ALARM)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    title = models.CharField(max_length=120)
    body = models.CharField(max_length=1000, blank=True)
    link = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=80, blank=True)
    alarm_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    life_safety = models.BooleanField(default=False)
    dedupe_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    recipient_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Who it is for, when the recipients are resolved later (notify(resolve_later=True)): the
    # dispatcher turns it into deliveries after the writer's commit and sets resolved_at.
    audience = models.JSONField(null=True, blank=True)
    channels = models.JSONField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["compound", "id"]),
                   models.Index(fields=["id"], condition=models.Q(resolved_at__isnull=True),
                                name="notify_notification_unresolved")]

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    """Delivery — 投递: a notification's way to one recipient through one channel.

    `next_attempt_at` is set only while the delivery still has to be (re)tried, so the due rows
    are exactly those with `next_attempt_at <= now` and the index stays small in practice. A
    claimed row gets a lease there: if the sending process dies, the row comes due again.
    `last_error` holds a reason code or a provider's error code, never personal data.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=14, choices=Channel.choices)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    priority = models.PositiveSmallIntegerField(default=PRIORITY_NORMAL)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "recipient", "channel"],
                                    name="one_delivery_per_recipient_and_channel"),
        ]
        indexes = [models.Index(fields=["recipient", "channel", "read_at"])]

    def __str__(self) -> str:
        return f"{self.notification_id}→{self.recipient_id}:{self.channel}:{self.status}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (endpoint and keys from `PushManager.subscribe`)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=600, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=60)
    created_at = models.DateTimeField(default=timezone.now)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)

    # The keys let anyone encrypt to this browser; the log records that a subscription exists.
    audit_exclude = ("endpoint", "p256dh", "auth", "last_ok_at", "last_failed_at")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"push:{self.user_id}:{self.pk}"


class WechatBinding(models.Model):
    """A user's WeChat mini-program openid, obtained by the server from a login code."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="wechat_binding")
    openid = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    audit_exclude = ("openid",)

    def __str__(self) -> str:
        return f"wechat:{self.user_id}"


class FeedItem(models.Model):
    """One message of the live feed, kept briefly so every web process can forward it.

    For a compound (`compound_id`, the alarm board) or for one user (`user_id`, a notification).
    Web processes with the in-process channel layer read new rows by id; with Redis the
    publisher also sends each row straight to the shared layer.
    """

    compound_id = models.BigIntegerField(null=True, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"feed:{self.pk}:{self.kind}"
