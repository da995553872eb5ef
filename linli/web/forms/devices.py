"""Forms for devices, their credentials and commands, the health page and the event log.

Choice lists come from the user's scoped selectors; a building or unit is named by its standard
address so two compounds' "3号楼" cannot be confused.
"""

from __future__ import annotations

import json

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from linli.devices import selectors as devices
from linli.devices.commands import MAX_TTL_S
from linli.devices.models import CredentialKind, DeviceKind, Lifecycle
from linli.events import types
from linli.places import selectors as places

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

# Event types as people read them; the stored code is shown where a type has no name here.
EVENT_TYPE_LABELS = {
    types.HEARTBEAT: _("心跳"),
    types.STATUS: _("设备状态"),
    types.TELEMETRY: _("遥测数据"),
    types.PLATE_READ: _("车牌识别"),
    types.SPACE_OCCUPANCY: _("车位占用"),
    types.DOOR_ACCESS: _("门禁通行"),
    types.SMOKE_ALARM: _("烟雾报警"),
    types.GAS_ALARM: _("燃气报警"),
    types.INTRUSION: _("周界入侵"),
    types.WATER_READING: _("水表读数"),
    types.ELEVATOR_ENTRAPMENT: _("电梯困人"),
    types.ELEVATOR_EBIKE: _("电动车进电梯"),
    types.ELEVATOR_FIGHT: _("电梯内打斗"),
    types.COMMAND_ACK: _("指令回执"),
    types.CONNECTIVITY: _("上下线"),
}


class BuildingChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.standard_address or str(obj)


class DeviceFilterForm(forms.Form):
    q = forms.CharField(label=_("编码、名称或序列号"), required=False)
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)
    kind = forms.ChoiceField(label=_("设备类别"), required=False, choices=[("", _("全部")), *DeviceKind.choices])
    lifecycle = forms.ChoiceField(label=_("设备状态"), required=False, choices=[("", _("全部")), *Lifecycle.choices])
    online = forms.ChoiceField(label=_("在线状态"), required=False,
                               choices=[("", _("全部")), ("online", _("在线")), ("offline", _("离线"))])

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)


class DeviceForm(forms.Form):
    """Register a device (all fields) or edit one (name and placement: type and serial never change)."""

    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None)
    device_type = forms.ModelChoiceField(label=_("设备型号"), queryset=None)
    serial = forms.CharField(label=_("序列号"), max_length=64)
    code = forms.CharField(label=_("设备编码"), max_length=64, required=False,
                           validators=[RegexValidator(r"^[a-z0-9-]*$", _("只能包含小写字母、数字和连字符"))],
                           help_text=_("用于接入主题和地址；不填则由小区编码、型号和序列号生成"))
    name = forms.CharField(label=_("设备名称"), max_length=60)
    building = BuildingChoice(label=_("所属楼栋"), queryset=None, required=False)
    unit = BuildingChoice(label=_("所属单元"), queryset=None, required=False)
    floor = forms.IntegerField(label=_("楼层"), required=False, min_value=-10, max_value=200)
    x_m = forms.FloatField(label=_("平面位置 X（米）"), required=False)
    y_m = forms.FloatField(label=_("平面位置 Y（米）"), required=False)

    def __init__(self, *args, user, compound=None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("compound", "device_type", "serial", "code"):
                del self.fields[name]
        else:
            self.fields["compound"].queryset = places.compounds(user)
            self.fields["device_type"].queryset = devices.device_types(user)
        # Placement choices: the chosen compound's buildings and units, else every one in reach.
        compound_id = compound.pk if compound is not None else None
        if compound_id is None and self.is_bound and str(self.data.get("compound", "")).isdigit():
            compound_id = int(self.data["compound"])
        self.fields["building"].queryset = places.buildings(user, compound_id=compound_id)
        units = places.units(user)
        self.fields["unit"].queryset = units.filter(compound_id=compound_id) if compound_id else units


class LifecycleForm(forms.Form):
    lifecycle = forms.ChoiceField(label=_("设备状态"), choices=Lifecycle.choices)


class CredentialForm(forms.Form):
    kind = forms.ChoiceField(label=_("凭据类型"), choices=CredentialKind.choices)


class CommandForm(forms.Form):
    name = forms.ChoiceField(label=_("指令"), choices=())
    params = forms.CharField(label=_("参数（JSON）"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("例如 {\"text\": \"请勿占用消防通道\"}；不需要参数时留空"))
    ttl_s = forms.IntegerField(label=_("有效期（秒）"), min_value=1, max_value=MAX_TTL_S, initial=60,
                               help_text=_("超过有效期仍未下发的指令不再下发"))

    def __init__(self, *args, capabilities: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = [(c, c) for c in capabilities]

    def clean_params(self) -> dict:
        text = self.cleaned_data["params"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("参数应为JSON对象")) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("参数应为JSON对象"))
        return value


class HealthFilterForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False,
                                      empty_label=_("全部可见小区"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)


class EventFilterForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)
    type = forms.ChoiceField(label=_("事件类型"), required=False)
    device = forms.CharField(label=_("设备编码"), required=False, max_length=64)
    since = forms.DateTimeField(label=_("开始时间"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS)
    until = forms.DateTimeField(label=_("结束时间"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)
        self.fields["type"].choices = [("", _("全部")),
                                       *sorted(((t, EVENT_TYPE_LABELS.get(t, t)) for t in types.ALL),
                                               key=lambda c: c[0])]


class DeadLetterFilterForm(forms.Form):
    source = forms.CharField(label=_("来源"), required=False, max_length=40,
                             help_text=_("如 http:alarm_info_plate、mqtt"))
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)
