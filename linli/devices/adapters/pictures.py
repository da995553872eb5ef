"""Evidence pictures as devices send them: checked cheaply, kept when they are pictures, flagged when unusable.

A bad picture never costs the message it came with: the event is stored and its evidence entry
says what was wrong (`problem`). Checks stay cheap because a plate read's picture is on the
barrier's path: the end marker and Pillow's header parse (tens of microseconds), no decoding.
"""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from linli.devices.adapters.base import AdapterError, EvidenceFile, evidence_file, read_base64

# Evidence `problem` codes (the entry keeps its `ref` when the bytes are still worth keeping).
NOT_BASE64 = "not_base64"  # the text was not base64: nothing to keep
NOT_A_PICTURE = "not_a_picture"  # neither JPEG nor PNG: nothing to keep
TRUNCATED = "truncated"  # no end marker, or shorter than the length the device declared: kept
UNREADABLE = "unreadable"  # the markers are there but Pillow cannot read the header: kept

JPEG_START, JPEG_END = b"\xff\xd8\xff", b"\xff\xd9"
PNG_START, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"
# Some firmware pads a picture after its end marker (zeros, a line break); more is a cut.
END_SLACK_BYTES = 64


def picture_problem(data: bytes, declared_length: int | None = None) -> tuple[str | None, str]:
    """(problem or None, file extension) for the bytes of one picture."""
    if data.startswith(JPEG_START):
        ext, end = "jpg", JPEG_END
    elif data.startswith(PNG_START):
        ext, end = "png", PNG_END
    else:
        return NOT_A_PICTURE, ""
    if declared_length is not None and len(data) < declared_length:
        return TRUNCATED, ext
    if data.rfind(end, max(0, len(data) - END_SLACK_BYTES - len(end))) < 0:
        return TRUNCATED, ext
    try:
        Image.open(io.BytesIO(data)).close()  # parses the header only; the pixels stay undecoded
    except Exception:  # Pillow raises many kinds for a broken header; each means the same here
        return UNREADABLE, ext
    return None, ext


def picture_evidence(data: bytes, *, at: dt.datetime, field: str,
                     declared_length: int | None = None) -> tuple[dict, EvidenceFile | None]:
    """The evidence entry for a picture and the file to write (None when there is nothing worth keeping)."""
    problem, ext = picture_problem(data, declared_length)
    if problem == NOT_A_PICTURE:
        return {"kind": "image", "field": field, "problem": problem}, None
    ref, file = evidence_file(data, at=at, ext=ext)
    entry = {**ref, "field": field}
    if problem:
        entry["problem"] = problem
    return entry, file


def base64_picture_evidence(encoded: str, *, at: dt.datetime, field: str,
                            declared_length: int | None = None) -> tuple[dict, EvidenceFile | None]:
    """As `picture_evidence`, for a picture a device sent as base64 text."""
    try:
        data = read_base64(encoded, what=field)
    except AdapterError:
        return {"kind": "image", "field": field, "problem": NOT_BASE64}, None
    if declared_length == len(encoded):
        declared_length = None  # some OEM firmware declares the length of the base64 text, not of the picture
    return picture_evidence(data, at=at, field=field, declared_length=declared_length)
