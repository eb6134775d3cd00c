"""The ``ingest`` stage: an edition's sources → table rows of placed 遵守事項, and problems.

One reader per source kind; each returns the same ``SourceResult`` so that everything
downstream is the same whatever the source was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from ..limits import LIMITS, Limits
from ..model import Problem, TableRow
from .layout import check_cells, read_text, text_to_blocks
from .manifest import Edition, SourceSpec, Toc, find_editions, load_edition, load_editions
from .table import read_block

__all__ = ["Edition", "SourceResult", "find_editions", "ingest", "load_edition", "load_editions", "read_source"]


@dataclass
class SourceResult:
    """What one source gave: its rows, what could not be placed, and how many lines or pages were read."""

    rows: list[TableRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    units_read: int = 0  # lines of a text dump
    pages: list[dict] = field(default_factory=list)  # PDFs: how each page was read
    warnings: list[str] = field(default_factory=list)  # one line each, naming the file: read, but worth a look


def read_ocr_text(path: Path, *, toc: Toc, label: str | None = None, limits: Limits = LIMITS) -> SourceResult:
    """Given an OCR text dump of the table, return its rows; ``label`` is the file name recorded in sources."""
    text = read_text(path, limits=limits)
    file = label or path.name
    result = SourceResult(units_read=len(text.splitlines()))
    blocks = text_to_blocks(text)
    check_cells(blocks, path, limits=limits)
    carried: dict = {}  # the 記載箇所 in force where the blocks so far ended, per volume
    for block in blocks:
        block_result = read_block(block, file=file, toc=toc, carried=carried)
        result.rows.extend(block_result.rows)
        result.problems.extend(block_result.problems)
    if not result.rows:
        raise SourceError(f"{path}: 相関表の行が一つも読めません（遵守事項 ①… と記載箇所 「1.1 …」 のある行がありません）。"
                          "manifest.toml の file と kind がこの表のファイルを指しているか確かめてください")
    return result


def read_pdf(path: Path, *, toc: Toc, label: str | None = None, limits: Limits = LIMITS) -> SourceResult:
    """Given a PDF of the table (born-digital or scanned), return its rows; sources carry page and cell box."""
    from .pdf import read_pdf_block

    block, table = read_pdf_block(path, limits=limits)
    result = read_block(block, file=label or path.name, toc=toc)
    if not result.rows:
        raise SourceError(f"{path}: 表はありますが、遵守事項 ①… と記載箇所 「1.1 …」 のある行が一つも読めません。"
                          "各編間相関表の PDF か確かめてください")
    warnings = [f"{path}: {finding}" for finding in table.findings]
    return SourceResult(result.rows, result.problems, pages=table.pages_summary(), warnings=warnings)


READERS = {"ocr-text": read_ocr_text, "pdf": read_pdf}


def read_source(spec: SourceSpec, *, toc: Toc, label: str, limits: Limits = LIMITS) -> SourceResult:
    """Given one source of an edition, read it with the reader for its kind, within ``limits``."""
    return READERS[spec.kind](spec.path, toc=toc, label=label, limits=limits)


def ingest(edition: Edition) -> SourceResult:
    """Given an edition, read all its sources (within the edition's limits); rows keep their source order."""
    limits = getattr(edition, "limits", LIMITS)
    total = SourceResult()
    for spec in edition.sources:
        # Recorded relative to raw/ (「6.0/correlation-table-v6.0.ocr.txt」), so outputs do not depend on where raw/ is.
        label = spec.path.relative_to(edition.folder.parent).as_posix()
        result = read_source(spec, toc=edition.toc, label=label, limits=limits)
        total.rows.extend(result.rows)
        total.problems.extend(result.problems)
        total.units_read += result.units_read
        total.pages.extend({"file": label, **page} for page in result.pages)
        total.warnings.extend(result.warnings)
    return total
