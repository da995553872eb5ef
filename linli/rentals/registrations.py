"""The police export of rental registrations (出租房屋登记) as .xlsx or PDF.

The PDF uses reportlab's built-in CID font STSong-Light, which every PDF reader renders without
an embedded font file, so the file stays small and the server needs no font installed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"xlsx": XLSX, "pdf": "application/pdf"}
PDF_FONT = "STSong-Light"


def headers() -> list[str]:
    return [_("房屋地址"), _("出租人"), _("承租人"), _("证件类型"), _("证件号码"), _("联系电话"),
            _("租期开始"), _("租期结束"), _("租赁用途")]


def _cells(row: Any) -> list[str]:
    return [row.address, row.landlord_name, row.tenant_name, row.id_type, row.id_number, row.phone,
            row.lease_start.isoformat(), row.lease_end.isoformat(), row.purpose]


def _title(compound_name: str, since: dt.date | None, until: dt.date | None) -> str:
    window = " ~ ".join(d.isoformat() if d else "" for d in (since, until)) if (since or until) else ""
    return " ".join(p for p in (compound_name, _("出租房屋登记"), window) if p)


def render(fmt: str, compound_name: str, rows: Sequence[Any], *, since: dt.date | None = None,
           until: dt.date | None = None) -> bytes:
    title = _title(compound_name, since, until)
    return _pdf(title, rows) if fmt == "pdf" else _xlsx(title, rows)


def _xlsx(title: str, rows: Sequence[Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("出租房屋登记")
    sheet.append([title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(headers())
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        # ID and phone numbers as text: a spreadsheet would round an 18-digit number.
        sheet.append(_cells(row))
    for column, width in zip("ABCDEFGHI", (40, 10, 10, 14, 22, 14, 12, 12, 8), strict=True):
        sheet.column_dimensions[column].width = width
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _pdf(title: str, rows: Sequence[Any]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    cell = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=8, leading=10)
    heading = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=14, leading=18, spaceAfter=6 * mm)
    data = [[Paragraph(escape(h), cell) for h in headers()]]
    data += [[Paragraph(escape(v), cell) for v in _cells(row)] for row in rows]
    widths = [70 * mm, 20 * mm, 20 * mm, 25 * mm, 40 * mm, 25 * mm, 20 * mm, 20 * mm, 14 * mm]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title)
    doc.build([Paragraph(escape(title), heading), table])
    return out.getvalue()
