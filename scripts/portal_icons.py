"""Draw the portal's app icons (192 and 512 px PNG) once; the results are committed as static files.

Run: python scripts/portal_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (31, 111, 92, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "linli" / "portal" / "static" / "portal" / "icons"


def draw(size: int) -> Image.Image:
    """A green square (safe for maskable crops) with a white house: roof, body and door."""
    image = Image.new("RGBA", (size, size), BRAND)
    pen = ImageDraw.Draw(image)
    s = size / 100
    pen.polygon([(50 * s, 22 * s), (20 * s, 48 * s), (80 * s, 48 * s)], fill=WHITE)
    pen.rectangle([28 * s, 46 * s, 72 * s, 76 * s], fill=WHITE)
    pen.rectangle([44 * s, 58 * s, 56 * s, 76 * s], fill=BRAND)
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size).save(OUT / f"icon-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
