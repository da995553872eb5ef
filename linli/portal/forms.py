"""Forms of the resident portal and of the console's binding review."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from linli.people.identity import IdType
from linli.people.models import ResidencyRole
from linli.portal import selectors
from linli.portal.models import CLAIMABLE_ROLES
from linli.portal.services import FAMILY_ROLES


def _role_choices(roles: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [(r.value, r.label) for r in ResidencyRole if r in roles]


def _int(value: Any) -> int | None:
    value = str(value or "")
    # ASCII only: str.isdigit() also passes "²", which int() refuses.
    return int(value) if value.isascii() and value.isdigit() else None


class BindingForm(forms.Form):
    """Name, house picked down the place tree (each choice narrows the next), claimed role, ID, consent.

    The choices of each level come from the level picked above, read from the submitted data, so the
    page works as a plain form: changing a level re-renders the form with the next level filled in.
    """

    name = forms.CharField(label=_("姓名"), max_length=60)
    compound = forms.TypedChoiceField(label=_("小区"), coerce=int)
    building = forms.TypedChoiceField(label=_("楼栋"), coerce=int)
    unit = forms.TypedChoiceField(label=_("单元"), coerce=int)
    house = forms.TypedChoiceField(label=_("房屋"), coerce=int)
    role = forms.ChoiceField(label=_("身份"), choices=_role_choices(CLAIMABLE_ROLES))
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices, initial=IdType.MAINLAND_ID)
    id_number = forms.CharField(label=_("证件号码"), max_length=30, required=False,
                                help_text=_("选填；首次登记时物业会当面核对证件"))
    privacy = forms.BooleanField(label=_("我已阅读并同意隐私说明：手机号和证件号加密保存，仅用于核实身份和物业服务"))

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else {}
        compound = _int(data.get(self.add_prefix("compound")))
        building = _int(data.get(self.add_prefix("building")))
        unit = _int(data.get(self.add_prefix("unit")))
        blank = [("", "—")]
        compounds = [(c.pk, c.name) for c in selectors.bindable_compounds()]
        # A level changed above leaves a stale choice below: it no longer narrows anything.
        compound = compound if compound in {pk for pk, _ in compounds} else None
        buildings = [(b.pk, str(b)) for b in selectors.bindable_buildings(compound)]
        building = building if building in {pk for pk, _ in buildings} else None
        units = [(u.pk, str(u)) for u in selectors.bindable_units(building)]
        unit = unit if unit in {pk for pk, _ in units} else None
        self.fields["compound"].choices = blank + compounds
        self.fields["building"].choices = blank + buildings
        self.fields["unit"].choices = blank + units
        self.fields["house"].choices = blank + [(h.pk, h.number) for h in selectors.bindable_houses(unit)]

    @property
    def chain(self) -> list[forms.BoundField]:
        """The place levels in order, each narrowing the next."""
        return [self[name] for name in ("compound", "building", "unit", "house")]


class FamilyMemberForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=60)
    phone = forms.CharField(label=_("手机号"), max_length=20)
    role = forms.ChoiceField(label=_("关系"), choices=_role_choices(FAMILY_ROLES))
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices, initial=IdType.MAINLAND_ID)
    id_number = forms.CharField(label=_("证件号码"), max_length=30, required=False,
                                help_text=_("首次登记的成员须填写"))


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("语言"), choices=settings.LANGUAGES)


class ApproveBindingForm(forms.Form):
    id_number = forms.CharField(label=_("证件号码"), max_length=30, required=False,
                                help_text=_("申请人尚未登记且未填写证件号时，核对证件后填写"))


class RejectBindingForm(forms.Form):
    reason = forms.CharField(label=_("驳回原因"), max_length=200)
