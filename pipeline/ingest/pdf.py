"""PDF of the correlation table → the same blocks of rows of cells as an OCR text dump.

    open (one clear error for encrypted, truncated, empty or non-PDF files)
    → per page: the ruled grid (vector lines with pdfplumber; or recovered from the rendered image)
                and the text (the text layer, repaired; or Tesseract where the layer is unusable)
    → cells: glyphs inside each cell, lines joined where they only wrap (by how far a line reaches)
    → rows: header rows dropped, spanned cells filled from their origin cell,
            a row cut by a page break joined to its continuation
    → one ``RawBlock`` for ``table.read_block``, so a PDF and an OCR text of the same table give the same IDs.

pdfplumber (pdfminer) reads the grid and the text; PyMuPDF opens, checks and renders pages.
"""

from __future__ import annotations

import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from ..model import CIRCLED, VOLUME_NAMES
from ..normalize import RADICALS, join_wrap, repair_char, starts_list_entry
from .layout import RawBlock, RawCell, RawRow
from .table import PLACE_RE

LABELS = ("記載箇所", "遵守事項", "備考")
_JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
RENDER_DPI = 300
# Japanese line breaking (kinsoku): these never start a line, so the character before them wraps too.
NOT_AT_LINE_START = "、。，．）」』】・ーぁぃぅぇぉっゃゅょァィゥェォッャュョ：；？！"
NOT_AT_LINE_END = "（(「『【"


@dataclass(frozen=True)
class Glyph:
    """A character of the text layer, or a word Tesseract read, with its box (x0, top, x1, bottom)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class Cell:
    """One cell of a page's grid: its text (wraps joined, hard breaks kept) and box in PDF points."""

    text: str
    bbox: tuple[float, float, float, float]
    ends_full: bool = False  # its last line reaches the right edge: a page break there cuts a sentence


@dataclass
class PageRead:
    """What one page gave: rows of cells (``None`` where a spanned cell covers the grid position)."""

    number: int
    rows: list[list[Cell | None]]
    text_from: str  # "text-layer", "repaired-text-layer", "ocr" or "ocr-text-layer"
    grid_from: str  # "lines" or "image"


@dataclass
class PdfTable:
    pages: list[PageRead] = field(default_factory=list)
    repairs: dict[int, list[str]] = field(default_factory=dict)  # page → what was found and repaired

    def pages_summary(self) -> list[dict]:
        """How each page was read, for the run report: text layer or OCR, ruling or image grid."""
        return [{"page": p.number, "text": p.text_from, "grid": p.grid_from, "rows": len(p.rows),
                 **({"findings": self.repairs[p.number]} if p.number in self.repairs else {})} for p in self.pages]


# --- opening -----------------------------------------------------------------------------------------

def open_checked(path: Path):
    """Given a PDF path, return the open PyMuPDF document, or raise one clear ``SourceError``."""
    import pymupdf

    data = path.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise SourceError(f"{path}: PDF ではありません（先頭が %PDF- ではありません）")
    if b"%%EOF" not in data[-2048:]:
        raise SourceError(f"{path}: PDF が途中で切れています（末尾に %%EOF がありません）")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises its own FileDataError and RuntimeError variants
        raise SourceError(f"{path}: PDF として読めません: {exc}") from None
    if doc.needs_pass or doc.is_encrypted:
        raise SourceError(f"{path}: 暗号化されています（パスワードを外した PDF を raw/ に置いてください）")
    if doc.page_count == 0:
        raise SourceError(f"{path}: ページがありません")
    return doc


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
    japanese = sum(1 for t in texts if _JAPANESE.match(t) or RADICALS.match(t))
    if cids > len(texts) * 0.02 or japanese < len(texts) * 0.3:
        return "unusable", [f"文字コードの対応表がない文字層: (cid:) {cids} 字、かな・漢字 {japanese}/{len(texts)} 字"]
    kangxi = sum(1 for t in texts if RADICALS.match(t))
    if kangxi:
        return "repairable", [f"康熙部首 {kangxi} 字を統合漢字に直した"]
    return "usable", []


def layer_glyphs(page, *, repair: bool) -> list[Glyph]:
    """The text layer of a pdfplumber page as glyphs; drawn spaces are kept as 「 」 glyphs."""
    glyphs = []
    for c in page.chars:
        text = c["text"]
        if not text or (text.isspace() and text != " "):
            continue
        glyphs.append(Glyph(repair_char(text) if repair else text, c["x0"], c["top"], c["x1"], c["bottom"]))
    return glyphs


# --- cells -------------------------------------------------------------------------------------------

def cell_text(glyphs: list[Glyph], bbox: tuple[float, float, float, float], *, ocr: bool = False) -> Cell:
    """Given glyphs and a cell box, return the cell: lines by height, spaces by gaps, wraps joined.

    A space is a drawn space or a gap wider than the line's letter spacing by a fifth of the
    type size. A line break only wraps when the first word of the next line (one character, in
    Japanese) would not have fitted in the room left on the line; otherwise it ends a paragraph,
    and so does a break before a list entry (「－」, ①). Two Latin words across a wrap are one
    word cut in two when together they are wider than the cell and the line had no room for one
    more letter (a word that fits on a line is moved to the next line whole, not cut).

    OCR word boxes are rough: there a line wraps unless it stops more than three characters (or
    the next line's first word and one) short of the edge, and a line starting with 「ー」 (which no
    line may start with) is a list entry.
    """
    x0, top, x1, bottom = bbox
    inside = [g for g in glyphs if x0 <= (g.x0 + g.x1) / 2 <= x1 and top <= (g.top + g.bottom) / 2 <= bottom]
    marks = [g for g in inside if g.text != " "]
    if not marks:
        return Cell("", bbox)
    size = statistics.median(g.height for g in marks)
    lines = [line for line in group_lines(inside, size) if any(g.text != " " for g in line)]
    gaps = [b.x0 - a.x1 for line in lines for a, b in zip(line, line[1:]) if " " not in (a.text, b.text)]
    spacing = max(0.0, statistics.median(gaps)) if gaps else 0.0  # letter spacing
    threshold = spacing + size * 0.2
    left, right = min(g.x0 for g in marks), max(g.x1 for g in marks)
    inner_right = max(right, x1 - (left - x0))  # as much padding on the right as on the left
    text, room, last_word, one_token = "", 0.0, 0.0, False
    for n, line in enumerate(lines):
        words = _line_text(line, threshold)
        first = _first_word(line, threshold)
        if n == 0:
            text = words
        elif (room < max(size * 3, first + size) if ocr else room < first + threshold + size * 0.1) and not _entry(words, ocr):
            first_mark = next(g for g in line if g.text != " ")
            no_room = room < (first_mark.x1 - first_mark.x0) + 2 * spacing - size * 0.02  # the next letter did not fit
            cut_word = _latin(text[-1:]) and _latin(words[:1])
            if cut_word and no_room and one_token and last_word + first > inner_right - left + size * 0.05:
                text += words
            else:
                text = join_wrap(text, words)
        else:
            text += "\n" + words
        marked = [g for g in line if g.text != " "]
        room = inner_right - max(g.x1 for g in marked)
        last_word = _first_word(line[::-1], threshold)
        one_token = last_word >= max(g.x1 for g in marked) - min(g.x0 for g in marked) - size * 0.05
    return Cell(text, bbox, room < size * 1.6)


def _entry(line: str, ocr: bool) -> bool:
    return starts_list_entry(line) or (ocr and line.startswith("ー"))


def _line_text(line: list[Glyph], threshold: float) -> str:
    out, space, previous = "", False, None
    for g in line:
        if g.text == " ":
            space = bool(out)
            continue
        if previous is not None and (space or g.x0 - previous.x1 > threshold):
            out += " "
        out += g.text
        space, previous = False, g
    return out


def _latin(text: str) -> bool:
    """Latin letters, digits and signs, in half or full width (CID fonts may read 「(」 as 「（」)."""
    return bool(text) and all(ch.isascii() or "\uff01" <= ch <= "\uff5e" for ch in text)


def _first_word(line: list[Glyph], threshold: float) -> float:
    """Width of the first word of a line (of the last, given the line reversed): a run of Latin
    letters, digits and signs, or one Japanese character (Japanese breaks between any two)."""
    marks = [g for g in line if g.text != " "]
    if not marks:
        return 0.0
    first = reach = marks[0]
    if not _latin(first.text):
        # Characters that may not start a line (、。ィッ…) go down with the one before them, and
        # one that may not end a line (「（) goes down with the one after it.
        n = 1 if first.text in NOT_AT_LINE_END and len(marks) > 1 else 0
        while n + 1 < len(marks) and marks[n + 1].text in NOT_AT_LINE_START:
            n += 1
        return abs(marks[n].x1 - first.x0) if line[0] is first else abs(first.x1 - marks[n].x0)
    for g in marks[1:]:
        if not _latin(g.text) or max(g.x0 - reach.x1, reach.x0 - g.x1) > threshold:
            break
        if any(s.text == " " and min(g.x0, reach.x0) <= s.x0 <= max(g.x1, reach.x1) for s in line):
            break
        reach = g
    after = marks.index(reach) + 1
    while after < len(marks) and marks[after].text in NOT_AT_LINE_START:  # 「3.0」版」: 」 goes with 3.0
        reach, after = marks[after], after + 1
    return max(first.x1, reach.x1) - min(first.x0, reach.x0)


def group_lines(glyphs: list[Glyph], size: float) -> list[list[Glyph]]:
    """Glyphs grouped into the lines they stand on (middles within about half a character of the
    line's), top to bottom, each line left to right."""
    lines: list[list[Glyph]] = []
    for g in sorted(glyphs, key=lambda g: ((g.top + g.bottom) / 2, g.x0)):
        if lines and abs((g.top + g.bottom) / 2 - _middle(lines[-1])) < size * 0.55:
            lines[-1].append(g)
        else:
            lines.append([g])
    return [sorted(line, key=lambda g: g.x0) for line in lines]


def _middle(line: list[Glyph]) -> float:
    return statistics.median((g.top + g.bottom) / 2 for g in line)


# --- pages -------------------------------------------------------------------------------------------

def read_pdf_table(path: Path, *, workers: int | None = None) -> PdfTable:
    """Given a PDF of the correlation table, return the cells of every page (OCR on ``workers`` cores, all by default)."""
    import pdfplumber

    open_checked(path).close()
    table = PdfTable()
    to_ocr: dict[int, tuple[list[Glyph] | None, list | None]] = {}  # page index → (text layer, ruled grid)
    with pdfplumber.open(path) as pdf:
        for index, page in enumerate(pdf.pages):
            number = index + 1
            try:
                state, findings = assess_text_layer(page.chars)
                grids = page.find_tables() if page.lines or page.rects else []
            except Exception as exc:  # pdfminer raises many kinds on damaged content streams
                raise SourceError(f"{path}:{number}ページ: ページの内容が読めません: {exc}") from None
            if findings:
                table.repairs[number] = findings
            glyphs = layer_glyphs(page, repair=state == "repairable") if state in ("usable", "repairable") else None
            if glyphs and not grids and invisible_text(path, index):
                # A scanner's OCR layer: whole-page words that run across cell borders. Read it again.
                table.repairs.setdefault(number, []).append("透明な OCR 文字層（スキャナの OCR）は使わず、セルごとに読み直した")
                glyphs = None
            if glyphs and grids:
                text_from = "text-layer" if state == "usable" else "repaired-text-layer"
                table.pages.append(PageRead(number, _grid_rows(grids, glyphs), text_from, "lines"))
            else:
                grid = [[box for box in row.cells] for row in _largest(grids).rows] if grids else None
                to_ocr[index] = (glyphs, grid)
                table.pages.append(PageRead(number, [], "", ""))
    if to_ocr:
        from .scan import read_scanned_pages

        for index, page_read in read_scanned_pages(path, to_ocr, dpi=RENDER_DPI, workers=workers or os.cpu_count() or 1):
            table.pages[index] = page_read
    return table


def invisible_text(path: Path, index: int) -> bool:
    """Whether a page's text is drawn invisible (render mode 3), as OCR layers over scans are."""
    import pymupdf

    with pymupdf.open(path) as doc:
        spans = doc[index].get_texttrace()
    return bool(spans) and sum(1 for s in spans if s["type"] == 3) >= 0.9 * len(spans)


def _largest(grids):
    return max(grids, key=lambda t: (t.bbox[2] - t.bbox[0]) * (t.bbox[3] - t.bbox[1]))


def _grid_rows(grids, glyphs: list[Glyph]) -> list[list[Cell | None]]:
    """The rows of a page's largest ruled table, each cell with its text; ``None`` where spanned."""
    return [[cell_text(glyphs, box) if box else None for box in row.cells] for row in _largest(grids).rows]


# --- rows --------------------------------------------------------------------------------------------

def is_header_row(texts: list[str]) -> bool:
    """A row of volume names (経営管理編 …) or column labels (記載箇所 遵守事項 備考), OCR-tolerant.

    >>> is_header_row(["記載箇所", "遵守事頂", "記載箇所"]), is_header_row(["1.1 記載箇所", "① …"])
    (True, False)
    """
    from rapidfuzz import fuzz, process

    squeezed = [re.sub(r"\s", "", t) for t in texts if t.strip()]
    names = [*LABELS, *VOLUME_NAMES.values()]
    matches = sum(1 for t in squeezed if len(t) <= 10 and process.extractOne(t, names, scorer=fuzz.ratio)[1] >= 70)
    return bool(squeezed) and matches >= max(1, 0.75 * len(squeezed))


# What OCR makes of a circled number at the start of a cell: 「@ 診療録等…」「® …」.
_MISREAD_NUMBER = re.compile(r"^[^\w\s－ー一・「『（(【\[]\s")


def _starts_new_row(cells: list[Cell | None]) -> bool:
    """Whether a page's first data row is a new table row (an item ① or a heading starts in it),
    not the rest of the row cut at the foot of the page before."""
    for cell in cells:
        if cell and cell.text:
            first = cell.text.lstrip()
            if (first and first[0] in CIRCLED) or PLACE_RE.match(first) or _MISREAD_NUMBER.match(first):
                return True
    return False


def table_rows(table: PdfTable) -> tuple[list[list[str]], list[list[Cell | None]], list[int]]:
    """Given the pages, return the header rows' texts, the data rows (spans filled, page breaks joined)
    and the page of each data row."""
    header: list[list[str]] = []
    rows: list[list[Cell | None]] = []
    pages: list[int] = []
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
            if first and rows and len(cells) == len(rows[-1]) and not _starts_new_row(cells):
                rows[-1] = [_join(a, b) for a, b in zip(rows[-1], filled)]
            else:
                rows.append(filled)
                pages.append(page.number)
            first = False
    _fill_places(rows, header)
    return header, rows, pages


def _fill_spans(cells: list[Cell | None], above: list[Cell | None]) -> list[Cell | None]:
    """Grid positions covered by a cell spanning down from the row above (``None``) get its text."""
    return [cell if cell is not None else (_copy(above[i]) if i < len(above) else None) for i, cell in enumerate(cells)]


def _copy(cell: Cell | None) -> Cell | None:
    return Cell(cell.text, cell.bbox, cell.ends_full) if cell else None


def _join(above: Cell | None, below: Cell | None) -> Cell | None:
    """A cell cut by a page break and its continuation on the next page."""
    if not below or not below.text:
        return above
    if not above or not above.text:
        return below
    if above.ends_full and not starts_list_entry(below.text):
        text = join_wrap(above.text, below.text)
    else:
        text = above.text + "\n" + below.text
    return Cell(text, above.bbox, below.ends_full)


def _fill_places(rows: list[list[Cell | None]], header: list[list[str]]) -> None:
    """A 記載箇所 cell that spans on past a page break is empty on the next page: fill it (and its
    備考) from the row above where the row has 遵守事項 in that volume."""
    labels = [re.sub(r"\s", "", t) for t in header[-1]] if header else []
    for place, label in enumerate(labels):
        if label != "記載箇所" or place + 1 >= len(labels) or labels[place + 1] != "遵守事項":
            continue
        note = place + 2 if place + 2 < len(labels) and labels[place + 2] == "備考" else None
        for r in range(1, len(rows)):
            row, above = rows[r], rows[r - 1]
            if (row[place] and row[place].text) or not (row[place + 1] and row[place + 1].text):
                continue
            if above[place] and above[place].text:
                row[place] = _copy(above[place])
                if note is not None and not (row[note] and row[note].text):
                    row[note] = _copy(above[note])


# --- the block for table.read_block ------------------------------------------------------------------

def to_block(header: list[list[str]], rows: list[list[Cell | None]], pages: list[int]) -> RawBlock:
    """The table as one block of rows, header first, so ``read_block`` reads it like a text dump."""
    block = RawBlock("pdf")
    for n, texts in enumerate(header, 1):
        block.rows.append(RawRow(-n, [RawCell(c, [t]) for c, t in enumerate(texts) if t.strip()]))
    for n, (cells, page) in enumerate(zip(rows, pages), 1):
        raw_cells = [RawCell(c, [p for p in cell.text.split("\n") if p.strip()], bbox=_round(cell.bbox))
                     for c, cell in enumerate(cells) if cell and cell.text.strip()]
        block.rows.append(RawRow(n, raw_cells, page=page))
    return block


def _round(bbox):
    return tuple(round(v, 1) for v in bbox)


def read_pdf_block(path: Path, *, workers: int | None = None) -> tuple[RawBlock, PdfTable]:
    """Given a PDF, return its table as one block of rows, and the pages as read."""
    table = read_pdf_table(path, workers=workers)
    header, rows, pages = table_rows(table)
    if not rows:
        where = "、".join(f"{p.number}ページ" for p in table.pages[:3])
        raise SourceError(f"{path}:{where}: 罫線で囲まれた相関表が見つかりません")
    return to_block(header, rows, pages), table
