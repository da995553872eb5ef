"""A code typed with a Chinese input method (full-width digits and letters, spaces between groups)
reads as the ASCII code; anything that still is not plain ASCII is refused naming the field."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from pydantic import BaseModel, Field

from linli.core.codes import INVALID_CODE, CodeField, TypedCode, clean_code, normalise_code


@pytest.mark.parametrize(("typed", "read"), [
    ("１２３４５６", "123456"),
    ("１２３\u3000４５６", "123456"),  # an ideographic space between the groups
    (" 12 34\t56\n", "123456"),
    ("ＳＦ１２３４－５６", "SF1234-56"),
    ("Ab_c-9", "Ab_c-9"),  # case is kept: visitor codes are case-sensitive
    (None, ""),
    (123456, "123456"),
])
def test_full_width_digits_letters_and_spaces_read_as_the_ascii_code(typed, read):
    assert normalise_code(typed) == read
    assert clean_code(typed, field="code") == read


@pytest.mark.parametrize("typed", ["一二三四五六", "12345６７é", "١٢٣٤٥٦", "12\x0034"])
def test_what_is_not_plain_ascii_after_normalising_is_refused_naming_the_field(typed):
    with pytest.raises(ValidationError) as refused:
        clean_code(typed, field="pickup_code")
    assert list(refused.value.message_dict) == ["pickup_code"]
    assert refused.value.error_dict["pickup_code"][0].code == INVALID_CODE


def test_a_pattern_and_upper_casing_apply_to_the_normalised_code():
    assert clean_code("ｓｆ１２", field="tracking_no", upper=True, pattern=r"[0-9A-Z]+") == "SF12"
    assert clean_code("", field="code", pattern=r"[0-9]{6}") == ""  # nothing typed: the caller decides
    with pytest.raises(ValidationError, match="六位"):
        clean_code("１２３", field="code", pattern=r"[0-9]{6}", message="六位数字")


class _CodeForm(forms.Form):
    code = CodeField(max_length=6, min_length=6, pattern=r"[0-9]{6}")


def test_the_form_field_normalises_before_its_length_checks_and_refuses_the_rest_as_a_form_error():
    form = _CodeForm({"code": "１２３ ４５６"})
    assert form.is_valid() and form.cleaned_data["code"] == "123456"
    for typed in ("一二三四五六", "abcdef"):
        form = _CodeForm({"code": typed})
        assert not form.is_valid() and "code" in form.errors


class _CodeIn(BaseModel):
    code: TypedCode = Field(pattern=r"^[0-9]{6}$")


def test_an_api_schema_sees_the_normalised_code():
    assert _CodeIn(code="１２３ ４５６").code == "123456"
    with pytest.raises(ValueError, match="pattern"):
        _CodeIn(code="١٢٣٤٥٦")
