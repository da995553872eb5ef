"""Automations (联动) as data: rules, their durable timers, and a trace of every run."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel


class RunMode(models.TextChoices):
    SINGLE = "single", _("单次（运行中忽略新触发）")
    RESTART = "restart", _("重启（新触发重新计时）")
    QUEUED = "queued", _("排队")
    PARALLEL = "parallel", _("并行")


class Rule(ScopedModel):
    """Rule — 联动规则: when an event of a type arrives and the conditions hold (for `hold_s`
    seconds, if set), run the actions. The definition is validated by automations/schema.py."""

    compound = models.ForeignKey("places.Compound", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="rules", help_text=_("为空表示全平台模板"))
    name = models.CharField(max_length=80)
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=10, choices=RunMode.choices, default=RunMode.SINGLE)
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="rule_name_unique_in_compound")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, grant: Grant) -> Q | None:
        if grant.is_resident or grant.compounds is None:
            return None
        return Q(compound__in=grant.compounds)


class RuleTimer(models.Model):
    """A rule armed for one subject (usually a device) that fires at `fire_at` unless disarmed.

    Kept in the database so "for 10 minutes" survives a restart of every process.
    """

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="timers")
    subject = models.CharField(max_length=80)
    armed_at = models.DateTimeField()
    fire_at = models.DateTimeField(db_index=True)
    event = models.ForeignKey("events.Event", null=True, on_delete=models.SET_NULL, related_name="+")
    context = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "subject"], name="one_timer_per_rule_subject")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.subject}@{self.fire_at:%H:%M:%S}"


class RuleRun(ScopedModel):
    """The trace of one evaluation: what fired, which conditions passed, what each action did."""

    compound = models.ForeignKey("places.Compound", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    at = models.DateTimeField(db_index=True)
    event = models.ForeignKey("events.Event", null=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.CharField(max_length=80, blank=True)  # the device code the run was about
    # fired, armed, disarmed, conditions_failed, outside_window, counted, skipped
    outcome = models.CharField(max_length=20)
    conditions = models.JSONField(default=list)
    actions = models.JSONField(default=list)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["rule", "subject", "at"])]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.outcome}"
