"""Small display helpers for console templates."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html

from linli.people.models import CareTag
from linli.web.views.common import may_open

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


@register.simple_tag(takes_context=True)
def url_if_open(context: template.Context, url_name: str, *args: Any) -> str:
    """The page's URL when the user may open it (linli.web.views.common.may_open), else "": a link,
    or plain text, in the template: `{% url_if_open 'web:organisation_detail' pk as company_url %}`."""
    user = context["request"].user
    return reverse(url_name, args=args) if may_open(user, url_name, *args) else ""


@register.simple_tag(takes_context=True)
def link_if_open(context: template.Context, text: Any, url_name: str, *args: Any) -> str:
    """`text` linked to the page when the user may open it, else `text` alone:
    `{% link_if_open house.compound 'web:compound_detail' house.compound_id %}`."""
    url = url_if_open(context, url_name, *args)
    return format_html('<a href="{}">{}</a>', url, text) if url else conditional_escape(text)
