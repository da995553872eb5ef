"""The invitation code as a QR code, drawn as inline SVG (no image files, no network)."""

from __future__ import annotations

import segno


def qr_svg(code: str, *, scale: int = 4) -> str:
    """An `<svg>` element for `code`, ready to put into a page; medium error correction so a
    scratched phone screen still reads."""
    return segno.make(code, error="m", micro=False).svg_inline(scale=scale, title="visitor pass")
