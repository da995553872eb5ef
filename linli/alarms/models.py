"""Alarms (告警): one active alarm per (source, type) that counts repeats, with a lifecycle
active → acknowledged → dispatched → resolved or false alarm."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import ScopedModel


class Severity(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    MAJOR = "major", _("重要")
    MINOR = "minor", _("次要")
    WARNING = "warning", _("提示")
    INDETERMINATE = "indeterminate", _("未定")


class AlarmStatus(models.TextChoices):
    ACTIVE = "active", _("待确认")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    DISPATCHED = "dispatched", _("已派单")
    RESOLVED = "resolved", _("已处置")
    FALSE_ALARM = "false_alarm", _("误报")


OPEN_STATUSES = (AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED, AlarmStatus.DISPATCHED)


class Alarm(ScopedModel):
    """Alarm — 告警. `source` is what raised it (a device code, a rule), `type` what it is about."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="alarms")
    device = models.ForeignKey("devices.Device", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="alarms")
    source = models.CharField(max_length=80)
    type = models.CharField(max_length=40)
    severity = models.CharField(max_length=14, choices=Severity.choices)
    status = models.CharField(max_length=14, choices=AlarmStatus.choices, default=AlarmStatus.ACTIVE)
    life_safety = models.BooleanField(default=False)
    title = models.CharField(max_length=120)
    details = models.JSONField(default=dict, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    first_event = models.ForeignKey("events.Event", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    count = models.PositiveIntegerField(default=1)
    raised_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    assignee = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_alarms")
    closed_at = models.DateTimeField(null=True, blank=True)
    # How far up it has been escalated: 0 property, 1 community, 2 street.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Someone must be on site by then (entrapment: 30 minutes); `arrived_at` records that they were.
    deadline_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "type"], condition=Q(status__in=OPEN_STATUSES),
                                    name="one_open_alarm_per_source_and_type"),
        ]
        indexes = [models.Index(fields=["compound", "status", "raised_at"])]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"


class AlarmComment(ScopedModel):
    """A note on an alarm: what was done, seen, decided."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    text = models.CharField(max_length=500)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return self.text[:40]
