"""Automation rule pages: the scoped list, the detail with its run trace, installing a template,
writing or editing a rule's JSON definition, enabling, disabling and deleting — all through
the automation services, which validate and audit every write."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.automations import selectors, services
from linli.automations.templates import BY_KEY, TEMPLATES
from linli.web.forms.rules import RuleFilterForm, RuleForm, TemplateForm
from linli.web.views.common import can, console_view, paginate, posted, render_form, submit

OUTCOMES = {
    "fired": gettext_lazy("已触发"),
    "armed": gettext_lazy("开始计时"),
    "disarmed": gettext_lazy("取消计时"),
    "conditions_failed": gettext_lazy("条件不满足"),
    "outside_window": gettext_lazy("不在时间窗内"),
    "counted": gettext_lazy("已计次"),
    "skipped": gettext_lazy("已跳过"),
}
OPERATORS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
             "in": gettext_lazy("属于"), "contains": gettext_lazy("包含")}
ACTIONS = {
    "raise_alarm": gettext_lazy("产生告警"),
    "clear_alarm": gettext_lazy("解除告警"),
    "command": gettext_lazy("设备指令"),
    "notify": gettext_lazy("通知"),
    "work_order": gettext_lazy("工单"),
}


def _save(form: Any, save: Any) -> Any:
    """`submit`, with the service's `definition.…` errors shown on the definition field."""

    def run(data: dict) -> Any:
        try:
            return save(data)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise
            remapped: dict[str, list] = {}
            for key, errors in exc.error_dict.items():
                if key.startswith("definition.") and "definition" in form.fields:
                    errors = [ValidationError(f"{key.removeprefix('definition.')}：{m}") for e in errors
                              for m in e.messages]
                    key = "definition"
                elif key == NON_FIELD_ERRORS and any(e.code == "unique_together" for e in errors):
                    # The only uniqueness rule on a rule: its name within the compound.
                    errors, key = [ValidationError(_("本小区已有同名的联动规则"))], "name"
                remapped.setdefault(key, []).extend(errors)
            raise ValidationError(remapped) from None

    return submit(form, run)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@console_view("automations.view_rule")
def rule_list(request):
    form = RuleFilterForm(request.GET, user=request.user)
    qs = selectors.visible_rules(request.user, **form.selection()).select_related("compound")
    return render(request, "web/rules/rule_list.html", {
        "form": form, "page": paginate(request, qs),
        "can_add": can(request, "automations.add_rule"), "can_change": can(request, "automations.change_rule"),
    })


def _trace(run: Any) -> dict[str, Any]:
    """One run as the page shows it: labels for outcome, operators and actions; links to alarms."""
    conditions = [{**c, "op_label": OPERATORS.get(c.get("op"), c.get("op"))} for c in run.conditions or []]
    actions = []
    for a in run.actions or []:
        details = {k: v for k, v in a.items() if k not in ("do", "error")}
        alarm_id = a.get("alarm_id")
        actions.append({"label": ACTIONS.get(a.get("do"), a.get("do")), "error": a.get("error"),
                        "details": details,
                        "alarm_url": reverse("web:alarm_detail", args=[alarm_id]) if alarm_id else ""})
    return {"run": run, "outcome": OUTCOMES.get(run.outcome, run.outcome), "conditions": conditions,
            "actions": actions, "event_url": _event_url(run.event_id)}


def _event_url(event_id: int | None) -> str:
    """The event's console page, once the event pages exist."""
    if not event_id:
        return ""
    try:
        return reverse("web:event_detail", args=[event_id])
    except NoReverseMatch:
        return ""


@console_view("automations.view_rule")
def rule_detail(request, pk: int):
    rule = selectors.rule(request.user, pk)
    outcome = request.GET.get("outcome", "")
    outcome = outcome if outcome in OUTCOMES else ""
    page = paginate(request, selectors.rule_runs(request.user, rule, outcome=outcome)) \
        if can(request, "automations.view_rulerun") else None
    return render(request, "web/rules/rule_detail.html", {
        "rule": rule, "definition": _pretty(rule.definition), "page": page,
        "runs": [_trace(run) for run in page] if page is not None else [],
        "outcomes": list(OUTCOMES.items()), "outcome": outcome,
        "can_change": can(request, "automations.change_rule"), "can_delete": can(request, "automations.delete_rule"),
    })


@console_view("automations.add_rule")
def rule_templates(request):
    """Step one of installing a template: pick it (each shows what it does and its parameters)."""
    return render(request, "web/rules/templates.html", {
        "templates": [{"template": t, "definition": _pretty(t.definition())} for t in TEMPLATES],
    })


@console_view("automations.add_rule")
def rule_install(request, key: str):
    template = BY_KEY.get(key)
    if template is None:
        raise Http404
    form = TemplateForm(posted(request), user=request.user, template=template)
    if request.method == "POST":
        rule = _save(form, lambda data: services.install_template(
            actor=request.user, compound=data["compound"], key=key, name=data["name"],
            overrides=form.overrides(), enabled=data["enabled"]))
        if rule is not None:
            messages.success(request, _("已安装联动规则：%(name)s") % {"name": rule.name})
            return redirect("web:rule_detail", pk=rule.pk)
    return render_form(request, form, title=_("使用模板：%(name)s") % {"name": template.name},
                       subtitle=template.description, back=reverse("web:rule_templates"),
                       template="web/rules/rule_form.html")


@console_view("automations.add_rule")
def rule_create(request):
    """A rule written from scratch as JSON (the templates cover the usual scenarios)."""
    initial = {"definition": _pretty(TEMPLATES[0].definition())} if TEMPLATES else {}
    form = RuleForm(posted(request), user=request.user, initial=initial)
    if request.method == "POST":
        rule = _save(form, lambda data: services.create_rule(actor=request.user, **data))
        if rule is not None:
            return redirect("web:rule_detail", pk=rule.pk)
    return render_form(request, form, title=_("新建联动规则"), back=reverse("web:rule_list"),
                       template="web/rules/rule_form.html")


@console_view("automations.change_rule")
def rule_edit(request, pk: int):
    rule = selectors.rule(request.user, pk)
    initial = {"name": rule.name, "mode": rule.mode, "enabled": rule.enabled, "definition": _pretty(rule.definition)}
    form = RuleForm(posted(request), user=request.user, editing=True, initial=initial)
    if request.method == "POST":
        saved = _save(form, lambda data: services.update_rule(actor=request.user, rule=rule, **data))
        if saved is not None:
            messages.success(request, _("已保存联动规则：%(name)s") % {"name": saved.name})
            return redirect("web:rule_detail", pk=rule.pk)
    return render_form(request, form, title=_("编辑联动规则"), subtitle=rule.name,
                       back=reverse("web:rule_detail", args=[pk]), template="web/rules/rule_form.html")


@require_POST
@console_view("automations.change_rule")
def rule_toggle(request, pk: int):
    rule = selectors.rule(request.user, pk)
    enabled = request.POST.get("enabled") == "1"
    services.update_rule(actor=request.user, rule=rule, enabled=enabled)
    done = _("已启用：%(name)s") if enabled else _("已停用：%(name)s")
    messages.success(request, done % {"name": rule.name})
    if request.POST.get("next") == "list":
        return redirect("web:rule_list")
    return redirect("web:rule_detail", pk=pk)


@console_view("automations.delete_rule")
def rule_delete(request, pk: int):
    rule = selectors.rule(request.user, pk)
    if request.method == "POST":
        services.delete_rule(actor=request.user, rule=rule)
        messages.success(request, _("已删除联动规则：%(name)s") % {"name": rule.name})
        return redirect("web:rule_list")
    return render(request, "web/rules/rule_delete.html", {"rule": rule})
