"""A correlation-table PDF from LibreOffice Calc: an .xlsx made with openpyxl, converted headless.

    render(layout_for(2), Path("out.pdf"))

One sheet: an optional title row, one or two header rows (volume names merged over their labels)
printed again on every page (print titles), then a row per truth row with 記載箇所 and 備考 cells
merged down the rows they span. Every cell wraps its text, sits at the top, and has a thin rule on all
four sides. The page is landscape A3 or A4, scaled to fit the width, with optional page numbers.
Line breaking and pagination are Calc's own.

Calc has no cell padding in .xlsx (``layout.padding`` of 3.5 pt or more gives a left indent), and
LibreOffice does not size rows to their wrapped text when it opens an .xlsx: each row gets an explicit
height estimated from the text length and the column width (a row height only: the lines are broken by
Calc), rows under a merged cell growing when it needs more than the rows it spans. Calc never breaks a
row across pages, so a layout whose tallest row would not fit on a page is printed smaller (``_scale``).

What Calc does with this table, unlike Writer: a merged cell that crosses a page break is left open at
the foot of the page (no rule under it) and its text is not repeated on the next page (where it is
drawn off the page, above its top edge, clipped); lines are broken without the Japanese rules (a line
may start with 、。・ー). Nothing here imports ``pipeline``.
"""

from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from .layout import HEADER_LABELS, HEADER_VOLUMES, TITLE, Layout, covered, spans, table
from .libreoffice import office_pdf

MARGIN_IN = 0.5  # page margins, inches
CHAR_MM = 2.50  # one unit of an .xlsx column width as LibreOffice Calc prints it (measured), mm
FILL = 0.97  # the table's share of the printable width before any scaling
PAPER = {"A3": 8, "A4": 9}
RULE = Side(style="thin", color="000000")
BOX = Border(left=RULE, right=RULE, top=RULE, bottom=RULE)


def render(layout: Layout, path: Path) -> Path:
    """Write the layout's table as a PDF made by LibreOffice Calc at ``path``; return ``path``."""
    return office_pdf(workbook(layout), ".xlsx", Path(path))


def workbook(layout: Layout) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = TITLE
    cells = table(layout)
    font = Font(name=layout.font_name, size=layout.font_size)
    bold = Font(name=layout.font_name, size=layout.font_size, bold=True)
    indent = 1 if layout.padding >= 3.5 else 0
    body = Alignment(wrap_text=True, vertical="top", indent=indent)
    head = Alignment(wrap_text=True, vertical="center", horizontal="center")

    widths = _widths(layout, _scale(layout, cells))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width

    row = 1
    if layout.title:
        sheet.cell(row, 1, TITLE).font = Font(name=layout.font_name, size=layout.font_size + 2, bold=True)
        sheet.cell(row, 1).alignment = Alignment(horizontal="center", vertical="center")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
        sheet.row_dimensions[row].height = _line(layout.font_size + 2) * 1.6
        row += 1

    first_head = row
    if layout.header_levels == 2:
        column = 1
        for name, count in HEADER_VOLUMES:
            for n in range(count):
                _put(sheet, row, column + n, name if n == 0 else None, bold, head)
            sheet.merge_cells(start_row=row, start_column=column, end_row=row, end_column=column + count - 1)
            column += count
        sheet.row_dimensions[row].height = _line(layout.font_size) + 4
        row += 1
    for column, label in enumerate(HEADER_LABELS, start=1):
        _put(sheet, row, column, label, bold, head)
    sheet.row_dimensions[row].height = _line(layout.font_size) + 4
    sheet.print_title_rows = f"{first_head}:{row}"
    row += 1

    top = row
    hidden = covered(cells)
    for r, texts in enumerate(cells):
        for c, text in enumerate(texts):
            _put(sheet, top + r, c + 1, None if (r, c) in hidden or not text else text, font, body)
    for (r, c), count in sorted(spans(cells).items()):
        sheet.merge_cells(start_row=top + r, start_column=c + 1, end_row=top + r + count - 1, end_column=c + 1)
    for r, height in enumerate(_heights(layout, cells, widths)):
        sheet.row_dimensions[top + r].height = height

    setup = sheet.page_setup
    setup.orientation = "landscape"
    setup.paperSize = PAPER[layout.page]
    setup.fitToWidth, setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins = PageMargins(left=MARGIN_IN, right=MARGIN_IN, top=MARGIN_IN, bottom=MARGIN_IN + 0.1,
                                     header=0.2, footer=0.25)
    if layout.footer:
        sheet.oddFooter.center.text = "- &P -"
        sheet.oddFooter.center.size = layout.font_size
        sheet.oddFooter.center.font = layout.font_name
    return book


def _put(sheet, row: int, column: int, value, font: Font, alignment: Alignment) -> None:
    cell = sheet.cell(row, column)
    if value is not None:
        cell.value = value
    cell.font, cell.alignment, cell.border = font, alignment, BOX


def _widths(layout: Layout, scale: float = 1.0) -> list[float]:
    """Column widths in .xlsx units, in the layout's proportions, filling the printable width when
    printed at ``scale`` (fit to width shrinks a sheet wider than the page)."""
    printable_mm = layout.page_mm[0] - 2 * MARGIN_IN * 25.4
    total = sum(layout.widths)
    return [round(printable_mm * FILL * w / total / CHAR_MM / scale, 2) for w in layout.widths]


def _scale(layout: Layout, cells: list[list[str]]) -> float:
    """The print scale at which the tallest row fits on a page under the repeated header rows: 1 if it
    already does. Calc never breaks a row across pages (a taller one is cut off at the page's foot),
    so a layout whose tallest row is taller than a page is printed smaller, as a Calc user would."""
    usable_pt = (layout.page_mm[1] - 25.4 * (2 * MARGIN_IN + 0.1) - 10) * 72 / 25.4  # margins, footer
    head_pt = layout.header_levels * (_line(layout.font_size) + 4)
    scale = 1.0
    while scale > 0.5:
        printed = min(1.0, math.floor(100 * scale / FILL + 1e-9) / 100)  # Calc's whole-percent zoom
        if max(_heights(layout, cells, _widths(layout, scale))) + head_pt <= usable_pt / printed:
            return scale
        scale = round(scale - 0.01, 2)
    return scale


def _line(size: float) -> float:
    """The height of one line of text, pt."""
    return size * 1.05  # IPA fonts: ascent + descent = 1 em; Calc adds no leading


def _lines(text: str, width_units: float, layout: Layout) -> int:
    """How many lines a cell's text needs at most (an estimate for the row height, not a layout):
    full-width characters count 1, others 1/2, each paragraph rounded up, with a little slack."""
    inner_pt = width_units * CHAR_MM * 72 / 25.4 - 6 - (12 if layout.padding >= 3.5 else 0)
    per_line = max(1.0, inner_pt / layout.font_size)
    count = 0
    for paragraph in text.split("\n"):
        ems = sum(1.0 if ord(ch) > 0x2E7F or 0xFF01 <= ord(ch) <= 0xFF60 else 0.55 for ch in paragraph)
        count += max(1, math.ceil(ems * 1.06 / per_line))
    return count


def _heights(layout: Layout, cells: list[list[str]], widths: list[float]) -> list[float]:
    """Each body row's height, pt: its tallest own cell; then rows under a taller merged cell grow evenly."""
    line = _line(layout.font_size)
    hidden = covered(cells)
    spanned = spans(cells)
    heights = []
    for r, texts in enumerate(cells):
        tallest = 1
        for c, text in enumerate(texts):
            if text and (r, c) not in hidden and (r, c) not in spanned:
                tallest = max(tallest, _lines(text, widths[c], layout))
        heights.append(tallest * line + 4)
    for (r, c), count in spanned.items():
        need = _lines(cells[r][c], widths[c], layout) * line + 4
        have = sum(heights[r:r + count])
        if need > have:
            for n in range(r, r + count):
                heights[n] += (need - have) / count
    return [round(h, 2) for h in heights]
