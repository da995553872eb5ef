"""Audit log filters, and the names shown for each kind of audited record."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.core.models import AuditAction

OBJECT_TYPES = {
    "places.region": _("行政区划"),
    "places.grid": _("网格"),
    "places.compound": _("小区"),
    "places.building": _("楼栋"),
    "places.unit": _("单元"),
    "places.house": _("房屋"),
    "people.person": _("人员"),
    "people.residency": _("居住关系"),
    "people.organisation": _("组织"),
    "people.realunit": _("实有单位"),
    "people.vehicle": _("车辆"),
    "people.consent": _("单独同意"),
    "accounts.user": _("账号"),
    "accounts.rolegrant": _("授权"),
    "accounts.apitoken": _("接口令牌"),
}

# Where an audited record's page lives in the console, when it has one.
OBJECT_PAGES = {
    "places.compound": "web:compound_detail",
    "places.building": "web:building_detail",
    "places.house": "web:house_detail",
    "people.person": "web:person_detail",
    "people.organisation": "web:organisation_detail",
    "people.realunit": "web:realunit_detail",
    "people.vehicle": "web:vehicle_detail",
}

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(label=_("对象类型"), required=False,
                                    choices=[("", _("全部")), *OBJECT_TYPES.items()])
    object_id = forms.CharField(label=_("对象编号"), required=False, max_length=64)
    action = forms.ChoiceField(label=_("操作"), required=False, choices=[("", _("全部")), *AuditAction.choices])
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    date_from = forms.DateField(label=_("开始日期"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("结束日期"), required=False, widget=DATE)
