"""A correlation-table PDF laid out by reportlab platypus: a ``LongTable`` of CJK-wrapped Paragraphs.

reportlab does all the layout: Paragraph line breaking (``wordWrap='CJK'``), page breaks with the
header rows repeated (``repeatRows``), rows split across pages (``splitInRow``), spans, the ruling
(``GRID``). This module only builds the flowables from the layout's table. It imports nothing of
``pipeline``. Output is byte-identical for the same layout (``invariant=1``).

reportlab (5.1) quirks this works around, without doing any layout itself:

* A cell is a *list* of Paragraphs, one per line of the text, not one Paragraph with ``<br/>``:
  ``Table._splitCell`` splits only list cells (a bare flowable in a split row is dropped), and a
  ``<br/>`` CJK Paragraph split so that its first part is one fragment is drawn with the wrong line
  kind (``TypeError: 'FragLine' object is not subscriptable`` in ``drawPara``). Cells that a span
  covers are empty lists (an empty string cannot be split below one line height).
* ``allowOrphans=1``: otherwise a cell split where only its first line fits makes the split fail.
* The table is first laid out with ``splitByRow=0`` (split the row at the page bottom, filling each
  page); if reportlab gives up (a split point in a row's first line with spans forbidding a split
  between rows), it is laid out again with reportlab's default ``splitByRow=1``. Some layouts defeat
  both (``LayoutError``); ``render`` then raises ``ProducerError``.

What reportlab draws that a reader must live with: where it splits a row, the row's halves lose the
rule between them, so the bottom of the page is open (as in Chromium); where reportlab splits between
rows instead (it could not split the row, or the fallback), the rest of the table may start in the
room left on the same page, with the header repeated in mid-page. A span cut by a page break keeps its
text on the first page only. GRID alone would also lose the rule under the repeated header above a split row's
continuation; an explicit LINEBELOW on the last header row (as a reportlab user styles a header) keeps
it.

    python -m tests.producers.platypus SEED OUT.pdf
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape

from .layout import HEADER_LABELS, HEADER_VOLUMES, TITLE, Layout, layout_for, spans, table

MM = 72 / 25.4
MARGINS = (12 * MM, 12 * MM, 14 * MM, 12 * MM)  # top, right, bottom (room for the footer), left


class ProducerError(RuntimeError):
    """reportlab cannot lay out this layout's table."""


def _font(layout: Layout) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = layout.font_name
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(layout.font_file)))
    return name


def _para(text: str, style) -> list:
    """A cell: a list of Paragraphs, one per line of the text (reportlab splits only list cells inside a
    row; and a ``<br/>`` Paragraph split across pages trips a reportlab 5.1 CJK bug, see the module doc)."""
    from reportlab.platypus import Paragraph

    return [Paragraph(escape(line), style) for line in text.split("\n")] if text else []


def _nothing(canvas, doc) -> None:
    pass


def render(layout: Layout, path: Path) -> Path:
    """Lay out the layout's table with reportlab platypus into ``path``; return ``path``."""
    from reportlab.platypus.doctemplate import LayoutError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for split_by_row in (0, 1):
        try:
            _build(layout, path, split_by_row)
            return path
        except (LayoutError, TypeError) as error:  # TypeError: reportlab failing to word its LayoutError
            errors.append(f"splitByRow={split_by_row}: {str(error).splitlines()[0][:160]}")
    raise ProducerError(f"reportlab cannot lay out seed {layout.seed}: " + "; ".join(errors))


def _build(layout: Layout, path: Path, split_by_row: int) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A3, A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import BaseDocTemplate, Frame, LongTable, PageTemplate, Paragraph, Spacer, TableStyle

    font = _font(layout)
    size = layout.font_size
    cell = ParagraphStyle("cell", fontName=font, fontSize=size, leading=round(size * 1.3, 2), wordWrap="CJK",
                          allowOrphans=1)
    head = ParagraphStyle("head", parent=cell, alignment=TA_CENTER)
    title = ParagraphStyle("title", parent=cell, fontSize=size * 1.5, leading=size * 1.5 * 1.3)

    pagesize = landscape(A3 if layout.page == "A3" else A4)
    top, right, bottom, left = MARGINS
    frame_width = pagesize[0] - left - right
    total = sum(layout.widths)
    widths = [w / total * frame_width for w in layout.widths]

    cells = table(layout)
    span = spans(cells)
    skip = {(row + n, column) for (row, column), count in span.items() for n in range(1, count)}
    header = []
    styles = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), layout.padding),
        ("RIGHTPADDING", (0, 0), (-1, -1), layout.padding),
        ("TOPPADDING", (0, 0), (-1, -1), layout.padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), layout.padding),
    ]
    if layout.header_levels == 2:
        row, start = [], 0
        for name, n in HEADER_VOLUMES:
            row += [_para(name, head)] + [[] for _ in range(n - 1)]
            styles.append(("SPAN", (start, 0), (start + n - 1, 0)))
            start += n
        header.append(row)
    header.append([_para(label, head) for label in HEADER_LABELS])
    offset = len(header)
    # GRID alone loses the rule under the repeated header when reportlab splits the row after it
    styles.append(("LINEBELOW", (0, offset - 1), (-1, offset - 1), 0.5, colors.black))
    body = [[[] if (r, c) in skip else _para(text, cell) for c, text in enumerate(row)] for r, row in enumerate(cells)]
    for (r, c), n in sorted(span.items()):
        styles.append(("SPAN", (c, r + offset), (c, r + offset + n - 1)))

    grid = LongTable(header + body, colWidths=widths, repeatRows=offset, splitByRow=split_by_row, splitInRow=1,
                     style=TableStyle(styles), hAlign="LEFT")
    story = []
    if layout.title:
        story += [Paragraph(escape(TITLE), title), Spacer(1, size)]
    story.append(grid)

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawCentredString(pagesize[0] / 2, bottom / 2, f"- {canvas.getPageNumber()} -")
        canvas.restoreState()

    doc = BaseDocTemplate(str(path), pagesize=pagesize, leftMargin=left, rightMargin=right, topMargin=top,
                          bottomMargin=bottom, title=TITLE, author="", creator="tests.producers.platypus", invariant=1)
    frame = Frame(left, bottom, frame_width, pagesize[1] - top - bottom, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="table")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer if layout.footer else _nothing)])
    doc.build(story)


if __name__ == "__main__":
    seed, out = int(sys.argv[1]), Path(sys.argv[2])
    print(render(layout_for(seed), out))
