"""Licence plates per GA 36: ordinary 7-character plates and 8-character new-energy plates."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Letters used after the province: I and O are never issued.
_LETTER = "A-HJ-NP-Z"
_SERIAL = "A-HJ-NP-Z0-9"

_ORDINARY = re.compile(rf"[{PROVINCES}][{_LETTER}][{_SERIAL}]{{4}}[{_SERIAL}挂学警港澳领试超]")
# New energy: small cars D/F (+A-HJ-K letter) then 5 digits / large vehicles 5 digits then D/F.
_NEW_ENERGY = re.compile(
    rf"[{PROVINCES}][{_LETTER}](?:[DFA-HJK][{_SERIAL}]\d{{4}}|\d{{5}}[DFA-HJK])"
)
_EMBASSY = re.compile(r"使\d{6}|\d{6}使")
_ARMED_POLICE = re.compile(r"WJ[" + PROVINCES + r"]?\d{4}[\dXBTSHJD]")


class PlateColour(models.TextChoices):
    BLUE = "blue", _("蓝牌")
    YELLOW = "yellow", _("黄牌")
    GREEN = "green", _("绿牌（新能源）")
    YELLOW_GREEN = "yellow_green", _("黄绿牌（新能源大车）")
    WHITE = "white", _("白牌")
    BLACK = "black", _("黑牌")


def normalise_plate(raw: str) -> str:
    return re.sub(r"[\s·•\-]", "", raw.strip().upper())


def validate_plate(raw: str) -> str:
    plate = normalise_plate(raw)
    if len(plate) == 8 and _NEW_ENERGY.fullmatch(plate):
        return plate
    if len(plate) == 7 and _ORDINARY.fullmatch(plate):
        return plate
    if _EMBASSY.fullmatch(plate) or _ARMED_POLICE.fullmatch(plate):
        return plate
    raise ValidationError(_("车牌号格式不符合GA 36：%(plate)s"), code="plate_format", params={"plate": plate})


def plate_is_new_energy(plate: str) -> bool:
    return len(plate) == 8
