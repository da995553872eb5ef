"""Forms for compounds, buildings and houses. Choice lists come from the user's scoped selectors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.people import selectors as people
from linli.people.models import OrganisationKind
from linli.places import selectors as places
from linli.places.models import HouseUse, Occupancy, RegionLevel


class CompoundFilterForm(forms.Form):
    q = forms.CharField(label=_("名称或编码"), required=False)


class CompoundForm(forms.Form):
    community = forms.ModelChoiceField(label=_("所属社区"), queryset=None)
    name = forms.CharField(label=_("小区名称"), max_length=60)
    address = forms.CharField(label=_("地址"), max_length=120, required=False)
    year_built = forms.IntegerField(label=_("建成年份"), required=False, min_value=1900, max_value=2100)
    grid = forms.ModelChoiceField(label=_("网格"), queryset=None, required=False)
    property_company = forms.ModelChoiceField(label=_("物业服务企业"), queryset=None, required=False)

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # The community fixes the compound's code and standard address; it never moves.
            del self.fields["community"]
        else:
            self.fields["community"].queryset = places.regions(user, level=RegionLevel.COMMUNITY)
        self.fields["grid"].queryset = places.grids(user)
        self.fields["property_company"].queryset = people.organisations(
            user, kind=OrganisationKind.PROPERTY_COMPANY
        )


class BuildingFilterForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)
    q = forms.CharField(label=_("楼号或名称"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)


class BuildingForm(forms.Form):
    number = forms.CharField(label=_("楼号"), max_length=10)
    name = forms.CharField(label=_("楼名"), max_length=30, required=False)
    floors_above = forms.IntegerField(label=_("地上层数"), min_value=1, max_value=200)
    floors_below = forms.IntegerField(label=_("地下层数"), min_value=0, max_value=20, initial=0)
    unit_count = forms.IntegerField(label=_("单元数"), min_value=1, max_value=50, initial=1)
    has_elevator = forms.BooleanField(label=_("有电梯"), required=False)
    height_m = forms.DecimalField(label=_("高度（米）"), max_digits=6, decimal_places=2, required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # The number is part of the standard address; the service refuses to change it.
            del self.fields["number"]


class HouseFilterForm(forms.Form):
    q = forms.CharField(label=_("地址或编码"), required=False)
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)
    occupancy = forms.ChoiceField(label=_("居住状态"), required=False,
                                  choices=[("", _("全部")), *Occupancy.choices])
    use = forms.ChoiceField(label=_("用途"), required=False, choices=[("", _("全部")), *HouseUse.choices])

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)


class HouseForm(forms.Form):
    number = forms.CharField(label=_("房号"), max_length=10)
    floor = forms.IntegerField(label=_("楼层"))
    built_area = forms.DecimalField(label=_("建筑面积（㎡）"), max_digits=8, decimal_places=2, min_value=0)
    inner_area = forms.DecimalField(label=_("套内面积（㎡）"), max_digits=8, decimal_places=2, min_value=0,
                                    required=False)
    use = forms.ChoiceField(label=_("用途"), choices=HouseUse.choices, initial=HouseUse.RESIDENTIAL)
    occupancy = forms.ChoiceField(label=_("居住状态"), choices=Occupancy.choices, initial=Occupancy.OWNER_OCCUPIED)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["number"]
