"""Glyphs in a cell's box → the cell's text: lines by height, spaces by gaps, wraps joined.

Both readers use it: ``pdf`` with the characters of a text layer, ``scan`` with the words Tesseract
read (``ocr=True``: rough boxes). The page's cells go on as ``PageRead``.

    >>> g = [Glyph(c, 10 * n, 0, 10 * n + 10, 10) for n, c in enumerate("管理すること")]
    >>> cell_text(g, (0, 0, 60, 10)).text
    '管理すること'
"""

from __future__ import annotations

import bisect
import re
import statistics
from dataclasses import dataclass

from ..normalize import join_wrap, starts_list_entry

JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
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
    room: float = float("inf")  # pt left free at the end of its last line
    lead: float = 0.0  # pt its first line's first word needs (with a space): more than the room above, it wrapped


@dataclass
class PageRead:
    """What one page gave: rows of cells (``None`` where a spanned cell covers the grid position)."""

    number: int
    rows: list[list[Cell | None]]
    text_from: str  # "text-layer", "repaired-text-layer", "ocr" or "ocr-text-layer"
    grid_from: str  # "lines" or "image"
    open_foot: bool = False  # the table's vertical rules run on below its last rule: a row cut by the page end
    sliver: float | None = None  # the foot of an empty row a few pt tall near the top: the rest of a row cut before
    glyphs: dict | None = None  # the accounting of the text layer's characters inside the table (``account``)


class CellTooLong(Exception):
    """A cell holds more characters than ``limits.max_cell_chars`` (raised before its text is assembled)."""

    def __init__(self, count: int):
        super().__init__(count)
        self.count = count


# --- a cell's text -------------------------------------------------------------------------------------------

def cell_text(glyphs: list[Glyph], bbox: tuple[float, float, float, float], *, ocr: bool = False,
              max_chars: int | None = None) -> Cell:
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

    More than ``max_chars`` glyphs in the cell raise ``CellTooLong`` before any text is assembled.
    """
    x0, top, x1, bottom = bbox
    inside = [g for g in glyphs if x0 <= anchor_x(g) <= x1 and top <= (g.top + g.bottom) / 2 <= bottom]
    marks = [g for g in inside if g.text != " "]
    if not marks:
        return Cell("", bbox)
    if max_chars is not None and len(marks) > max_chars:
        raise CellTooLong(len(marks))
    size = ocr_size(marks) if ocr else statistics.median(g.height for g in marks)
    lines = [line for line in group_lines(inside, size) if any(g.text != " " for g in line)]
    gaps = [b.x0 - a.x1 for line in lines for a, b in zip(line, line[1:]) if " " not in (a.text, b.text)]
    spacing = max(0.0, statistics.median(gaps)) if gaps else 0.0  # letter spacing
    threshold = spacing + size * 0.2
    left, right = min(g.x0 for g in marks), max(g.x1 for g in marks)
    inner_right = max(right, x1 - (left - x0))  # as much padding on the right as on the left
    text, room, last_word, one_token, lead = "", 0.0, 0.0, False, 0.0
    for n, line in enumerate(lines):
        words = _line_text(line, threshold)
        first = _first_word(line, threshold)
        if n == 0:
            text, lead = words, first + threshold + size * 0.1
        elif ((room < max(size * 3, first + size) if ocr else room < first + threshold + size * 0.1)
              and (not _entry(words, ocr) or _wrapped_dot(text, words, room, size))):
            first_mark = next(g for g in line if g.text != " ")
            no_room = room < (first_mark.x1 - first_mark.x0) + 2 * spacing - size * 0.02  # the next letter did not fit
            cut_word = _latin(text[-1:]) and _latin(words[:1])
            mid_word = text[-1:].islower() and words[:1].islower()  # 「Inf」「ormation」: CJK wrapping cuts anywhere
            if cut_word and no_room and (mid_word or one_token and last_word + first > inner_right - left + size * 0.05):
                text += words
            else:
                text = join_wrap(text, words)
        else:
            text += "\n" + words
        marked = [g for g in line if g.text != " "]
        room = inner_right - max(g.x1 for g in marked)
        last_word = _first_word(line[::-1], threshold)
        one_token = last_word >= max(g.x1 for g in marked) - min(g.x0 for g in marked) - size * 0.05
    return Cell(text, bbox, room < size * 1.6, room, lead)


# Punctuation that a line may let hang past its end (ぶら下げ: reportlab, Word, InDesign do it).
HANGING = NOT_AT_LINE_START + ",.)]"


def anchor_x(g: Glyph) -> float:
    """The point of a glyph that says which cell it is in: its middle, or for punctuation that may
    hang past the end of a line, its left side (a hanging 「、」 overhangs the cell's padding, and may
    cross the rule into the next cell; it starts in its own cell).

    >>> anchor_x(Glyph("あ", 10, 0, 18, 8)), anchor_x(Glyph("、", 10, 0, 18, 8))
    (14.0, 10.5)
    """
    return g.x0 + (min((g.x1 - g.x0) * 0.1, 0.5) if g.text in HANGING else (g.x1 - g.x0) * 0.5)


def _wrapped_dot(before: str, line: str, room: float, size: float) -> bool:
    """A 「・」 that starts a line only because a producer without Japanese line breaking (LibreOffice
    Calc) wrapped before it: the line before is full and its sentence goes on (「持出し」「・管理」).

    >>> _wrapped_dot("情報の持出し", "・管理・破壊等", 0.5, 8.0), _wrapped_dot("次のとおり。", "・記録", 0.5, 8.0)
    (True, False)
    """
    return line.startswith("・") and room < size * 0.9 and not before.rstrip().endswith(("。", "：", ":"))


def _entry(line: str, ocr: bool) -> bool:
    return starts_list_entry(line) or (ocr and line.startswith("ー"))


def _line_text(line: list[Glyph], threshold: float) -> str:
    """A line's text: a space where one is drawn, or where the gap is wider than ``threshold``; between
    Latin and Japanese only where it is wider than a third of the type size, since LibreOffice and
    Word set a small gap there on their own (「ID について」 is 「IDについて」 as typed).

    >>> _line_text([Glyph("I", 0, 0, 4.25, 8.5), Glyph("D", 4.2, 0, 8.45, 8.5), Glyph("に", 10.2, 0, 18.7, 8.5)], 1.7)
    'IDに'
    """
    out, space, previous = "", False, None
    size = statistics.median(g.height for g in line) if line else 0.0
    for g in line:
        if g.text == " ":
            space = bool(out)
            continue
        gap = g.x0 - previous.x1 if previous is not None else 0.0
        mixed = previous is not None and _latin(previous.text) != _latin(g.text)
        if previous is not None and (space or gap > (max(threshold, size / 3) if mixed else threshold)):
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
    spaces = sorted(s.x0 for s in line if s.text == " ")
    for g in marks[1:]:
        if not _latin(g.text) or max(g.x0 - reach.x1, reach.x0 - g.x1) > threshold:
            break
        low, high = min(g.x0, reach.x0), max(g.x1, reach.x1)
        if bisect.bisect_right(spaces, high) > bisect.bisect_left(spaces, low):  # a drawn space between them
            break
        reach = g
    after = marks.index(reach) + 1
    while after < len(marks) and marks[after].text in NOT_AT_LINE_START:  # 「3.0」版」: 」 goes with 3.0
        reach, after = marks[after], after + 1
    return max(first.x1, reach.x1) - min(first.x0, reach.x0)


def ocr_size(words: list[Glyph]) -> float:
    """The type size of OCR words: the median width of a Japanese character in them (Tesseract boxes
    a word now and then two lines tall, so heights overstate it); heights where no word is Japanese.

    >>> ocr_size([Glyph("15.", 0, 0, 39, 69), Glyph("的", 50, 0, 79, 69), Glyph("管理", 0, 40, 62, 71)])
    30.0
    """
    widths = [(w.x1 - w.x0) / len(w.text) for w in words if w.text.strip() and JAPANESE.search(w.text)]
    return statistics.median(widths) if widths else statistics.median(w.height for w in words)


def group_lines(glyphs: list[Glyph], size: float) -> list[list[Glyph]]:
    """Glyphs grouped into the lines they stand on (middles within about half a character of the
    line's), top to bottom, each line left to right.

    Glyphs come in order of their middles, so each line's middles are sorted and its median is read
    off in constant time: linear after the sort, however long a line.
    """
    lines: list[list[Glyph]] = []
    middles: list[float] = []  # the middles of lines[-1], ascending
    for g in sorted(glyphs, key=lambda g: ((g.top + g.bottom) / 2, g.x0)):
        middle = (g.top + g.bottom) / 2
        if lines and abs(middle - _sorted_median(middles)) < size * 0.55:
            lines[-1].append(g)
            middles.append(middle)
        else:
            lines.append([g])
            middles = [middle]
    return [sorted(line, key=lambda g: g.x0) for line in lines]


def _sorted_median(values: list[float]) -> float:
    """The median of an ascending list (as ``statistics.median``).

    >>> _sorted_median([1.0, 2.0, 4.0]), _sorted_median([1.0, 2.0, 4.0, 8.0])
    (2.0, 3.0)
    """
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
