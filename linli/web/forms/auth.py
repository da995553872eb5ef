"""Log-in forms: staff password, and a resident's phone with a one-time code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class StaffLoginForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, strip=False)


class ResidentPhoneForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)


class ResidentCodeForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)
    code = forms.CharField(label=_("验证码"), max_length=6, min_length=6)
