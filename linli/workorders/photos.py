"""Work-order photos (工单照片): what a resident or technician uploads, checked and cleaned before it is kept.

Every photo is opened and verified by Pillow (JPEG, PNG and WebP only), turned upright by its EXIF
orientation, shrunk to at most 2048 px and re-encoded as a JPEG without any metadata: a phone's
GPS position (where the resident lives) never reaches the store. The result is kept in the media
store under `workorders/<compound id>/<yyyy-mm>/<uuid>.jpg`; reports and completions name it.
"""

from __future__ import annotations

import io
import uuid
import warnings
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import Forbidden, NotFound
from linli.core.services import compounds_where, field_error

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
JPEG_QUALITY = 85
FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# Larger than any phone camera; beyond this Pillow's decompression-bomb guard refuses the file.
MAX_PIXELS = 80_000_000


def prefix(compound_id: int) -> str:
    """Where the photos of one compound live; a report or completion may name only these."""
    return f"workorders/{int(compound_id)}/"


def store_photo(*, actor: Any, compound_id: int, content: bytes, filename: str = "") -> str:
    """Check, clean and store one photo for an order of `compound_id`; returns its media reference.

    The actor must be able to report (add) or work (change) orders in that compound; a resident
    only in a compound they live in. `filename` is the uploader's name for it, used for nothing
    but kept out of the reference (it may carry personal text)."""
    _require_photo_rights(actor, compound_id)
    if not content:
        raise field_error("photo", _("请选择照片"))
    if len(content) > MAX_UPLOAD_BYTES:
        raise field_error("photo", _("照片不能超过10MB"))
    data = clean_jpeg(content)
    from linli.events import media

    month = timezone.localtime().strftime("%Y-%m")
    ref = f"{prefix(compound_id)}{month}/{uuid.uuid4().hex}.jpg"
    media.save(ref, data)
    return ref


def _require_photo_rights(actor: Any, compound_id: int) -> None:
    from linli.places.models import Compound

    if not Compound.objects.restrict(actor, "view").filter(pk=compound_id).exists():
        raise NotFound("compound")
    where = compounds_where(actor, "workorders.add_workorder") | compounds_where(actor, "workorders.change_workorder")
    if not Compound.objects.filter(where, pk=compound_id).exists():
        raise Forbidden(_("无权在此小区上传工单照片"))


def clean_jpeg(content: bytes) -> bytes:
    """The photo upright, at most MAX_SIDE px, as a JPEG with no EXIF, XMP, ICC or comment."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    bad = field_error("photo", _("只能上传JPEG、PNG或WebP格式的照片"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                if probe.format not in FORMATS or probe.width * probe.height > MAX_PIXELS:
                    raise bad
                probe.verify()
            # verify() leaves the image unusable: open it again to decode.
            with Image.open(io.BytesIO(content)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise bad from exc
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = upright.convert("RGB")
    flat.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A fresh image carries only pixels: nothing of the original's info (EXIF, ICC, XMP) can follow.
    bare = Image.new("RGB", flat.size)
    bare.paste(flat)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
