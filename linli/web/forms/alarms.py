"""Forms for the alarm board and alarm pages: filters, dispatch, resolve, comment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.alarms.models import OPEN_STATUSES, AlarmStatus, Severity
from linli.places import selectors as places

ALL = ("", _("全部"))


class AlarmFilterForm(forms.Form):
    """Filters shared by the board (open alarms only) and the history list (every status)."""

    compound = forms.ModelChoiceField(label=_("所属小区"), queryset=None, required=False)
    severity = forms.ChoiceField(label=_("级别"), required=False, choices=[ALL, *Severity.choices])
    type = forms.CharField(label=_("告警类型"), required=False, max_length=40)
    status = forms.ChoiceField(label=_("状态"), required=False)

    def __init__(self, *args, user, open_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = places.compounds(user)
        statuses = [(s.value, s.label) for s in OPEN_STATUSES] if open_only else AlarmStatus.choices
        self.fields["status"].choices = [ALL, *statuses]

    def selection(self) -> dict:
        """The filters as selector arguments; an invalid filter is ignored rather than failing the page."""
        data = self.cleaned_data if self.is_valid() else {}
        compound = data.get("compound")
        return {"compound_id": compound.pk if compound else None, "severity": data.get("severity", ""),
                "type": data.get("type", "").strip(), "status": data.get("status", "")}


class DispatchForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("处置人"), queryset=None,
                                      error_messages={"required": _("请指定处置人"),
                                                      "invalid_choice": _("处置人须为本小区的物业人员")})

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class ResolveForm(forms.Form):
    false_alarm = forms.BooleanField(label=_("误报"), required=False)
    note = forms.CharField(label=_("处置说明"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    text = forms.CharField(label=_("备注"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": _("请填写内容")})
