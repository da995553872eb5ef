"""Work-order photos (工单照片): what a resident or technician uploads, checked and cleaned before it is kept.

Every photo is opened and verified by Pillow (JPEG, PNG and WebP only), turned upright by its EXIF
orientation, shrunk to at most 2048 px and re-encoded as a JPEG without any metadata: a phone's
GPS position (where the resident lives) never reaches the store. The result is kept in the media
store under `workorders/<compound id>/<yyyy-mm>/u<uploader id>-<uuid>.jpg`; reports and completions
name it, and `attachable` lets a resident name only their own uploads.
"""

from __future__ import annotations

import io
import re
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
# The uploader is part of the name: a reference cannot be made someone else's without naming another file.
_UPLOADED = re.compile(r"^workorders/\d+/\d{4}-\d{2}/u(?P<uploader>\d+)-[0-9a-f]{32}\.jpg$")


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
    ref = f"{prefix(compound_id)}{month}/u{int(actor.pk)}-{uuid.uuid4().hex}.jpg"
    media.save(ref, data)
    return ref


def _require_photo_rights(actor: Any, compound_id: int) -> None:
    from linli.places.models import Compound

    if not Compound.objects.restrict(actor, "view").filter(pk=compound_id).exists():
        raise NotFound("compound")
    if not _works_orders_in(actor, compound_id):
        raise Forbidden(_("无权在此小区上传工单照片"))


def _works_orders_in(actor: Any, compound_id: int) -> bool:
    """Does `actor` report (add) or work (change) orders in the compound?"""
    from linli.places.models import Compound

    where = compounds_where(actor, "workorders.add_workorder") | compounds_where(actor, "workorders.change_workorder")
    return Compound.objects.filter(where, pk=compound_id).exists()


def uploader_of(ref: str) -> int | None:
    """The id of the user who uploaded the photo under `ref`; None for references of older names."""
    match = _UPLOADED.match(ref)
    return int(match["uploader"]) if match else None


def attachable(*, actor: Any, compound_id: int, refs: list[str] | tuple[str, ...]) -> list[str]:
    """The references `actor` may attach to an order of `compound_id`: photos stored for this compound
    that a resident uploaded themselves, or, for staff, any photo of a compound where they report or
    work orders. Another's photo is refused exactly like one never uploaded, naming `photos`, so a
    reference tells nobody whose it is."""
    from linli.events import media

    refs = list(refs or [])
    if not refs:
        return refs
    staff = getattr(actor, "kind", "") != "resident" and _works_orders_in(actor, compound_id)
    storage = media.media_storage()
    for ref in refs:
        try:
            media.check_ref(ref)
        except ValueError as exc:
            raise field_error("photos", _("照片引用无效")) from exc
        # Only this compound's photos: an order must not be a window onto another compound's pictures.
        if not ref.startswith(prefix(compound_id)):
            raise field_error("photos", _("照片引用无效"))
        owned = staff or uploader_of(ref) == getattr(actor, "pk", None)
        if not owned or not storage.exists(ref):
            raise field_error("photos", _("照片尚未上传"))
    return refs


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
