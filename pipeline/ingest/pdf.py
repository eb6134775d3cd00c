"""PDF of the correlation table → the same blocks of rows of cells as an OCR text dump.

    open (one clear error for encrypted, truncated, empty, damaged or non-PDF files, and files over
          the limits; an owner password, a repaired cross-reference table or JavaScript is read but
          recorded as a finding)
    → survey every page cheaply (PyMuPDF): its size and object count against the limits, and whether
      it is blank (no visible text, and no drawings or next to no ink at 36 dpi): blank pages are skipped
    → per page: the ruled grid (vector lines with pdfplumber; or recovered from the rendered image)
                and the text (the text layer, repaired; or Tesseract where the layer is unusable: ``scan``)
    → cells: glyphs inside each cell, lines joined where they only wrap (by how far a line reaches: ``cells``)
    → rows: header rows dropped, spanned cells filled from their origin cell,
            a row cut by a page break joined to its continuation
    → one ``RawBlock`` for ``table.read_block``, so a PDF and an OCR text of the same table give the same IDs.

pdfplumber (pdfminer) reads the grid and the text; PyMuPDF opens, checks and renders pages.
Whatever any of them (or OpenCV, or Tesseract) raises while a page is read becomes one
``SourceError`` line naming the file and page and saying what to do.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import textfile
from ..errors import SourceError
from ..limits import LIMITS, Limits
from ..model import CIRCLED, VOLUME_NAMES
from ..normalize import RADICALS, join_wrap, repair_char, starts_list_entry
from .cells import JAPANESE, Cell, CellTooLong, Glyph, PageRead, anchor_x, cell_text
from .failures import REMAKE_PDF, cell_error, detail, grid_error, page_error, pymupdf_quiet, release_images
from .layout import RawBlock, RawCell, RawRow
from .table import PLACE_RE

LABELS = ("記載箇所", "遵守事項", "備考")
RENDER_DPI = 300
SURVEY_DPI = 36  # enough to see a ruling line or a line of text; a page costs a millisecond
BLANK_INK = 0.0005  # a page with less than this share of ink pixels at SURVEY_DPI is blank
# pdfplumber's find_tables takes time quadratic in the ruled cells of a page (10,000 cells: 5 s;
# 40,000: 75 s): ``Limits.max_page_cells``. The real table has a few hundred a page.



@dataclass
class PdfTable:
    pages: list[PageRead] = field(default_factory=list)
    repairs: dict[int, list[str]] = field(default_factory=dict)  # page → what was found and repaired
    findings: list[str] = field(default_factory=list)  # about the whole file: read, but worth a look

    def pages_summary(self) -> list[dict]:
        """How each page was read, for the run report: text layer or OCR, ruling or image grid.
        Findings about the whole file are listed with page 1, marked 「文書:」."""
        summary = []
        for p in self.pages:
            findings = [f"文書: {f}" for f in self.findings] if p is self.pages[0] else []
            findings += self.repairs.get(p.number, [])
            summary.append({"page": p.number, "text": p.text_from, "grid": p.grid_from, "rows": len(p.rows),
                            **({"glyphs": p.glyphs} if p.glyphs else {}), **({"findings": findings} if findings else {})})
        return summary


# --- opening -----------------------------------------------------------------------------------------

def open_checked(path: Path, *, limits: Limits = LIMITS):
    """Given a PDF path, return the open PyMuPDF document, or raise one clear ``SourceError``."""
    pymupdf = pymupdf_quiet()
    data = textfile.read_bytes(path, limits=limits, what="PDF")
    if not data.startswith(b"%PDF-"):
        raise SourceError(f"{path}: PDF ではありません（先頭が %PDF- ではありません）。PDF のファイルを置くか、manifest.toml の kind を直してください")
    if b"%%EOF" not in data[-2048:]:
        raise SourceError(f"{path}: PDF が途中で切れています（末尾に %%EOF がありません）。元の PDF をもう一度ダウンロードしてください")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
        needs_pass, count = doc.needs_pass or doc.is_encrypted, doc.page_count
    except Exception as exc:  # PyMuPDF raises its own FileDataError and RuntimeError variants
        raise SourceError(f"{path}: PDF として読めません（{detail(exc)}）。{REMAKE_PDF}") from None
    if needs_pass:
        doc.close()
        raise SourceError(f"{path}: 暗号化されています（パスワードを外した PDF を raw/ に置いてください）")
    if count == 0:
        doc.close()
        raise SourceError(f"{path}: ページがありません（相関表のページのある PDF を置いてください）")
    if count > limits.max_pdf_pages:
        doc.close()
        raise SourceError(f"{path}: ページが多すぎます（{count:,} ページ、上限 {limits.max_pdf_pages:,} ページ）。"
                          "相関表のページだけの PDF にするか、manifest.toml の [limits] で max_pdf_pages を上げてください")
    return doc


_JAVASCRIPT = re.compile(r"/(?:JS|JavaScript)\b")


def document_findings(doc) -> list[str]:
    """What a maintainer should know about a PDF that was read anyway: an owner password (restrictions
    only: nothing is needed to open it), a cross-reference table MuPDF had to repair, JavaScript."""
    findings = []
    encryption = (doc.metadata or {}).get("encryption")
    if encryption:
        findings.append(f"所有者パスワードで暗号化されています（{encryption}、利用の制限だけで開くパスワードはないので読みました）")
    if doc.is_repaired:
        findings.append("壊れた相互参照表（xref）を修復して読みました。読み落としがないか、取り直した PDF で確かめてください")
    if has_javascript(doc):
        findings.append("JavaScript を含んでいます（実行はしません）。出所の確かな PDF か確かめてください")
    return findings


def has_javascript(doc, *, most: int = 200_000) -> bool:
    """Whether any object of the PDF (the first ``most``) is a JavaScript action or name tree (/JS, /JavaScript)."""
    for xref in range(1, min(doc.xref_length(), most)):
        try:
            if _JAVASCRIPT.search(doc.xref_object(xref, compressed=True)):
                return True
        except Exception:  # a damaged object: nothing to report here, the page reader says what fails
            continue
    return False


@dataclass(frozen=True)
class PageSurvey:
    """What a cheap look at one page found: whether it is blank, and how many characters and drawn
    path items (lines, rectangles, curves) it holds."""

    blank: bool
    objects: int


def survey_page(doc, index: int, path: Path, *, limits: Limits = LIMITS) -> PageSurvey:
    """Given an open document and a page index, check the page against the limits and tell whether it is
    blank, with PyMuPDF only (milliseconds a page): before pdfminer, pdfplumber or a 300 dpi render."""
    number = index + 1
    try:
        page = doc.load_page(index)
        width, height = page.rect.width, page.rect.height
        side = max(width, height, page.mediabox.width, page.mediabox.height)
        if side > limits.max_page_points:
            raise SourceError(f"{path}:{number}ページ: ページが大きすぎます（{width:,.0f}×{height:,.0f} pt、一辺の上限 "
                              f"{limits.max_page_points:,.0f} pt）。A3 などの大きさで PDF にし直すか、manifest.toml の [limits] で "
                              "max_page_points を上げてください")
        spans = page.get_texttrace()
        chars = sum(len(span["chars"]) for span in spans)
        paths = page.get_cdrawings()
        drawn = sum(len(path_["items"]) for path_ in paths)
        objects = chars + drawn
        if objects > limits.max_page_objects:
            raise SourceError(f"{path}:{number}ページ: ページに描かれたものが多すぎます（文字と線 {objects:,} 個、上限 "
                              f"{limits.max_page_objects:,} 個）。相関表のページか確かめるか、manifest.toml の [limits] で "
                              "max_page_objects を上げてください")
        cells = grid_cells(paths)
        if cells > limits.max_page_cells:  # a few hundred lines can rule more cells than pdfplumber can sort out
            raise SourceError(grid_error(path, number, cells, limits))
        visible = any(0 <= c[0] <= 0x10FFFF and not chr(c[0]).isspace() for span in spans if span["type"] != 3 for c in span["chars"])
        if visible:
            return PageSurvey(False, objects)
        if not drawn and not page.get_images():
            return PageSurvey(True, objects)
        return PageSurvey(ink_share(page) < BLANK_INK, objects)
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(page_error(path, number, exc)) from None


def grid_cells(paths: list[dict]) -> int:
    """At most how many cells the ruling of a page can make: distinct horizontal positions times distinct
    vertical ones (of lines, and of rectangle edges), to the point, from PyMuPDF's ``get_cdrawings``.

    >>> grid_cells([{"items": [("l", (0, 0), (100, 0)), ("l", (0, 50), (100, 50)), ("l", (50, 0), (50, 50)), ("re", (0, 0, 100, 50), 1)]}])
    2
    """
    xs: set[int] = set()
    ys: set[int] = set()
    for path_ in paths:
        for item in path_["items"]:
            if item[0] == "l":
                (x0, y0), (x1, y1) = item[1], item[2]
                if abs(y0 - y1) < 1:
                    ys.add(round(y0))
                elif abs(x0 - x1) < 1:
                    xs.add(round(x0))
            elif item[0] == "re":
                x0, y0, x1, y1 = item[1]
                xs.update((round(x0), round(x1)))
                ys.update((round(y0), round(y1)))
    return max(0, len(xs) - 1) * max(0, len(ys) - 1)


def ink_share(page, dpi: int = SURVEY_DPI) -> float:
    """The share of a page's pixels that are ink when rendered small: a tenth darker than white, or
    more. (Grey paper is all ink: such a page is read, not skipped — only a page that is clearly
    blank is.)"""
    import numpy as np

    pymupdf = pymupdf_quiet()
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    release_images()  # a page without text: its pictures are decoded for this page alone
    gray = np.frombuffer(pix.samples, dtype=np.uint8)
    return float((gray < 230).sum()) / gray.size if gray.size else 0.0


# --- text layers -------------------------------------------------------------------------------------

def assess_text_layer(chars: list[dict]) -> tuple[str, list[str]]:
    """Given a page's characters, return ("usable" | "repairable" | "unusable" | "none", findings).

    A layer without ToUnicode maps reads as ``(cid:123)`` or as Latin-1 garbage (「†‡ˆ」): a page of
    this table with few kana or kanji is unusable. Kangxi radicals in place of ideographs (⽬ for 目)
    are repaired.
    """
    texts = [c["text"] for c in chars if c["text"] and not c["text"].isspace()]
    if len(texts) < 10:
        return "none", []
    cids = sum(1 for t in texts if t.startswith("(cid:"))
    japanese = sum(1 for t in texts if JAPANESE.match(t) or RADICALS.match(t))
    if cids > len(texts) * 0.02 or japanese < len(texts) * 0.3:
        return "unusable", [f"文字コードの対応表がない文字層: (cid:) {cids} 字、かな・漢字 {japanese}/{len(texts)} 字"]
    kangxi = sum(1 for t in texts if RADICALS.match(t))
    if kangxi:
        return "repairable", [f"康熙部首 {kangxi} 字を統合漢字に直した"]
    return "usable", []


def layer_glyphs(page, *, repair: bool, hidden: list[tuple[str, float, float, float, float]] = ()) -> list[Glyph]:
    """The text layer of a pdfplumber page as glyphs; drawn spaces are kept as 「 」 glyphs. Characters
    drawn off the page, or ``hidden`` by a clipping path (``clipped_chars``), are not on it: LibreOffice
    Calc draws the text of a merged cell that goes on over a page break on each page, off the page or
    clipped to the cell."""
    glyphs = []
    hidden_at = {(round(x0), text): (top, bottom) for text, x0, top, x1, bottom in hidden}
    for c in page.chars:
        text = c["text"]
        if not text or (text.isspace() and text != " ") or not on_page(c, page):
            continue
        span = hidden_at.get((round(c["x0"]), text))
        if span and span[0] - 1 <= (c["top"] + c["bottom"]) / 2 <= span[1] + 1:
            continue
        glyphs.append(Glyph(repair_char(text) if repair else text, c["x0"], c["top"], c["x1"], c["bottom"]))
    return glyphs


def on_page(c: dict, page) -> bool:
    """Whether a pdfplumber character is drawn on the page, not off it."""
    return c["bottom"] > 0 and c["top"] < page.height and c["x1"] > 0 and c["x0"] < page.width


def clipped_chars(page, shown: int) -> list[tuple[str, float, float, float, float]]:
    """The characters of a PyMuPDF page that a clipping path hides whole: (text, x0, top, x1, bottom).
    ``shown`` is how many characters other than spaces the text layer has on the page: where MuPDF
    leaving out the clipped ones keeps as many, none are (a count costs a fiftieth of the page's reading)."""
    import pymupdf

    if page.rotation:
        return []
    unclipped = page.get_text("text", flags=pymupdf.TEXT_CLIP | pymupdf.TEXT_INHIBIT_SPACES)
    if sum(not ch.isspace() for ch in unclipped) >= shown:
        return []
    # TEXT_CLIP (= TEXT_MEDIABOX_CLIP in PyMuPDF 1.2x) leaves out what clipping paths hide whole
    flags = pymupdf.TEXT_PRESERVE_WHITESPACE
    every, visible = (_rawchars(page.get_text("rawdict", flags=f)) for f in (flags, flags | pymupdf.TEXT_CLIP))
    if len(every) == len(visible):
        return []
    kept = set(visible)
    return [c for c in every if c not in kept]


def _rawchars(raw: dict) -> list[tuple[str, float, float, float, float]]:
    return [(ch["c"], *(round(v, 2) for v in ch["bbox"])) for block in raw["blocks"] for line in block.get("lines", ())
            for span in line["spans"] for ch in span["chars"]]


# --- pages -------------------------------------------------------------------------------------------

def read_pdf_table(path: Path, *, workers: int | None = None, limits: Limits = LIMITS) -> PdfTable:
    """Given a PDF of the correlation table, return the cells of every page (OCR on ``workers`` cores, all by default).

    Blank pages are skipped (``text_from`` 「blank」); anything over ``limits`` or unreadable is one
    ``SourceError`` naming the file and page.
    """
    table = PdfTable()
    to_ocr: dict[int, tuple[list[Glyph] | None, list | None]] = {}  # page index → (text layer, ruled grid)
    with open_checked(path, limits=limits) as doc:
        table.findings = document_findings(doc)
        surveys = [survey_page(doc, index, path, limits=limits) for index in range(doc.page_count)]
        with _plumber(path, doc) as pdf:
            for index, page in enumerate(pdf.pages):
                number = index + 1
                if surveys[index].blank:
                    table.pages.append(PageRead(number, [], "blank", "none"))
                    continue
                if surveys[index].objects == 0:  # pictures only (a scan): nothing for pdfminer to parse, all for OCR
                    page.close()
                    to_ocr[index] = (None, None)
                    table.pages.append(PageRead(number, [], "", ""))
                    continue
                try:
                    read = _read_page(page, doc, index, table, limits=limits)
                except SourceError:
                    raise
                except CellTooLong as exc:
                    raise SourceError(cell_error(path, number, exc.count, limits)) from None
                except Exception as exc:  # pdfminer, pdfplumber and PyMuPDF raise many kinds on damaged pages
                    raise SourceError(page_error(path, number, exc)) from None
                finally:
                    page.close()  # pdfplumber keeps every parsed page otherwise
                if isinstance(read, PageRead):
                    table.pages.append(read)
                else:
                    to_ocr[index] = read
                    table.pages.append(PageRead(number, [], "", ""))
    if to_ocr:
        from .scan import read_scanned_pages  # numpy, OpenCV and Tesseract load only for scans

        for index, page_read in read_scanned_pages(path, to_ocr, dpi=RENDER_DPI, workers=workers or os.cpu_count() or 1,
                                                   limits=limits):
            table.pages[index] = page_read
    return table


def _plumber(path: Path, doc):
    """pdfplumber over the same file, with as many pages as PyMuPDF found, or one clear error."""
    import pdfplumber

    pdf = None
    try:
        pdf = pdfplumber.open(path)
        count = len(pdf.pages)
    except Exception as exc:
        if pdf is not None:
            pdf.close()
        broken = "途中で切れているか壊れています" if doc.is_repaired else "壊れています"
        raise SourceError(f"{path}: PDF が{broken}（{detail(exc)}）。{REMAKE_PDF}") from None
    if count != doc.page_count:
        pdf.close()
        raise SourceError(f"{path}: ページの数が読み方によって違います（PyMuPDF {doc.page_count}、pdfminer {count}。"
                          f"ページツリーが壊れています）。{REMAKE_PDF}")
    return pdf


def _read_page(page, doc, index: int, table: PdfTable, *, limits: Limits):
    """One pdfplumber page: its ``PageRead`` when the ruling and the text layer are usable, else what
    the scan reader needs (the usable text layer or ``None``, the ruled grid or ``None``)."""
    number = index + 1
    state, findings = assess_text_layer(page.chars)
    foot, cut = table_foot(page.edges) if page.lines or page.rects else (None, False)
    settings = {"explicit_horizontal_lines": [foot]} if foot is not None else {}
    grids = page.find_tables(table_settings=settings) if page.lines or page.rects else []
    if findings:
        table.repairs[number] = findings
    glyphs = None
    if state in ("usable", "repairable"):
        shown = sum(not c["text"].isspace() and on_page(c, page) for c in page.chars)
        glyphs = layer_glyphs(page, repair=state == "repairable", hidden=clipped_chars(doc.load_page(index), shown))
    if glyphs and not grids and invisible_text(doc.load_page(index)):
        # A scanner's OCR layer: whole-page words that run across cell borders. Read it again.
        table.repairs.setdefault(number, []).append("透明な OCR 文字層（スキャナの OCR）は使わず、セルごとに読み直した")
        glyphs = None
    if glyphs and grids:
        text_from = "text-layer" if state == "usable" else "repaired-text-layer"
        rows = _grid_rows(grids, glyphs, max_chars=limits.max_cell_chars)
        accounting = account(grids, glyphs)
        if accounting["lost"] or accounting["duplicated"]:
            table.repairs.setdefault(number, []).append(
                f"表の中の文字 {accounting['lost']} 個がどのセルにも入らず、{accounting['duplicated']} 個が二つ以上のセルに入った"
                f"（例: {', '.join(accounting['examples'])}）")
        return PageRead(number, rows, text_from, "lines", cut, sliver_row(page.edges),
                        {k: v for k, v in accounting.items() if k != "examples"})
    grid = [[box for box in row.cells] for row in _largest(grids).rows] if grids else None
    return glyphs, grid


def sliver_row(edges: list[dict], *, slack: float = 2.0) -> float | None:
    """The foot of the topmost row only a few pt tall, ruled across most of the table's width: what
    reportlab leaves of a row cut at the page end when nothing of it was left to print (its rule and
    the one above it are closer than pdfplumber's snapping, so the grid has no such row).

    >>> h = lambda y, x0=0, x1=100: {"orientation": "h", "x0": x0, "x1": x1, "top": y, "bottom": y}
    >>> v = lambda x: {"orientation": "v", "x0": x, "x1": x, "top": 10, "bottom": 300}
    >>> sliver_row([v(0), v(100), h(10), h(22), h(24, 0, 80), h(60)]), sliver_row([v(0), v(100), h(10), h(22), h(22.75)])
    (24, None)
    """
    sides = _table_sides(edges, slack)
    if sides is None:
        return None
    left, right, _ = sides
    tops = sorted({round(e["top"], 1) for e in edges if e["orientation"] == "h" and e["x1"] > left and e["x0"] < right})
    ys = [y for y in tops if _closed_share(edges, y, left, right, slack=0.05) >= 0.5]
    # the two edges of one rule drawn as a thin rectangle (Chromium: 0.75 pt) are not a row
    return next((b for a, b in zip(ys, ys[1:]) if 1.5 < b - a <= 3.5), None)


def _table_sides(edges: list[dict], slack: float) -> tuple[float, float, float] | None:
    """The left and right of the table's vertical rules and their lowest end, or ``None`` with fewer than two."""
    verticals = [e for e in edges if e["orientation"] == "v" and e["bottom"] - e["top"] > slack]
    if len(verticals) < 2:
        return None
    return min(e["x0"] for e in verticals), max(e["x1"] for e in verticals), max(e["bottom"] for e in verticals)


def _closed_share(edges: list[dict], y: float, left: float, right: float, *, slack: float) -> float:
    """How much of the width from ``left`` to ``right`` horizontal rules at ``y`` (± ``slack``) close."""
    closing = sorted((max(e["x0"], left), min(e["x1"], right)) for e in edges
                     if e["orientation"] == "h" and abs(e["top"] - y) <= slack and e["x1"] > left and e["x0"] < right)
    covered, reach = 0.0, left
    for x0, x1 in closing:
        if x1 > reach:
            covered += x1 - max(x0, reach)
            reach = x1
    return covered / (right - left) if right > left else 1.0


def table_foot(edges: list[dict], *, slack: float = 2.0) -> tuple[float | None, bool]:
    """Where the table ends at the foot of a page when its rules leave a cell open there, and whether
    a row is cut by the page end.

    The vertical rules' lowest end is the table's foot. Where horizontal rules do not close the whole
    width there, a cell is open: a row cut by the page end (Chromium and reportlab draw no closing
    rule; then less than half the width is closed) or a merged cell that goes on to the next page
    (LibreOffice draws no rule under it). The foot is returned to be ruled so that the open cells are
    read; the row is cut only where most of the width is open.

    >>> v = lambda x: {"orientation": "v", "x0": x, "x1": x, "top": 10, "bottom": 100}
    >>> h = lambda y, x0=0, x1=50: {"orientation": "h", "x0": x0, "x1": x1, "top": y, "bottom": y}
    >>> table_foot([v(0), v(40), v(50), h(10), h(60)]), table_foot([v(0), v(40), v(50), h(10), h(100, 0, 40)])
    ((100, True), (100, False))
    >>> table_foot([v(0), v(50), h(10), h(100)])
    (None, False)
    """
    sides = _table_sides(edges, slack)
    if sides is None:
        return None, False
    left, right, foot = sides
    share = _closed_share(edges, foot, left, right, slack=slack)
    if share >= 0.99:
        return None, False
    return foot, share < 0.5


def invisible_text(page) -> bool:
    """Whether a PyMuPDF page's text is drawn invisible (render mode 3), as OCR layers over scans are."""
    spans = page.get_texttrace()
    return bool(spans) and sum(1 for s in spans if s["type"] == 3) >= 0.9 * len(spans)


def _largest(grids):
    return max(grids, key=lambda t: (t.bbox[2] - t.bbox[0]) * (t.bbox[3] - t.bbox[1]))


def account(grids, glyphs: list[Glyph]) -> dict:
    """Every character of the text layer inside the table's region should end up in exactly one cell:
    count those in none (``lost``) and those in two or more (``duplicated``), with up to five examples
    (character and position in pt). The same test as ``cell_text``'s decides what is in a cell.

    >>> class T: bbox = (0, 0, 20, 10); rows = [type("R", (), {"cells": [(0, 0, 10, 10), (10, 0, 20, 10)]})]
    >>> account([T], [Glyph("あ", 1, 1, 9, 9), Glyph("い", 11, 1, 19, 9)])
    {'in_table': 2, 'in_cells': 2, 'lost': 0, 'duplicated': 0, 'examples': []}
    """
    counts: dict[int, int] = {}
    inside: list[Glyph] = []
    for grid in _tables(grids):
        x0, top, x1, bottom = grid.bbox
        marks = [g for g in glyphs if g.text.strip() and x0 <= anchor_x(g) <= x1 and top <= (g.top + g.bottom) / 2 <= bottom]
        inside += marks
        ordered = sorted(marks, key=lambda g: (g.top + g.bottom) / 2)
        middles = [(g.top + g.bottom) / 2 for g in ordered]
        for row in grid.rows:
            for box in row.cells:
                if box is None:
                    continue
                for g in ordered[bisect.bisect_left(middles, box[1]):bisect.bisect_right(middles, box[3])]:
                    if box[0] <= anchor_x(g) <= box[2]:
                        counts[id(g)] = counts.get(id(g), 0) + 1
    lost = [g for g in inside if id(g) not in counts]
    duplicated = [g for g in inside if counts.get(id(g), 0) > 1]
    examples = [f"「{g.text}」({g.x0:.0f}, {g.top:.0f})" for g in (lost + duplicated)[:5]]
    return {"in_table": len(inside), "in_cells": len(inside) - len(lost), "lost": len(lost), "duplicated": len(duplicated),
            "examples": examples}


def _tables(grids) -> list:
    """The page's tables that are parts of the correlation table, top to bottom: as many columns as the
    largest (a producer may start the rest of the table under a repeated header on the same page)."""
    columns = max(len(row.cells) for row in _largest(grids).rows)
    return sorted((g for g in grids if max(len(row.cells) for row in g.rows) == columns), key=lambda g: g.bbox[1])


def _grid_rows(grids, glyphs: list[Glyph], *, max_chars: int | None = None) -> list[list[Cell | None]]:
    """The rows of a page's largest ruled table, each cell with its text; ``None`` where spanned.

    Each cell looks only at the glyphs whose middles lie in its band of the page (found by
    bisection), so a page of many cells and many glyphs costs far less than cells × glyphs.
    """
    ordered = sorted(glyphs, key=lambda g: (g.top + g.bottom) / 2)
    middles = [(g.top + g.bottom) / 2 for g in ordered]

    def band(box):
        return ordered[bisect.bisect_left(middles, box[1]):bisect.bisect_right(middles, box[3])]

    return [[cell_text(band(box), box, max_chars=max_chars) if box else None for box in row.cells]
            for grid in _tables(grids) for row in grid.rows]


# --- rows --------------------------------------------------------------------------------------------

def is_header_row(texts: list[str]) -> bool:
    """A row of volume names (経営管理編 …) or column labels (記載箇所 遵守事項 備考), OCR-tolerant:
    marks and stray digits that OCR reads around a label (a ruling line, a speck) are left out, and a
    cell of nothing but such marks does not count; a cell that starts with a place number is data.

    >>> is_header_row(["記載箇所", "遵守事頂", "記載箇所"]), is_header_row(["1.1 記載箇所", "① …"])
    (True, False)
    >>> is_header_row(["Y- ・経営管理編 2", "4 ・企画編・管理2 6", ": 9 システム運用編3"]), is_header_row(["- 管理編 経営"])
    (True, True)
    """
    cells = [re.sub(r"\s", "", t) for t in texts if t.strip()]
    counted = [(t, _label_letters(t)) for t in cells]
    counted = [(t, w) for t, w in counted if w or len(t) > 3 or t[0] in CIRCLED]
    matches = sum(1 for t, w in counted if not PLACE_RE.match(t) and _nearest_label(w, [*LABELS, *VOLUME_NAMES.values()]))
    return bool(counted) and matches >= max(1, 0.75 * len(counted))


def _label_letters(text: str) -> str:
    """The kana and kanji of a header cell: what OCR adds around a label (ruling, specks) left out."""
    return "".join(JAPANESE.findall(re.sub(r"\s", "", text).replace("・", "")))


def _nearest_label(letters: str, names: list[str]) -> str | None:
    """The name ``letters`` read as, allowing OCR's garbles and its putting a label's words out of order."""
    from rapidfuzz import fuzz, process

    def similar(word: str, name: str, **_) -> float:
        return max(fuzz.ratio(word, name), fuzz.ratio(sorted(word), sorted(name)))

    if not 0 < len(letters) <= 10:
        return None
    name, score, _ = process.extractOne(letters, names, scorer=similar)
    return name if score >= 70 else None


def header_label(text: str) -> str:
    r"""A header cell as its column label (記載箇所 遵守事項 備考) where OCR garbled one; else as read
    (volume names are told, and their misreadings reported, by ``ingest.table``).

    >>> header_label("記載人箇所"), header_label("-\n備考\n-"), header_label("企画 管理編")
    ('記載箇所', '備考', '企画 管理編')
    """
    return _nearest_label(_label_letters(text), list(LABELS)) or text


# What OCR makes of a circled number at the start of a cell: 「@ 診療録等…」「® …」: a round mark
# (not any mark: a speck read as 「'」 before a continued row's text is no item number).
_MISREAD_NUMBER = re.compile(r"^[@®©〇○◎◯OoQ0]\s")


def _starts_new_row(cells: list[Cell | None], labels: list[str] | None = None) -> bool:
    """Whether a page's first data row is a new table row (an item ① or a heading starts in it),
    not the rest of the row cut at the foot of the page before. Where the header's column labels
    are known, a heading counts only in a 記載箇所 column: the rest of an item may go on with a
    numbered list (「2. 電子署名に用いる…」)."""
    for column, cell in enumerate(cells):
        if cell and cell.text:
            first = cell.text.lstrip()
            heading = PLACE_RE.match(first) and (not labels or column >= len(labels) or labels[column] == "記載箇所")
            if (first and first[0] in CIRCLED) or heading or _MISREAD_NUMBER.match(first):
                return True
    return False


def table_rows(table: PdfTable) -> tuple[list[list[str]], list[list[Cell | None]], list[int]]:
    """Given the pages, return the header rows' texts, the data rows (spans filled, page breaks joined)
    and the page of each data row."""
    header: list[list[str]] = []
    rows: list[list[Cell | None]] = []
    pages: list[int] = []
    cut = False  # the page before ended in a row cut by the page end (its table was open at the foot)
    for page in table.pages:
        first = True
        for cells in page.rows:
            texts = [c.text if c else "" for c in cells]
            if is_header_row(texts):
                if not rows:
                    header.append(texts)
                continue
            above = rows[-1] if rows and pages[-1] == page.number else []
            filled = _fill_spans(cells, above)
            labels = [re.sub(r"\s", "", header_label(t)) for t in header[-1]] if header else None
            # the rest of the row cut at the foot of the page before was empty (a sliver row above this one)
            rest_empty = page.sliver is not None and any(c and c.bbox[1] >= page.sliver - 2.0 for c in cells)
            if first and rows and len(cells) == len(rows[-1]) and (cut and not rest_empty or not _starts_new_row(cells, labels)):
                rows[-1] = [_join(a, b) for a, b in zip(rows[-1], filled)]
            else:
                rows.append(filled)
                pages.append(page.number)
            first = False
        if page.rows:
            cut = page.open_foot
    _fill_places(rows, header, pages)
    return header, rows, pages


def _fill_spans(cells: list[Cell | None], above: list[Cell | None]) -> list[Cell | None]:
    """Grid positions covered by a cell spanning down from the row above (``None``) get its text."""
    return [cell if cell is not None else (_copy(above[i]) if i < len(above) else None) for i, cell in enumerate(cells)]


def _copy(cell: Cell | None) -> Cell | None:
    return Cell(cell.text, cell.bbox, cell.ends_full, cell.room, cell.lead) if cell else None


def _join(above: Cell | None, below: Cell | None) -> Cell | None:
    """A cell cut by a page break and its continuation on the next page: one sentence where the
    last line above is full, or the first word below would not have fitted in the room it left
    (「参考：」 at the foot of a page, a URL at the head of the next)."""
    if not below or not below.text:
        return above
    if not above or not above.text:
        return below
    if (above.ends_full or above.room < below.lead) and not starts_list_entry(below.text):
        text = join_wrap(above.text, below.text)
    else:
        text = above.text + "\n" + below.text
    return Cell(text, above.bbox, below.ends_full, below.room, above.lead)


def _fill_places(rows: list[list[Cell | None]], header: list[list[str]], pages: list[int] | None = None) -> None:
    """A 記載箇所 cell that spans on past a page break is empty on the next page: fill it from the row
    above where the row has 遵守事項 in that volume, and its empty 備考 too: on the first row of the
    page always (a 備考 cell continued over the break looks like a cell of its own there, as LibreOffice
    Calc draws it), on the rows below only where the 備考 is covered by a span (an empty cell of their
    own stays empty)."""
    labels = [re.sub(r"\s", "", t) for t in header[-1]] if header else []
    for place, label in enumerate(labels):
        if label != "記載箇所" or place + 1 >= len(labels) or labels[place + 1] != "遵守事項":
            continue
        note = place + 2 if place + 2 < len(labels) and labels[place + 2] == "備考" else None
        for r in range(1, len(rows)):
            row, above = rows[r], rows[r - 1]
            if max(len(row), len(above)) <= (note if note is not None else place + 1) or len(row) != len(above):
                continue
            if (row[place] and row[place].text) or not (row[place + 1] and row[place + 1].text):
                continue
            if above[place] and above[place].text:
                row[place] = _copy(above[place])
                first_on_page = pages is None or pages[r] != pages[r - 1]
                if note is not None and (row[note] is None or first_on_page and not (row[note] and row[note].text)):
                    row[note] = _copy(above[note])


# --- the block for table.read_block ------------------------------------------------------------------

def to_block(header: list[list[str]], rows: list[list[Cell | None]], pages: list[int]) -> RawBlock:
    """The table as one block of rows, header first, so ``read_block`` reads it like a text dump."""
    block = RawBlock("pdf")
    for n, texts in enumerate(header, 1):
        block.rows.append(RawRow(-n, [RawCell(c, [header_label(t)]) for c, t in enumerate(texts) if t.strip()]))
    for n, (cells, page) in enumerate(zip(rows, pages), 1):
        raw_cells = [RawCell(c, cell_paragraphs(cell.text), bbox=_round(cell.bbox))
                     for c, cell in enumerate(cells) if cell and cell.text.strip()]
        block.rows.append(RawRow(n, raw_cells, page=page))
    return block


def cell_paragraphs(text: str) -> list[str]:
    r"""A cell's paragraphs. In a cell of numbered items (遵守事項) or of headings (記載箇所) only an item
    number or a section number starts one: any other line break (a list inside an item, or a break the
    reader could not tell from a wrap) stays inside the paragraph, for ``normalize`` to keep or join.

    >>> cell_paragraphs("① 次を行うこと。\n1.以下を施すこと\n② 二つ目")
    ['① 次を行うこと。\n1.以下を施すこと', '② 二つ目']
    >>> cell_paragraphs("6.2C4\n6.11C6")
    ['6.2C4', '6.11C6']
    """
    lines = [line for line in text.split("\n") if line.strip()]
    item = lambda line: line.lstrip()[:1] in CIRCLED  # noqa: E731
    if not lines or not (item(lines[0]) or PLACE_RE.match(lines[0])):
        return lines
    starts = item if item(lines[0]) else (lambda line: item(line) or PLACE_RE.match(line))  # 「1.以下…」 in an item is a list
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs and not starts(line):
            paragraphs[-1] += "\n" + line
        else:
            paragraphs.append(line)
    return paragraphs


def _round(bbox):
    return tuple(round(v, 1) for v in bbox)


def read_pdf_block(path: Path, *, workers: int | None = None, limits: Limits = LIMITS) -> tuple[RawBlock, PdfTable]:
    """Given a PDF, return its table as one block of rows, and the pages as read."""
    table = read_pdf_table(path, workers=workers, limits=limits)
    header, rows, pages = table_rows(table)
    if not rows:
        raise SourceError(no_table_error(path, table))
    for cells, page in zip(rows, pages):  # a cell joined across a page break may pass the limit only now
        for cell in cells:
            if cell and len(cell.text) > limits.max_cell_chars:
                raise SourceError(cell_error(path, page, len(cell.text), limits))
    return to_block(header, rows, pages), table


def no_table_error(path: Path, table: PdfTable) -> str:
    """The one line for a PDF in which no page has a ruled table: the first pages, and how many were blank."""
    where = "、".join(f"{p.number}ページ" for p in table.pages[:3])
    if len(table.pages) > 3:
        where += f" ほか {len(table.pages) - 3:,} ページ"
    blank = sum(1 for p in table.pages if p.text_from == "blank")
    count = f"（{len(table.pages):,} ページのうち白紙 {blank:,} ページ）" if blank else ""
    return f"{path}:{where}: 罫線で囲まれた相関表が見つかりません{count}。各編間相関表の PDF か確かめてください"
