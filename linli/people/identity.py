"""Identity documents and codes: GB 11643 citizen ID numbers, travel permits, passports,
and GB 32100 unified social credit codes. Each check returns the normalised value or raises."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdType(models.TextChoices):
    MAINLAND_ID = "mainland_id", _("居民身份证")
    PASSPORT = "passport", _("护照")
    HK_MACAU_PERMIT = "hk_macau_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证")


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def mainland_id_check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def birth_date_from_id(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def validate_mainland_id(raw: str) -> str:
    value = raw.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValidationError(_("身份证号应为18位，最后一位可为X"), code="id_format")
    try:
        birth = birth_date_from_id(value)
    except ValueError as exc:
        raise ValidationError(_("身份证号中的出生日期无效"), code="id_birth_date") from exc
    if birth.year < 1900 or birth > dt.date.today():  # noqa: DTZ011 - a calendar date, zone irrelevant
        raise ValidationError(_("身份证号中的出生日期无效"), code="id_birth_date")
    if mainland_id_check_char(value[:17]) != value[17]:
        raise ValidationError(_("身份证号校验位错误"), code="id_checksum")
    return value


_PATTERNS = {
    IdType.PASSPORT: (r"[A-Z0-9]{5,17}", _("护照号码格式错误")),
    # 港澳居民来往内地通行证: H or M followed by 8 or 10 digits.
    IdType.HK_MACAU_PERMIT: (r"[HM]\d{8}(\d{2})?", _("港澳通行证号码格式错误")),
    # 台湾居民来往大陆通行证: 8 digits (older 10-digit numbers still circulate).
    IdType.TAIWAN_PERMIT: (r"\d{8}(\d{2})?", _("台胞证号码格式错误")),
    IdType.FOREIGN_PERMANENT: (r"[A-Z]{3}\d{12}|9\d{17}", _("永久居留身份证号码格式错误")),
}


def validate_id_number(id_type: str, raw: str) -> str:
    if id_type == IdType.MAINLAND_ID:
        return validate_mainland_id(raw)
    if id_type not in _PATTERNS:
        raise ValidationError(_("未知的证件类型"), code="id_type")
    pattern, message = _PATTERNS[IdType(id_type)]
    value = raw.strip().upper().replace(" ", "")
    if not re.fullmatch(pattern, value):
        raise ValidationError(message, code="id_format")
    return value


def validate_mobile(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw.strip())
    if value.startswith("+86"):
        value = value[3:]
    if not re.fullmatch(r"1[3-9]\d{9}", value):
        raise ValidationError(_("手机号码应为11位，以1开头"), code="phone_format")
    return value


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> str:
    """统一社会信用代码 (GB 32100): 18 characters, last one a MOD 31 check."""
    value = raw.strip().upper()
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value):
        raise ValidationError(_("统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）"), code="uscc_format")
    if uscc_check_char(value[:17]) != value[17]:
        raise ValidationError(_("统一社会信用代码校验位错误"), code="uscc_checksum")
    return value
