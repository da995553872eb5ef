"""Forms for organisations, real units (实有单位) and vehicles."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.people import selectors as people
from linli.people.models import OrganisationKind
from linli.people.plates import PlateColour
from linli.places import selectors as places


class SearchForm(forms.Form):
    q = forms.CharField(label=_("名称或信用代码"), required=False)
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(label=_("名称或信用代码"), required=False)
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("全部")), *OrganisationKind.choices])


class OrganisationForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=OrganisationKind.choices)
    name = forms.CharField(label=_("名称"), max_length=100)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=18, required=False)
    region = forms.ModelChoiceField(label=_("所属区划"), queryset=None, required=False)
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False,
                                      help_text=_("业主委员会等只服务一个小区的组织填写"))
    contact_name = forms.CharField(label=_("联系人"), max_length=60, required=False)

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # Where an organisation sits decides who sees it; moving it is not an edit.
            del self.fields["region"], self.fields["compound"]
            return
        self.fields["region"].queryset = places.regions(user)
        self.fields["compound"].queryset = places.compounds(user)


class RealUnitForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None)
    name = forms.CharField(label=_("名称"), max_length=100)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=18)
    business_scope = forms.CharField(label=_("经营范围"), max_length=200, required=False)
    legal_person = forms.CharField(label=_("法定代表人"), max_length=60, required=False)
    employees = forms.IntegerField(label=_("从业人数"), min_value=0, initial=0)

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["compound"]
        else:
            self.fields["compound"].queryset = places.compounds(user)


class VehicleFilterForm(forms.Form):
    plate = forms.CharField(label=_("车牌号"), required=False)
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)


class VehicleForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None)
    plate = forms.CharField(label=_("车牌号"), max_length=10)
    colour = forms.ChoiceField(label=_("号牌颜色"), choices=PlateColour.choices, initial=PlateColour.BLUE)
    owner = forms.ModelChoiceField(label=_("车主"), queryset=None, required=False)
    brand = forms.CharField(label=_("品牌"), max_length=40, required=False)
    active = forms.BooleanField(label=_("有效"), required=False, initial=True)

    def __init__(self, *args, user, house=None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing or house is not None:
            del self.fields["compound"]
        else:
            self.fields["compound"].queryset = places.compounds(user)
        if house is None:
            # An owner is chosen among a household's residents; without a house there is no short list.
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = people.persons(user, house_id=house.pk)
