"""Forms for persons and residencies. ID and phone inputs are never pre-filled with clear values."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.people.identity import IdType
from linli.people.models import CareTag, Gender, PopulationType, ResidencyRole
from linli.places import selectors as places

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SealedInput(forms.TextInput):
    """A text box that never writes its value back into the page, so a clear ID or phone
    number typed into a refused form is not echoed into HTML, caches or screenshots."""

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


class PersonFilterForm(forms.Form):
    """Filters that may sit in a URL: nothing here identifies a person on its own."""

    q = forms.CharField(label=_("姓名"), required=False)
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)
    care_tag = forms.ChoiceField(label=_("关怀标签"), required=False, choices=[("", _("全部")), *CareTag.choices])
    population_type = forms.ChoiceField(label=_("人口类型"), required=False,
                                        choices=[("", _("全部")), *PopulationType.choices])

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)


class PersonLookupForm(forms.Form):
    """Exact search by ID or phone. Posted, never in a URL, so numbers stay out of logs and history."""

    id_number = forms.CharField(label=_("证件号码"), required=False, max_length=30, widget=SealedInput)
    phone = forms.CharField(label=_("手机号"), required=False, max_length=20, widget=SealedInput)

    def clean(self):
        data = super().clean()
        if not data.get("id_number") and not data.get("phone"):
            raise forms.ValidationError(_("请输入证件号码或手机号"))
        return data


class PersonForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None)
    name = forms.CharField(label=_("姓名"), max_length=60)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices, initial=IdType.MAINLAND_ID)
    id_number = forms.CharField(label=_("证件号码"), max_length=30, widget=SealedInput)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False, widget=SealedInput)
    clear_phone = forms.BooleanField(label=_("清除手机号"), required=False)
    gender = forms.ChoiceField(label=_("性别"), choices=Gender.choices, initial=Gender.UNKNOWN,
                               help_text=_("居民身份证号已含性别和出生日期，以证件为准"))
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=DATE)
    population_type = forms.ChoiceField(label=_("人口类型"), choices=PopulationType.choices,
                                        initial=PopulationType.REGISTERED)
    care_tags = forms.MultipleChoiceField(label=_("关怀标签"), choices=CareTag.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    ethnicity = forms.CharField(label=_("民族"), max_length=20, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, user, person=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person
        if person is None:
            self.fields["compound"].queryset = places.compounds(user)
            del self.fields["clear_phone"]
            return
        # Editing: the record stays in its compound; blank ID / phone inputs keep the stored values.
        del self.fields["compound"]
        self.fields["id_number"].required = False
        self.fields["id_number"].widget.attrs["placeholder"] = person.id_masked
        self.fields["id_number"].help_text = _("留空则不修改")
        self.fields["phone"].widget.attrs["placeholder"] = person.phone_masked
        self.fields["phone"].help_text = _("留空则不修改")

    def service_arguments(self) -> dict:
        """Cleaned data shaped for create_person / update_person."""
        data = dict(self.cleaned_data)
        if data["id_type"] == IdType.MAINLAND_ID:
            # The service reads both from the ID number; sending form values would overwrite them.
            data.pop("gender")
            data.pop("birth_date")
        if self.person is None:
            return data
        if not data["id_number"]:
            data["id_number"] = None
        clear_phone = data.pop("clear_phone", False)
        if clear_phone:
            data["phone"] = ""
        elif not data["phone"]:
            data["phone"] = None
        if data["id_type"] == self.person.id_type and data["id_number"] is None:
            data.pop("id_type")
        return data


class ResidencyForm(forms.Form):
    id_number = forms.CharField(label=_("人员证件号码"), max_length=30, widget=SealedInput,
                                help_text=_("按证件号码精确查找已登记的人员"))
    role = forms.ChoiceField(label=_("居住关系"), choices=ResidencyRole.choices)
    since = forms.DateField(label=_("开始日期"), widget=DATE, initial=timezone.localdate)


class EndResidencyForm(forms.Form):
    residency = forms.IntegerField(widget=forms.HiddenInput)
    until = forms.DateField(label=_("结束日期"), widget=DATE, initial=timezone.localdate)
