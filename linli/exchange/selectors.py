"""The lists that can be exported: which scoped selector feeds each, its filters and its columns.

Every export reads through the same selector (and so the same scope and filters) as the
list page it mirrors. Personal data leaves only masked: the columns read `id_masked` and
`phone_masked`, never a decrypting method.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core import hooks
from linli.core import selectors as core_selectors
from linli.core.masking import mask_id_number, mask_phone, scrub
from linli.exchange.formats import parse_date
from linli.people import selectors as people
from linli.people.models import CareTag
from linli.places import selectors as places

EXPORT_PERMISSION = "core.export_list"


@dataclass(frozen=True)
class ExportList:
    name: str
    title: Any
    select: Callable[..., QuerySet]  # a scoped selector: (user, **filters) → queryset
    filters: Mapping[str, type]  # query parameter → int, str, bool or dt.date
    columns: tuple[tuple[Any, Callable[[Any], Any]], ...]
    personal: bool = False  # holds personal data: needs the export permission
    related: tuple[str, ...] = ()  # joins the columns need beyond the selector's own
    masked_filters: Mapping[str, Callable[[str], str]] = field(default_factory=dict)

    @property
    def headers(self) -> list[Any]:
        return [header for header, _value in self.columns]

    def row(self, obj: Any) -> list[Any]:
        return [value(obj) for _header, value in self.columns]

    def parse_filters(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The list's own filters from query parameters; unknown ones are ignored, bad ones refused."""
        values: dict[str, Any] = {}
        for name, kind in self.filters.items():
            raw = params.get(name)
            if raw is None or str(raw).strip() == "":
                continue
            values[name] = _coerce(name, kind, str(raw).strip())
        return values

    def queryset(self, user: Any, filters: Mapping[str, Any]) -> QuerySet:
        args = dict(filters)
        if self.name == "audit":
            args = _audit_window(args)
        qs = self.select(user, **args)
        return qs.select_related(*self.related) if self.related else qs

    def check_references(self, user: Any, filters: Mapping[str, Any]) -> None:
        """Each filter naming a record is read through that record's scoped selector: one outside the
        user's scope (or none at all) raises NotFound, a 404 like everywhere else, not an empty sheet."""
        for name, value in filters.items():
            if name in REFERENCE_FILTERS:
                REFERENCE_FILTERS[name](user, value)

    def recorded_filters(self, filters: Mapping[str, Any]) -> dict[str, Any]:
        """Filters as written to the audit log: a searched ID or phone number only masked."""
        return {k: self.masked_filters[k](str(v)) if k in self.masked_filters else _plain(v)
                for k, v in filters.items()}


def _coerce(name: str, kind: type, raw: str) -> Any:
    try:
        if kind is int:
            value = int(raw)
            if value <= 0:
                raise ValueError(raw)
            return value
        if kind is bool:
            if raw.lower() in {"1", "true", "yes", "是"}:
                return True
            if raw.lower() in {"0", "false", "no", "否"}:
                return False
            raise ValueError(raw)
        if kind is dt.date:
            return parse_date(raw)
    except ValueError as exc:
        raise ValidationError({name: [_("筛选条件“%(name)s”的值无效") % {"name": name}]}) from exc
    return raw[:100]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _audit_window(args: dict[str, Any]) -> dict[str, Any]:
    """Dates in Asia/Shanghai; `until` includes the whole day."""
    tz = timezone.get_current_timezone()
    if args.get("since"):
        args["since"] = dt.datetime.combine(args["since"], dt.time(), tzinfo=tz)
    if args.get("until"):
        args["until"] = dt.datetime.combine(args["until"] + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return args


# Column helpers --------------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return _("是") if value else _("否")


def _care_labels(tags: list[str]) -> str:
    labels = dict(CareTag.choices)
    return "、".join(str(labels.get(t, t)) for t in tags or [])


def _code(obj: Any) -> str:
    return obj.compound.code if obj.compound_id else ""


def _compound_name(obj: Any) -> str:
    return obj.compound.name if obj.compound_id else ""


def _json_text(value: Any) -> str:
    # Audit snapshots hold masked personal fields only; scrub again in case a free-text field held one.
    return scrub(json.dumps(value, ensure_ascii=False, sort_keys=True)) if value else ""


# Filters that name one record, and the scoped selector that reads it for a user.
REFERENCE_FILTERS: dict[str, Callable[[Any, int], Any]] = {
    "compound_id": places.compound,
    "building_id": places.building,
    "unit_id": places.unit,
    "house_id": places.house,
    "community_id": places.region,
    "region_id": places.region,
    "property_company_id": people.organisation,
    "person_id": people.person,
    "owner_id": people.person,
}

EXPORT_LISTS = hooks.declare_registry("exchange.export_lists", "name -> ExportList", """
The lists a user may export to Excel, by name: each reads through its scoped selector, and every
filter naming a record is checked through that record's own scoped selector.
""")


def _register(export: ExportList) -> None:
    unchecked = [f for f, kind in export.filters.items() if kind is int and f.endswith("_id")
                 and f not in REFERENCE_FILTERS]
    if unchecked:
        raise ImproperlyConfigured(f"export {export.name}: no scoped selector for {unchecked}")
    EXPORT_LISTS.register(export.name, export, module=__name__)


_register(ExportList(
    name="compounds", title=gettext_lazy("小区"), select=places.compounds,
    filters={"community_id": int, "region_id": int, "property_company_id": int, "q": str},
    columns=(
        (gettext_lazy("小区编码"), lambda c: c.code),
        (gettext_lazy("小区名称"), lambda c: c.name),
        (gettext_lazy("社区"), lambda c: c.community.name),
        (gettext_lazy("网格"), lambda c: c.grid.name if c.grid_id else ""),
        (gettext_lazy("物业公司"), lambda c: c.property_company.name if c.property_company_id else ""),
        (gettext_lazy("建成年份"), lambda c: c.year_built),
        (gettext_lazy("地址"), lambda c: c.address),
        (gettext_lazy("标准地址"), lambda c: c.standard_address),
    ),
))
_register(ExportList(
    name="buildings", title=gettext_lazy("楼栋"), select=places.buildings, filters={"compound_id": int, "q": str},
    columns=(
        (gettext_lazy("小区编码"), _code),
        (gettext_lazy("小区名称"), _compound_name),
        (gettext_lazy("楼号"), lambda b: b.number),
        (gettext_lazy("楼名"), lambda b: b.name),
        (gettext_lazy("地上层数"), lambda b: b.floors_above),
        (gettext_lazy("地下层数"), lambda b: b.floors_below),
        (gettext_lazy("单元数"), lambda b: b.unit_count),
        (gettext_lazy("高度"), lambda b: b.height_m),
        (gettext_lazy("是否有电梯"), lambda b: _yes_no(b.has_elevator)),
        (gettext_lazy("地址编码"), lambda b: b.address_code),
        (gettext_lazy("标准地址"), lambda b: b.standard_address),
    ),
))
_register(ExportList(
    name="houses", title=gettext_lazy("房屋"), select=places.houses,
    filters={"compound_id": int, "building_id": int, "unit_id": int, "occupancy": str, "use": str, "q": str},
    columns=(
        (gettext_lazy("小区编码"), _code),
        (gettext_lazy("楼号"), lambda h: h.building.number),
        (gettext_lazy("单元号"), lambda h: h.unit.number),
        (gettext_lazy("房号"), lambda h: h.number),
        (gettext_lazy("楼层"), lambda h: h.floor),
        (gettext_lazy("建筑面积"), lambda h: h.built_area),
        (gettext_lazy("套内面积"), lambda h: h.inner_area),
        (gettext_lazy("用途"), lambda h: h.get_use_display()),
        (gettext_lazy("居住状态"), lambda h: h.get_occupancy_display()),
        (gettext_lazy("地址编码"), lambda h: h.address_code),
        (gettext_lazy("标准地址"), lambda h: h.standard_address),
    ),
))
_register(ExportList(
    name="persons", title=gettext_lazy("人员"), select=people.persons, personal=True,
    filters={"compound_id": int, "house_id": int, "q": str, "id_number": str, "phone": str, "care_tag": str,
             "population_type": str},
    masked_filters={"id_number": mask_id_number, "phone": mask_phone},
    columns=(
        (gettext_lazy("小区编码"), _code),
        (gettext_lazy("小区名称"), _compound_name),
        (gettext_lazy("姓名"), lambda p: p.name),
        (gettext_lazy("性别"), lambda p: p.get_gender_display()),
        (gettext_lazy("证件类型"), lambda p: p.get_id_type_display()),
        (gettext_lazy("证件号码"), lambda p: p.id_masked),
        (gettext_lazy("手机号"), lambda p: p.phone_masked),
        (gettext_lazy("人口类型"), lambda p: p.get_population_type_display()),
        (gettext_lazy("关怀标签"), lambda p: _care_labels(p.care_tags)),
        (gettext_lazy("民族"), lambda p: p.ethnicity),
        (gettext_lazy("登记时间"), lambda p: p.created_at),
    ),
))
_register(ExportList(
    name="residencies", title=gettext_lazy("居住关系"), select=people.residencies, personal=True,
    filters={"compound_id": int, "house_id": int, "person_id": int, "current": bool},
    related=("compound", "house__building", "house__unit"),
    columns=(
        (gettext_lazy("小区编码"), _code),
        (gettext_lazy("姓名"), lambda r: r.person.name),
        (gettext_lazy("证件号码"), lambda r: r.person.id_masked),
        (gettext_lazy("手机号"), lambda r: r.person.phone_masked),
        (gettext_lazy("楼号"), lambda r: r.house.building.number),
        (gettext_lazy("单元号"), lambda r: r.house.unit.number),
        (gettext_lazy("房号"), lambda r: r.house.number),
        (gettext_lazy("居住关系"), lambda r: r.get_role_display()),
        (gettext_lazy("入住日期"), lambda r: r.since),
        (gettext_lazy("迁出日期"), lambda r: r.until),
        (gettext_lazy("已核实"), lambda r: _yes_no(r.verified_at is not None)),
        (gettext_lazy("标准地址"), lambda r: r.house.standard_address),
    ),
))
_register(ExportList(
    name="organisations", title=gettext_lazy("组织"), select=people.organisations, filters={"kind": str, "q": str},
    columns=(
        (gettext_lazy("类型"), lambda o: o.get_kind_display()),
        (gettext_lazy("名称"), lambda o: o.name),
        (gettext_lazy("统一社会信用代码"), lambda o: o.credit_code),
        (gettext_lazy("所属区划"), lambda o: o.region.name if o.region_id else ""),
        (gettext_lazy("所属小区"), lambda o: o.compound.name if o.compound_id else ""),
        (gettext_lazy("联系人"), lambda o: o.contact_name),
        (gettext_lazy("联系电话"), lambda o: o.contact_phone_masked),
    ),
))
_register(ExportList(
    name="real_units", title=gettext_lazy("实有单位"), select=people.real_units, filters={"compound_id": int, "q": str},
    columns=(
        (gettext_lazy("小区编码"), _code),
        (gettext_lazy("名称"), lambda u: u.name),
        (gettext_lazy("统一社会信用代码"), lambda u: u.credit_code),
        (gettext_lazy("经营范围"), lambda u: u.business_scope),
        (gettext_lazy("法定代表人"), lambda u: u.legal_person),
        (gettext_lazy("从业人数"), lambda u: u.employees),
        (gettext_lazy("地址"), lambda u: u.house.standard_address if u.house_id else u.compound.standard_address),
    ),
))
_register(ExportList(
    name="vehicles", title=gettext_lazy("车辆"), select=people.vehicles, personal=True,
    filters={"compound_id": int, "house_id": int, "plate": str, "owner_id": int},
    columns=(
        (gettext_lazy("小区编码"), _code),
        (gettext_lazy("车牌号"), lambda v: v.plate),
        (gettext_lazy("车牌颜色"), lambda v: v.get_colour_display()),
        (gettext_lazy("车主姓名"), lambda v: v.owner.name if v.owner_id else ""),
        (gettext_lazy("车主证件号码"), lambda v: v.owner.id_masked if v.owner_id else ""),
        (gettext_lazy("所属房屋"), lambda v: v.house.standard_address if v.house_id else ""),
        (gettext_lazy("品牌"), lambda v: v.brand),
        (gettext_lazy("启用"), lambda v: _yes_no(v.active)),
    ),
))
_register(ExportList(
    name="audit", title=gettext_lazy("审计日志"), select=core_selectors.audit_entries, personal=True,
    filters={"compound_id": int, "object_type": str, "object_id": str, "action": str, "actor": str,
             "since": dt.date, "until": dt.date},
    related=("compound",),
    columns=(
        (gettext_lazy("编号"), lambda e: e.id),
        (gettext_lazy("时间"), lambda e: e.at),
        (gettext_lazy("操作人"), lambda e: e.actor),
        (gettext_lazy("动作"), lambda e: e.get_action_display()),
        (gettext_lazy("对象类型"), lambda e: e.object_type),
        (gettext_lazy("对象编号"), lambda e: e.object_id),
        (gettext_lazy("对象"), lambda e: scrub(e.object_repr)),
        (gettext_lazy("小区"), lambda e: e.compound.name if e.compound_id and e.compound else ""),
        (gettext_lazy("来源"), lambda e: (e.context or {}).get("source", "")),
        (gettext_lazy("变更前"), lambda e: _json_text(e.before)),
        (gettext_lazy("变更后"), lambda e: _json_text(e.after)),
        (gettext_lazy("哈希"), lambda e: e.hash),
    ),
))
