"""Log-in forms: staff password, and a resident's phone with a one-time code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.accounts.services import CODE_PATTERN
from linli.core.codes import CodeField


class StaffLoginForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, strip=False)


class ResidentPhoneForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)


class ResidentCodeForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)
    code = CodeField(label=_("验证码"), max_length=6, min_length=6, pattern=CODE_PATTERN,
                     invalid_message=_("验证码应为6位数字"))
