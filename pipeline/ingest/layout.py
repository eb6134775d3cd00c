"""OCR text dump → blocks of rows of cells, whatever the layout of each line.

An OCR dump of the table mixes three layouts, sometimes within one file:

- tab-separated rows, with empty cells kept (``a\\t\\tb``);
- the same, with a cell's paragraphs wrapped in ``<p>…</p>``;
- columns aligned with runs of spaces, a wrapped cell continuing on the next line.

A *block* is a run of non-blank lines of the same layout and width; column numbers mean the
same thing within a block only.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from ..model import Source
from ..normalize import join_wrap

_P_TAG = re.compile(r"</?p\s*>", re.I)
_SPACED_SPLIT = re.compile(r"(?:[ ]{2,}|\u3000+)")
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

    def source(self, file: str, cell: RawCell | None = None) -> Source:
        """Where this row (or one of its cells) was read: file and line, or file, page and cell box."""
        column = cell.column if cell else None
        if self.page is None:
            return Source(file, self.line, column=column)
        return Source(file, page=self.page, column=column, bbox=cell.bbox if cell else None)

    def cell(self, column: int) -> RawCell | None:
        for cell in self.cells:
            if cell.column == column:
                return cell
        return None


@dataclass
class RawBlock:
    layout: str  # "tsv", "spaced", "text" or "pdf"
    rows: list[RawRow] = field(default_factory=list)


def read_text(path: Path) -> str:
    """Given a text file, return its text; one clear error for a file that is not UTF-8 text."""
    data = path.read_bytes()
    if not data.strip():
        raise SourceError(f"{path}: 空のファイルです")
    if b"\x00" in data[:4096]:
        raise SourceError(f"{path}: テキストではありません（バイナリファイル）")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(f"{path}:{line}行: UTF-8 として読めません（{exc.start} バイト目）") from None


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
    """Given one cell's text, return its paragraphs: ``<p>`` elements, or the lines of the cell.

    >>> split_paragraphs("<p>① 一つ目</p> <p>② 二つ目</p>")
    ['① 一つ目', '② 二つ目']
    """
    if _P_TAG.search(cell):
        parts = [html.unescape(part).strip() for part in _P_TAG.split(cell)]
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
    """Cells of a space-aligned line, each with its display start column (renumbered by ``_align_spaced``)."""
    cells = []
    position = 0
    for match in re.finditer(r"\S(?:.*?\S)?(?=(?:[ ]{2,}|\u3000|$))", line):
        start = display_width(line[: match.start()])
        position = start
        cells.append(RawCell(position, [match.group().strip()]))
    return cells


def _align_spaced(block: RawBlock) -> None:
    """Number the columns of a space-aligned block and join wrapped continuation lines.

    Column starts within two display cells of each other are one column. A line none of whose
    cells starts an item (①) or a heading (1.1) continues the cells above it.
    """
    starts = sorted({cell.column for row in block.rows for cell in row.cells})
    columns: list[int] = []
    for start in starts:
        if not columns or start - columns[-1] > 2:
            columns.append(start)
    for row in block.rows:
        for cell in row.cells:
            cell.column = max(i for i, start in enumerate(columns) if start <= cell.column + 2)
    joined: list[RawRow] = []
    for row in block.rows:
        starts_thing = any(_STARTS_THING.match(cell.paragraphs[0]) for cell in row.cells)
        if joined and not starts_thing:
            previous = joined[-1]
            for cell in row.cells:
                above = previous.cell(cell.column)
                if above is None:
                    previous.cells.append(cell)
                    previous.cells.sort(key=lambda c: c.column)
                else:
                    above.paragraphs[-1] = join_wrap(above.paragraphs[-1], " ".join(cell.paragraphs))
        else:
            joined.append(row)
    block.rows = joined
