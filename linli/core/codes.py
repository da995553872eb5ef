"""Codes people type (parcel pickup codes, visitor invitation codes, one-time SMS codes, tracking and
house numbers at the booth) read alike however they were typed.

Chinese input methods give full-width digits and letters (１２３４５６, ＳＦ): NFKC turns them into
ASCII, and spaces (the ideographic one too) are dropped, so "１２３ ４５６" reads "123456". What is
still not printable ASCII afterwards can never be a code and is refused naming the field, before
anything compares it (`hmac.compare_digest` raises TypeError on non-ASCII text).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from pydantic import BeforeValidator

INVALID_CODE = "invalid_code"  # the error code of a code that is not plain ASCII or not of its pattern
MALFORMED = _("格式不正确")

_SPACES = re.compile(r"\s+")
_PRINTABLE_ASCII = re.compile(r"[!-~]*")


def normalise_code(value: Any) -> str:
    """`value` as NFKC text without any whitespace; not checked (see `clean_code`)."""
    if value is None:
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))


def is_malformed(code: str, pattern: str | re.Pattern[str] | None = None) -> bool:
    """A normalised code that is not printable ASCII, or not empty and not of `pattern`."""
    if not _PRINTABLE_ASCII.fullmatch(code):
        return True
    return bool(code) and pattern is not None and re.fullmatch(pattern, code) is None


def clean_code(value: Any, *, field: str, pattern: str | re.Pattern[str] | None = None, upper: bool = False,
               message: Any = None) -> str:
    """The normalised code (upper-cased if asked; empty when nothing was typed), or a ValidationError
    naming `field` when it is malformed. Services call this on every typed code they receive."""
    code = normalise_code(value)
    if upper:
        code = code.upper()
    if is_malformed(code, pattern):
        raise ValidationError({field: [ValidationError(message or MALFORMED, code=INVALID_CODE)]})
    return code


# The API's request schemas: the code is normalised before its length or pattern is checked.
TypedCode = Annotated[str, BeforeValidator(normalise_code)]


class CodeField(forms.CharField):
    """A form field for a typed code: normalised before the length checks, malformed ones a form error."""

    def __init__(self, *, pattern: str | None = None, upper: bool = False, invalid_message: Any = None,
                 **kwargs: Any):
        self.pattern, self.upper, self.invalid_message = pattern, upper, invalid_message or MALFORMED
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        code = normalise_code(super().to_python(value))
        return code.upper() if self.upper else code

    def validate(self, value: Any) -> None:
        super().validate(value)
        if is_malformed(value, self.pattern):
            raise ValidationError(self.invalid_message, code=INVALID_CODE)
