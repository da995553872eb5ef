"""Small display helpers for console templates."""

from __future__ import annotations

import json
from typing import Any

from django import template

from linli.people.models import CareTag

register = template.Library()


@register.filter
def care_labels(tags: list[str] | None) -> str:
    """Care tag codes as their translated names, e.g. 独居老人、低保户."""
    labels = []
    for tag in tags or []:
        try:
            labels.append(str(CareTag(tag).label))
        except ValueError:
            labels.append(tag)
    return "、".join(labels)


@register.filter
def as_json(value: Any) -> str:
    """An audit value as compact JSON; Chinese stays readable."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@register.filter
def object_type_label(object_type: str) -> str:
    """`people.person` → 人员; unknown types show as stored."""
    from linli.web.forms.audit import OBJECT_TYPES

    return str(OBJECT_TYPES.get(object_type, object_type))
