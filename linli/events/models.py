"""The event log (append-only, normalised) and the dead letters of messages that could not be used."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.scope import ScopedModel


class Lane(models.TextChoices):
    LIFE_SAFETY = "life_safety", _("生命安全")
    NORMAL = "normal", _("普通")
    TELEMETRY = "telemetry", _("遥测")


class Event(ScopedModel):
    """Event — 事件: one thing a device reported, in Linli's own terms (see events/types.py)."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey("devices.Device", on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=40)
    # When the device says it happened, and when we stored it (the ack comes after this).
    at = models.DateTimeField()
    received_at = models.DateTimeField()
    message_id = models.CharField(max_length=80)
    lane = models.CharField(max_length=12, choices=Lane.choices, default=Lane.NORMAL)
    payload = models.JSONField(default=dict)
    evidence = models.JSONField(default=list, blank=True)  # media references: [{"kind", "ref"}]

    class Meta:
        ordering = ["-id"]
        constraints = [
            # At-least-once delivery from devices; the pair makes storing idempotent.
            models.UniqueConstraint(fields=["device", "message_id"], name="event_once_per_device_message"),
        ]
        indexes = [
            models.Index(fields=["compound", "type", "at"]),
            models.Index(fields=["type", "at"]),
            models.Index(fields=["device", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type}@{self.device_id} {self.at:%Y-%m-%d %H:%M:%S}"


class DeadLetter(ScopedModel):
    """DeadLetter — a message we received but could not use, with the reason; never silently dropped."""

    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=40)  # adapter or transport, e.g. "http:alarm_info_plate", "mqtt"
    device = models.ForeignKey("devices.Device", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    compound = models.ForeignKey("places.Compound", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    reason = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    raw = models.TextField(blank=True)  # the message as received (truncated), for diagnosis
    headers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"
