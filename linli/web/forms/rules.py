"""Forms for automation rules: filters, the JSON definition editor, installing a template.

The definition is checked here against the rule language first, so each problem is shown in
Chinese next to the definition field with the path it concerns; the service checks it again.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ValidationError as SchemaError

from linli.automations.models import RunMode
from linli.automations.schema import RuleDefinition
from linli.automations.templates import Template
from linli.core.services import compounds_where
from linli.places.models import Compound

# Pydantic error types in words a manager reads; `ctx` fills the placeholders.
SCHEMA_MESSAGES = {
    "missing": gettext_lazy("缺少必填项"),
    "extra_forbidden": gettext_lazy("不允许的字段"),
    "literal_error": gettext_lazy("取值须为以下之一：%(expected)s"),
    "enum": gettext_lazy("取值须为以下之一：%(expected)s"),
    "string_too_short": gettext_lazy("长度不能少于 %(min_length)s"),
    "string_too_long": gettext_lazy("长度不能超过 %(max_length)s"),
    "string_pattern_mismatch": gettext_lazy("格式不正确"),
    "too_short": gettext_lazy("至少需要 %(min_length)s 项"),
    "too_long": gettext_lazy("最多 %(max_length)s 项"),
    "greater_than_equal": gettext_lazy("不能小于 %(ge)s"),
    "greater_than": gettext_lazy("须大于 %(gt)s"),
    "less_than_equal": gettext_lazy("不能大于 %(le)s"),
    "less_than": gettext_lazy("须小于 %(lt)s"),
    "int_type": gettext_lazy("须为整数"),
    "int_parsing": gettext_lazy("须为整数"),
    "int_from_float": gettext_lazy("须为整数"),
    "float_type": gettext_lazy("须为数字"),
    "float_parsing": gettext_lazy("须为数字"),
    "string_type": gettext_lazy("须为文本"),
    "bool_type": gettext_lazy("须为 true 或 false"),
    "bool_parsing": gettext_lazy("须为 true 或 false"),
    "list_type": gettext_lazy("须为列表"),
    "dict_type": gettext_lazy("须为对象"),
    "model_type": gettext_lazy("须为对象"),
    "model_attributes_type": gettext_lazy("须为对象"),
    "time_type": gettext_lazy("须为时间，如 22:00"),
    "time_parsing": gettext_lazy("须为时间，如 22:00"),
    "union_tag_invalid": gettext_lazy("未知的动作“%(tag)s”，可选：%(expected_tags)s"),
    "union_tag_not_found": gettext_lazy("缺少动作类型字段 do"),
}
# The rule language's own checks (value_error) say what is wrong in English; the start of each message.
VALUE_MESSAGES = {
    "unknown event type": gettext_lazy("未知的事件类型"),
    "unknown device kind": gettext_lazy("未知的设备类型"),
    "'in' needs a list value": gettext_lazy("运算符 in 需要列表值"),
    "give a device kind": gettext_lazy("除 near 为 self 外须指定设备类型 kind"),
    "notify needs roles or residents": gettext_lazy("通知须指定角色 roles 或居民 residents"),
    "a rule counts repeats or waits": gettext_lazy("计次 count 与保持时长 hold_s 不能同时使用"),
}


def _path(loc: tuple) -> str:
    """("actions", 0, "raise_alarm", "severity") → actions[0].severity (the union's tag is noise)."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i > 0 and isinstance(loc[i - 1], int) and loc[0] == "actions":
            continue  # the discriminated union names the action type here; the index says enough
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
        for start, message in VALUE_MESSAGES.items():
            if text.startswith(start):
                detail = text[len(start):].strip()
                return f"{message} {detail}".strip()
        return _("取值不正确：%(detail)s") % {"detail": text}
    template = SCHEMA_MESSAGES.get(kind)
    if template is None:
        return _("取值不正确：%(detail)s") % {"detail": error["msg"]}
    try:
        # pydantic lists choices as "'a', 'b' or 'c'"; the joining word is English.
        return str(template) % {k: str(v).replace("' or '", "', '") for k, v in ctx.items()}
    except (KeyError, TypeError, ValueError):
        return str(template).split("：")[0]


def schema_errors(definition: Any) -> list[str]:
    """Every problem of a definition as 'path：message' in Chinese; empty when it is valid."""
    try:
        RuleDefinition.model_validate(definition)
    except SchemaError as exc:
        return [f"{_path(tuple(e['loc'])) or _('规则定义')}：{_message(e)}" for e in exc.errors()]
    return []


def rule_compounds(user: Any, permission: str = "automations.add_rule"):
    """Compounds where the user may add rules, for the compound picker."""
    return Compound.objects.filter(compounds_where(user, permission)).order_by("code")


class RuleFilterForm(forms.Form):
    compound = forms.ModelChoiceField(label=gettext_lazy("所属小区"), queryset=None, required=False)
    enabled = forms.ChoiceField(label=gettext_lazy("启用状态"), required=False,
                                choices=[("", gettext_lazy("全部")), ("1", gettext_lazy("已启用")),
                                         ("0", gettext_lazy("已停用"))])
    q = forms.CharField(label=gettext_lazy("名称"), required=False, max_length=80)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from linli.places import selectors as places

        self.fields["compound"].queryset = places.compounds(user)

    def selection(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        compound, enabled = data.get("compound"), data.get("enabled", "")
        return {"compound_id": compound.pk if compound else None,
                "enabled": None if enabled == "" else enabled == "1", "q": data.get("q", "").strip()}


class RuleForm(forms.Form):
    compound = forms.ModelChoiceField(label=gettext_lazy("所属小区"), queryset=None)
    name = forms.CharField(label=gettext_lazy("规则名称"), max_length=80)
    mode = forms.ChoiceField(label=gettext_lazy("运行模式"), choices=RunMode.choices, initial=RunMode.SINGLE)
    enabled = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)
    definition = forms.CharField(
        label=gettext_lazy("规则定义（JSON）"),
        widget=forms.Textarea(attrs={"rows": 22, "cols": 80, "spellcheck": "false", "class": "code"}),
        help_text=gettext_lazy("触发 trigger、条件 conditions、时间窗 window、计次 count、保持秒数 hold_s、动作 actions"),
    )

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["compound"]  # a rule stays with its compound
        else:
            self.fields["compound"].queryset = rule_compounds(user)

    def clean_definition(self) -> dict:
        text = self.cleaned_data["definition"]
        try:
            definition = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("不是有效的 JSON（第 %(line)s 行第 %(column)s 列）")
                                        % {"line": getattr(exc, "lineno", "?"), "column": getattr(exc, "colno", "?")}
                                        ) from None
        if not isinstance(definition, dict):
            raise forms.ValidationError(_("规则定义须为 JSON 对象"))
        problems = schema_errors(definition)
        if problems:
            raise forms.ValidationError(problems)
        return definition


def _param_field(param: Any) -> forms.Field:
    default, label = param.default, param.label
    if isinstance(default, bool):
        return forms.BooleanField(label=label, required=False, initial=default)
    if isinstance(default, int):
        return forms.IntegerField(label=label, initial=default)
    if isinstance(default, float):
        return forms.FloatField(label=label, initial=default)
    if isinstance(default, list):
        return forms.CharField(label=label, required=False, initial="，".join(str(v) for v in default),
                               help_text=gettext_lazy("多个用逗号分隔，留空表示不限"))
    return forms.CharField(label=label, initial=default, max_length=500)


class TemplateForm(forms.Form):
    """Install a rule template for a compound, with its parameters adjusted."""

    compound = forms.ModelChoiceField(label=gettext_lazy("所属小区"), queryset=None)
    name = forms.CharField(label=gettext_lazy("规则名称"), max_length=80)
    enabled = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)

    def __init__(self, *args, user, template: Template, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.fields["compound"].queryset = rule_compounds(user)
        self.fields["name"].initial = str(template.name)
        for key, param in template.params.items():
            self.fields[f"param_{key}"] = _param_field(param)

    def param_fields(self) -> list:
        return [self[name] for name in self.fields if name.startswith("param_")]

    def overrides(self) -> dict[str, Any]:
        values = {}
        for key, param in self.template.params.items():
            value = self.cleaned_data[f"param_{key}"]
            if isinstance(param.default, list):
                value = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
            values[key] = value
        return values

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            try:
                problems = schema_errors(self.template.definition(self.overrides()))
            except (KeyError, TypeError, ValueError):
                problems = [_("模板参数的值不正确")]
            if problems:
                raise forms.ValidationError(problems)
        return data
