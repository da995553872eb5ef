"""Reads of rules and their run traces for a user; always scoped to the user's compounds."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from linli.automations.models import Rule, RuleRun
from linli.core.selectors import get_visible


def visible_rules(user: Any, *, compound_id: int | None = None, enabled: bool | None = None,
                  q: str = "") -> QuerySet[Rule]:
    qs = Rule.objects.restrict(user)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if enabled is not None:
        qs = qs.filter(enabled=enabled)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("compound_id", "name", "id")


def rule(user: Any, pk: int) -> Rule:
    return get_visible(Rule.objects.all(), user, pk)


def rule_runs(user: Any, rule: Rule, *, outcome: str = "") -> QuerySet[RuleRun]:
    """The trace of one rule (the rule itself was fetched through `rule()`, so it is visible)."""
    qs = RuleRun.objects.restrict(user).filter(rule=rule)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.order_by("-at", "-id")
