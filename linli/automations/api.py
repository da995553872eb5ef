"""REST endpoints for automations (/api/rules/…): rules, templates and run traces."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.automations import selectors, services
from linli.automations.models import RunMode
from linli.automations.templates import TEMPLATES
from linli.core.api import ERRORS, Id, PageQuery, Payload, page, paged, patch_field
from linli.places import selectors as places

router = Router(tags=["automations"])


class RuleOut(Schema):
    id: int
    compound_id: int | None
    name: str
    enabled: bool
    mode: RunMode
    definition: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleIn(Payload):
    compound_id: Id
    name: str = Field(min_length=1, max_length=80)
    mode: RunMode = RunMode.SINGLE
    enabled: bool = True
    definition: dict[str, Any]


class RulePatch(Payload):
    name: str = patch_field(min_length=1, max_length=80)
    mode: RunMode = patch_field()
    enabled: bool = patch_field()
    definition: dict[str, Any] = patch_field()


class RuleFilter(Schema):
    compound_id: Id | None = None
    enabled: bool | None = None
    q: str = Field("", max_length=80)


class TemplateParamOut(Schema):
    name: str
    label: str
    default: Any


class TemplateOut(Schema):
    key: str
    name: str
    description: str
    mode: RunMode
    params: list[TemplateParamOut]
    definition: dict[str, Any]


class InstallIn(Payload):
    compound_id: Id
    key: str = Field(min_length=1, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=80)
    overrides: dict[str, Any] = {}
    enabled: bool = True


class RunOut(Schema):
    id: int
    rule_id: int
    at: dt.datetime
    event_id: int | None
    subject: str
    outcome: str
    conditions: list
    actions: list


class RunFilter(Schema):
    outcome: str = Field("", max_length=20)


@router.get("", response={200: paged(RuleOut), **ERRORS}, operation_id="list_rules")
def list_rules(request: HttpRequest, filters: Query[RuleFilter], pg: Query[PageQuery]):
    return page(selectors.visible_rules(request.user, **filters.dict()), pg)


@router.get("/templates", response={200: list[TemplateOut], **ERRORS}, operation_id="list_rule_templates")
def list_rule_templates(request: HttpRequest):
    return [{"key": t.key, "name": str(t.name), "description": str(t.description), "mode": t.mode,
             "params": [{"name": k, "label": str(p.label), "default": p.default} for k, p in t.params.items()],
             "definition": t.definition()} for t in TEMPLATES]


@router.post("/templates/install", response={201: RuleOut, **ERRORS}, operation_id="install_rule_template")
def install_rule_template(request: HttpRequest, payload: InstallIn):
    compound = places.compound(request.user, payload.compound_id)
    return Status(201, services.install_template(actor=request.user, compound=compound, key=payload.key,
                                                 name=payload.name, overrides=payload.overrides,
                                                 enabled=payload.enabled))


@router.post("", response={201: RuleOut, **ERRORS}, operation_id="create_rule")
def create_rule(request: HttpRequest, payload: RuleIn):
    compound = places.compound(request.user, payload.compound_id)
    return Status(201, services.create_rule(actor=request.user, compound=compound, name=payload.name,
                                           definition=payload.definition, mode=payload.mode,
                                           enabled=payload.enabled))


@router.get("/{rule_id}", response={200: RuleOut, **ERRORS}, operation_id="get_rule")
def get_rule(request: HttpRequest, rule_id: Id):
    return selectors.rule(request.user, rule_id)


@router.patch("/{rule_id}", response={200: RuleOut, **ERRORS}, operation_id="update_rule")
def update_rule(request: HttpRequest, rule_id: Id, payload: RulePatch):
    rule = selectors.rule(request.user, rule_id)
    return services.update_rule(actor=request.user, rule=rule, **payload.dict(exclude_unset=True))


@router.delete("/{rule_id}", response={204: None, **ERRORS}, operation_id="delete_rule")
def delete_rule(request: HttpRequest, rule_id: Id):
    services.delete_rule(actor=request.user, rule=selectors.rule(request.user, rule_id))
    return Status(204, None)


@router.get("/{rule_id}/runs", response={200: paged(RunOut), **ERRORS}, operation_id="list_rule_runs")
def list_rule_runs(request: HttpRequest, rule_id: Id, filters: Query[RunFilter], pg: Query[PageQuery]):
    rule = selectors.rule(request.user, rule_id)
    return page(selectors.rule_runs(request.user, rule, **filters.dict()), pg)
