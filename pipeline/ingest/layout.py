"""OCR text dump → blocks of rows of cells, whatever the layout of each line.

An OCR dump of the table mixes three layouts, sometimes within one file:

- tab-separated rows, with empty cells kept (``a\\t\\tb``);
- the same, with a cell's paragraphs wrapped in ``<p>…</p>``;
- columns aligned with runs of spaces, a wrapped cell continuing on the next line.

A *block* is a run of non-blank lines of the same layout and width; column numbers mean the
same thing within a block only.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .. import textfile
from ..errors import SourceError
from ..limits import LIMITS, Limits
from ..model import Source

_P_CELL = re.compile(r"\s*<p\s*>(?P<inner>.*)</p\s*>\s*", re.I | re.S)
_P_BOUNDARY = re.compile(r"</p\s*>\s*<p\s*>", re.I)
_SPACED_SPLIT = re.compile(r"(?:[ ]{2,}|\u3000+)")
_SPACED_CELL = re.compile(r"\S(?:.*?\S)?(?=(?:[ ]{2,}|\u3000|$))")
_STARTS_THING = re.compile(r"^\s*(?:[①-⑳㉑-㉟㊱-㊿]|\d{1,2}(?:\s*\.\s*\d{1,2})*(?:\s*\.|\s)\s*\D)")


@dataclass
class RawCell:
    """One cell: its column in the block and its paragraphs (one unless the source split it)."""

    column: int
    paragraphs: list[str]
    bbox: tuple[float, float, float, float] | None = None  # PDF points (x0, top, x1, bottom), PDFs only


@dataclass
class RawRow:
    line: int  # 1-based line number in a text source; the row number in a PDF's table
    cells: list[RawCell]
    page: int | None = None  # PDFs only
    _index: dict[int, RawCell] | None = field(default=None, init=False, repr=False, compare=False)

    def source(self, file: str, cell: RawCell | None = None) -> Source:
        """Where this row (or one of its cells) was read: file and line, or file, page and cell box."""
        column = cell.column if cell else None
        if self.page is None:
            return Source(file, self.line, column=column)
        return Source(file, page=self.page, column=column, bbox=cell.bbox if cell else None)

    def cell(self, column: int) -> RawCell | None:
        """The (first) cell in ``column``; constant time once ``index_cells`` was called."""
        if self._index is not None:
            return self._index.get(column)
        for cell in self.cells:
            if cell.column == column:
                return cell
        return None

    def index_cells(self) -> None:
        """Index the cells by column (the first of each), once the row's cells no longer change."""
        self._index = {}
        for cell in self.cells:
            self._index.setdefault(cell.column, cell)

    def columns(self) -> list[int]:
        """The columns that have a cell, left to right."""
        return sorted({cell.column for cell in self.cells})


@dataclass
class RawBlock:
    layout: str  # "tsv", "spaced", "text" or "pdf"
    rows: list[RawRow] = field(default_factory=list)


def read_text(path: Path, *, limits: Limits = LIMITS) -> str:
    """Given an OCR text dump, return its text (``textfile.read_text``: UTF-8, UTF-16 or Shift_JIS,
    line ends as ``\\n``); one clear error for a file that is not such text."""
    return textfile.read_text(path, limits=limits, what="OCR テキスト")


def check_cells(blocks: list[RawBlock], path: Path, *, limits: Limits = LIMITS) -> None:
    """Refuse a cell longer than ``limits.max_cell_chars``, naming its line and column: a lost row or
    column separator that would glue a whole dump into one cell."""
    for block in blocks:
        for row in block.rows:
            for cell in row.cells:
                size = sum(len(p) for p in cell.paragraphs) + len(cell.paragraphs) - 1
                if size > limits.max_cell_chars:
                    raise SourceError(f"{path}:{row.line}行: {cell.column + 1}列目のセルが長すぎます（{size:,} 文字、"
                                      f"上限 {limits.max_cell_chars:,} 文字）。行やセルの区切り（改行・タブ）が抜けていないか確かめてください"
                                      "（上限は manifest.toml の [limits] の max_cell_chars）")


def text_to_blocks(text: str) -> list[RawBlock]:
    """Given the text of an OCR dump, return its blocks of rows.

    >>> [b.layout for b in text_to_blocks("表題\\n\\na\\tb\\n\\tc\\n")]
    ['text', 'tsv']
    """
    blocks: list[RawBlock] = []
    current: RawBlock | None = None
    current_key = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            current, current_key = None, None
            continue
        layout, key = _line_layout(line)
        if layout == "text" and current_key == ("spaced",) and line.startswith("  "):
            layout, key = "spaced", ("spaced",)  # an indented continuation of a space-aligned cell
        if current is None or key != current_key:
            current = RawBlock(layout)
            current_key = key
            blocks.append(current)
        if layout == "tsv":
            current.rows.append(RawRow(number, _tsv_cells(line)))
        elif layout == "spaced":
            current.rows.append(RawRow(number, _spaced_cells(line)))
        else:
            current.rows.append(RawRow(number, [RawCell(0, [line.strip()])]))
    for block in blocks:
        if block.layout == "spaced":
            _align_spaced(block)
    return blocks


def _line_layout(line: str) -> tuple[str, tuple]:
    if "\t" in line:
        return "tsv", ("tsv", line.count("\t"))
    if len(_SPACED_SPLIT.split(line.strip())) >= 2:
        return "spaced", ("spaced",)
    return "text", ("text",)


def split_paragraphs(cell: str) -> list[str]:
    """Given one cell's text, return its paragraphs: ``<p>`` elements when the whole cell is made of
    them (entities decoded), or the lines of the cell. A tag inside a paragraph, or in a cell that is
    not made of paragraphs, is the source's text.

    >>> split_paragraphs("<p>① 一つ目</p> <p>② 二つ目 &amp; </p>")
    ['① 一つ目', '② 二つ目 &']
    >>> split_paragraphs("① 本文に </p> とある")
    ['① 本文に </p> とある']
    >>> split_paragraphs("<p>① 本文に </p> とある</p>")
    ['① 本文に </p> とある']
    """
    cell_of_paragraphs = _P_CELL.fullmatch(cell)
    if cell_of_paragraphs:
        parts = [html.unescape(part).strip() for part in _P_BOUNDARY.split(cell_of_paragraphs["inner"])]
    else:
        parts = [part.strip() for part in cell.split("\n")]
    return [part for part in parts if part]


def _tsv_cells(line: str) -> list[RawCell]:
    cells = []
    for column, text in enumerate(line.split("\t")):
        paragraphs = split_paragraphs(text)
        if paragraphs:
            cells.append(RawCell(column, paragraphs))
    return cells


def display_width(text: str) -> int:
    """Given text, return its width in a monospaced layout (CJK characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _spaced_cells(line: str) -> list[RawCell]:
    """Cells of a space-aligned line, each with its display start column (renumbered by ``_align_spaced``).

    Widths are summed as the line is walked, so a very long line costs linear time.
    """
    cells = []
    position, last = 0, 0
    for match in _SPACED_CELL.finditer(line):
        position += display_width(line[last:match.start()])
        last = match.start()
        cells.append(RawCell(position, [match.group().strip()]))
    return cells


def _align_spaced(block: RawBlock) -> None:
    """Number the columns of a space-aligned block and join wrapped continuation lines.

    Column starts within two display cells of each other are one column. A line none of whose
    cells starts an item (①) or a heading (1.1) continues the cells above it. Linear in the
    block's size: columns are found by bisection, and a continued cell gathers its pieces before
    they are joined once.
    """
    starts = sorted({cell.column for row in block.rows for cell in row.cells})
    columns: list[int] = []
    for start in starts:
        if not columns or start - columns[-1] > 2:
            columns.append(start)
    for row in block.rows:
        for cell in row.cells:
            cell.column = bisect.bisect_right(columns, cell.column + 2) - 1
    joined: list[RawRow] = []
    by_column: dict[int, RawCell] = {}  # the cells of joined[-1], first per column
    pieces: dict[int, tuple[RawCell, list[str]]] = {}  # id(cell) → the cell and the pieces of its last paragraph
    for row in block.rows:
        starts_thing = any(_STARTS_THING.match(cell.paragraphs[0]) for cell in row.cells)
        if joined and not starts_thing:
            previous = joined[-1]
            added = False
            for cell in row.cells:
                above = by_column.get(cell.column)
                if above is None:
                    previous.cells.append(cell)
                    by_column[cell.column] = cell
                    added = True
                else:
                    parts = pieces.setdefault(id(above), (above, [above.paragraphs[-1]]))[1]
                    piece = " ".join(cell.paragraphs)
                    parts.append(" " + piece if parts[-1] and piece and parts[-1][-1].isascii() and piece[0].isascii() else piece)
            if added:
                previous.cells.sort(key=lambda c: c.column)
        else:
            joined.append(row)
            by_column = {}
            for cell in row.cells:
                by_column.setdefault(cell.column, cell)
    for cell, parts in pieces.values():
        cell.paragraphs[-1] = "".join(parts)
    block.rows = joined
