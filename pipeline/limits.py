"""Limits on what a source, a build and a query may hold: settings with sane defaults.

Every limit exists so that a hostile or broken input ends in one clear line (exit 2) instead of a
hang or an exhausted machine. A maintainer raises one for an edition in ``manifest.toml``::

    [limits]
    max_pdf_pages = 5000

The real sample is far below each: 2 KB cells at most, 11 A3 pages, 30-character queries.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 200 * 2**20  # one source file
    max_text_lines: int = 200_000  # lines of a text source (the sample has 125)
    max_pdf_pages: int = 2_000  # pages of one PDF
    max_page_points: float = 5_000.0  # a page side in PDF points (A0 is 3,370 pt; PDF allows 14,400)
    max_page_objects: int = 200_000  # characters, lines, rectangles and curves drawn on one page
    max_page_cells: int = 10_000  # ruled cells on one page (pdfplumber's table finder is quadratic in them)
    max_cell_chars: int = 20_000  # characters in one table cell (the sample's longest is ~600)
    max_field_chars: int = 2_000  # one field of manifest.toml, toc.tsv or corrections.tsv
    max_query_chars: int = 1_000  # one search query
    max_query_words: int = 32  # words of one search query, after splitting on spaces

    def with_overrides(self, values: dict) -> Limits:
        """Given ``{"max_pdf_pages": 5000}`` (already validated), return these limits with it changed.

        >>> Limits().with_overrides({"max_pdf_pages": 5}).max_pdf_pages
        5
        """
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in values.items() if k in known})


LIMITS = Limits()
