"""The ``ingest`` stage: an edition's sources → table rows of placed 遵守事項, and problems.

One reader per source kind; each returns the same ``SourceResult`` so that everything
downstream is the same whatever the source was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from ..model import Problem, TableRow
from .layout import read_text, text_to_blocks
from .manifest import Edition, SourceSpec, Toc, find_editions, load_edition
from .table import read_block

__all__ = ["Edition", "SourceResult", "find_editions", "ingest", "load_edition", "read_source"]


@dataclass
class SourceResult:
    """What one source gave: its rows, what could not be placed, and how many lines or pages were read."""

    rows: list[TableRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    units_read: int = 0  # lines of a text dump
    pages: list[dict] = field(default_factory=list)  # PDFs: how each page was read


def read_ocr_text(path: Path, *, toc: Toc, label: str | None = None) -> SourceResult:
    """Given an OCR text dump of the table, return its rows; ``label`` is the file name recorded in sources."""
    text = read_text(path)
    file = label or path.name
    result = SourceResult(units_read=len(text.splitlines()))
    for block in text_to_blocks(text):
        block_result = read_block(block, file=file, toc=toc)
        result.rows.extend(block_result.rows)
        result.problems.extend(block_result.problems)
    if not result.rows:
        raise SourceError(f"{path}: 相関表の行が一つも読めません（遵守事項 ①… と記載箇所 「1.1 …」 のある行がありません）")
    return result


def read_pdf(path: Path, *, toc: Toc, label: str | None = None) -> SourceResult:
    """Given a PDF of the table (born-digital or scanned), return its rows; sources carry page and cell box."""
    from .pdf import read_pdf_block

    block, table = read_pdf_block(path)
    result = read_block(block, file=label or path.name, toc=toc)
    if not result.rows:
        raise SourceError(f"{path}: 表はありますが、遵守事項 ①… と記載箇所 「1.1 …」 のある行が一つも読めません")
    return SourceResult(result.rows, result.problems, pages=table.pages_summary())


READERS = {"ocr-text": read_ocr_text, "pdf": read_pdf}


def read_source(spec: SourceSpec, *, toc: Toc, label: str) -> SourceResult:
    return READERS[spec.kind](spec.path, toc=toc, label=label)


def ingest(edition: Edition) -> SourceResult:
    """Given an edition, read all its sources; rows keep their source order."""
    total = SourceResult()
    for spec in edition.sources:
        # Recorded relative to raw/ (「6.0/correlation-table-v6.0.ocr.txt」), so outputs do not depend on where raw/ is.
        label = spec.path.relative_to(edition.folder.parent).as_posix()
        result = read_source(spec, toc=edition.toc, label=label)
        total.rows.extend(result.rows)
        total.problems.extend(result.problems)
        total.units_read += result.units_read
        total.pages.extend({"file": label, **page} for page in result.pages)
    return total
