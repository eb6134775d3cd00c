"""A correlation-table PDF from LibreOffice Writer: a .docx made with python-docx, converted headless.

    render(layout_for(1), Path("out.pdf"))

The .docx holds one landscape section (A3 or A4), an optional title paragraph, and one fixed-layout
table of 8 ruled columns: one or two header rows marked to repeat on every page (``w:tblHeader``), then
a row per truth row, 記載箇所 and 備考 cells merged down the rows they span (``w:vMerge``), each line of
a cell a paragraph of its own. Rows may break across pages (no ``w:cantSplit``). Line breaking and
pagination are Writer's own; nothing here measures text.

Word sizes type in half points, so a layout's font size is rounded to the nearest half point.

What Writer does with this table: a merged cell that crosses a page break is closed by a rule at the
foot of the page and continues as an empty box under the repeated header (its text is not repeated);
a row taller than what is left of a page is split, its cells' lines continuing on the next page; lines
are broken by the Japanese rules (no 、。）」 at a line start), long Latin words mid-word without a
hyphen in narrow columns. Nothing here imports ``pipeline``.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell

from .layout import HEADER_LABELS, HEADER_VOLUMES, TITLE, Layout, covered, spans, table
from .libreoffice import office_pdf

MARGIN_MM = 12.0


def render(layout: Layout, path: Path) -> Path:
    """Write the layout's table as a PDF made by LibreOffice Writer at ``path``; return ``path``."""
    return office_pdf(document(layout), ".docx", Path(path))


# --- the document -------------------------------------------------------------------------------------

def document(layout: Layout) -> Document:
    doc = Document()
    _defaults(doc, layout)
    section = doc.sections[0]
    width, height = layout.page_mm
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(width), Mm(height)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(MARGIN_MM))
    section.header_distance = section.footer_distance = Mm(MARGIN_MM / 2)
    text_width = Mm(width - 2 * MARGIN_MM)

    if layout.title:
        body = doc.add_paragraph()
        body.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = body.add_run(TITLE)
        run.bold = True
        _font(run, layout.font_name, layout.font_size + 2)
        body.paragraph_format.space_after = Pt(layout.font_size)

    _table(doc, layout, text_width)
    if layout.footer:
        _page_number_footer(section, layout)
    return doc


def _defaults(doc: Document, layout: Layout) -> None:
    """Document defaults: the layout's font (Latin and East Asian), its size, Japanese, no paragraph spacing."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    for name in list(fonts.attrib):
        del fonts.attrib[name]
    for kind in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(kind), layout.font_name)
    for tag in ("w:sz", "w:szCs"):
        rpr.find(qn(tag)).set(qn("w:val"), str(_half_points(layout.font_size)))
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "ja-JP")
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")
    spacing.set(qn("w:lineRule"), "auto")
    normal = doc.styles["Normal"]
    _font(normal, layout.font_name, layout.font_size)


def _half_points(size: float) -> int:
    return max(2, round(size * 2))


def _font(target, name: str, size: float) -> None:
    """Set a run's or style's font, East Asian slot included, and its size (in half points)."""
    target.font.name = name
    target.font.size = Pt(_half_points(size) / 2)
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for kind in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(kind), name)


def _table(doc: Document, layout: Layout, text_width: int) -> None:
    cells = table(layout)
    heads = layout.header_levels
    grid = doc.add_table(rows=heads + len(cells), cols=8)
    grid.style = doc.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    total = sum(layout.widths)
    widths = [int(text_width * w / total) for w in layout.widths]
    widths[-1] = int(text_width) - sum(widths[:-1])
    _table_properties(grid, layout, sum(widths))
    for column, width in zip(grid.columns, widths):
        column.width = width
    # the cells, row by row, taken once (``Table.cell`` walks the whole table at every call)
    rows = [[_Cell(tc, grid) for tc in tr.tc_lst] for tr in grid._tbl.tr_lst]
    for row in rows:
        for cell, width in zip(row, widths):
            cell.width = width
            _borders(cell)

    # header: volume names merged over their labels (two levels), labels; repeated on every page
    if heads == 2:
        start = 0
        for name, count in HEADER_VOLUMES:
            merged = rows[0][start].merge(rows[0][start + count - 1])
            _write(merged, [name], layout, bold=True, center=True)
            start += count
    for column, label in enumerate(HEADER_LABELS):
        _write(rows[heads - 1][column], [label], layout, bold=True, center=True)
    for tr in grid._tbl.tr_lst[:heads]:
        header = OxmlElement("w:tblHeader")
        header.set(qn("w:val"), "true")
        tr.get_or_add_trPr().append(header)

    # body: merge the spans first (merging moves content; the top cell stays), then write each top cell
    body = rows[heads:]
    hidden = covered(cells)
    for (row, column), count in sorted(spans(cells).items()):
        body[row][column].merge(body[row + count - 1][column])
    for row, texts in enumerate(cells):
        for column, text in enumerate(texts):
            if (row, column) not in hidden:
                _write(body[row][column], text.split("\n"), layout)


def _table_properties(grid, layout: Layout, width: int) -> None:
    """Fixed layout, the table's width, and the cell padding on all four sides (twips)."""
    tblpr = grid._tbl.tblPr
    tblw = tblpr.find(qn("w:tblW"))
    if tblw is None:
        tblw = OxmlElement("w:tblW")
        tblpr.append(tblw)
    tblw.set(qn("w:w"), str(width // 635))  # EMU → twips
    tblw.set(qn("w:type"), "dxa")
    margins = OxmlElement("w:tblCellMar")
    pad = str(round(layout.padding * 20))
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), pad)
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    look = tblpr.find(qn("w:tblLook"))  # the schema's order: tblCellMar comes before tblLook
    if look is not None:
        look.addprevious(margins)
    else:
        tblpr.append(margins)


def _borders(cell) -> None:
    """A single 0.5 pt rule on every side of the cell, whatever the table style says."""
    tcpr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "single")
        edge.set(qn("w:sz"), "4")
        edge.set(qn("w:space"), "0")
        edge.set(qn("w:color"), "000000")
        borders.append(edge)
    tcpr.append(borders)


def _write(cell, lines: list[str], layout: Layout, *, bold: bool = False, center: bool = False) -> None:
    """Each line a paragraph of its own in the cell (whose first paragraph already exists)."""
    paragraphs = cell.paragraphs
    for extra in paragraphs[1:]:
        extra._p.getparent().remove(extra._p)
    for n, line in enumerate(lines):
        paragraph = paragraphs[0] if n == 0 else cell.add_paragraph()
        if center:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if line:
            run = paragraph.add_run(line)
            run.bold = bold
            _font(run, layout.font_name, layout.font_size)


def _page_number_footer(section, layout: Layout) -> None:
    """「- n -」 centred in the footer, n a PAGE field."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run("- "), layout.font_name, layout.font_size)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        _font(run, layout.font_name, layout.font_size)
        if kind:
            field = OxmlElement("w:fldChar")
            field.set(qn("w:fldCharType"), kind)
            run._r.append(field)
        elif text == "PAGE":
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = " PAGE "
            run._r.append(instruction)
        else:
            run.text = text
    _font(paragraph.add_run(" -"), layout.font_name, layout.font_size)
