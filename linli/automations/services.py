"""Writing rules: every definition is validated against the rule language before it is saved."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pydantic import ValidationError as SchemaError

from linli.automations import engine
from linli.automations.models import Rule, RunMode
from linli.automations.schema import RuleDefinition
from linli.automations.templates import BY_KEY
from linli.core.services import (
    delete_audited,
    field_error,
    require,
    require_in_compound,
    save_changes,
    save_new,
    service,
)
from linli.places.models import Compound


def validated(definition: Any) -> dict[str, Any]:
    """The definition as it will be stored, or a ValidationError naming each bad part
    (`definition.actions.0.severity`), so the console and API can point at it."""
    try:
        return RuleDefinition.model_validate(definition).model_dump(mode="json", exclude_defaults=True)
    except SchemaError as exc:
        errors: dict[str, list[ValidationError]] = {}
        for error in exc.errors():
            path = ".".join(str(part) for part in ("definition", *error["loc"]))
            errors.setdefault(path, []).append(ValidationError(error["msg"], code="invalid"))
        raise ValidationError(errors) from None


def _mode(mode: str) -> str:
    if mode not in RunMode.values:
        raise field_error("mode", _("未知的运行模式"))
    return mode


@service
def create_rule(*, actor: Any, compound: Compound, name: str, definition: Any, mode: str = RunMode.SINGLE,
                enabled: bool = True) -> Rule:
    require_in_compound(actor, Rule, "add", compound.pk)
    rule = save_new(Rule(compound=compound, name=name.strip(), definition=validated(definition), mode=_mode(mode),
                         enabled=enabled))
    engine.RULES.invalidate()
    return rule


@service
def update_rule(*, actor: Any, rule: Rule, **changes: Any) -> Rule:
    require(actor, rule, "change")
    unknown = set(changes) - {"name", "definition", "mode", "enabled"}
    if unknown:
        raise field_error(sorted(unknown)[0], _("不能修改该字段"))
    if "definition" in changes:
        changes["definition"] = validated(changes["definition"])
    if "mode" in changes:
        _mode(changes["mode"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    rule = save_changes(rule, changes)
    if "definition" in changes or changes.get("enabled") is False:
        rule.timers.all().delete()  # a changed rule starts afresh: no timer armed under the old meaning
    engine.RULES.invalidate()
    return rule


@service
def delete_rule(*, actor: Any, rule: Rule) -> None:
    require(actor, rule, "delete")
    delete_audited(rule)
    engine.RULES.invalidate()


@service
def install_template(*, actor: Any, compound: Compound, key: str, name: str | None = None,
                     overrides: dict[str, Any] | None = None, enabled: bool = True) -> Rule:
    template = BY_KEY.get(key)
    if template is None:
        raise field_error("key", _("未知的模板"))
    try:
        definition = template.definition(overrides)
    except KeyError as exc:
        raise field_error("overrides", _("模板没有这些参数：%(names)s") % {"names": exc.args[0]}) from None
    except (TypeError, ValueError):
        raise field_error("overrides", _("模板参数的值不正确")) from None
    return create_rule(actor=actor, compound=compound, name=name or str(template.name), definition=definition,
                       mode=template.mode, enabled=enabled)
