"""The one line for a page that cannot be read: the file, the page, what is wrong, what to do.

Whatever PyMuPDF, pdfminer, OpenCV or Tesseract raise on a page becomes one of these lines in a
``SourceError``; MuPDF's own messages are kept off stderr (``pymupdf_quiet``).
"""

from __future__ import annotations

from pathlib import Path

from ..limits import Limits

REMAKE_PDF = "元の PDF を取り直すか、PDF に保存し直して（印刷して PDF にするなど）ください"


def pymupdf_quiet():
    """PyMuPDF, with MuPDF's own error and warning lines off stderr (the CLI prints one line)."""
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    return pymupdf


def release_images() -> None:
    """Empty MuPDF's store of decoded images after a page of pictures is rendered: every scanned page's
    picture is its own, so keeping it only makes the memory grow with the pages read (MuPDF's
    default store holds up to 256 MB)."""
    import pymupdf

    pymupdf.TOOLS.store_shrink(100)


# What the libraries' messages mean, for the maintainer who reads the line.
_EXPLAINED = (
    ("cycle in page tree", "ページツリーが循環しています"),
    ("Invalid number of pages", "ページツリーのページ数（/Count）が実際のページと合いません"),
    ("Unexpected EOF", "途中で切れています"),
    ("Overly large", "画像が大きすぎます"),
    ("xref", "相互参照表（xref）が壊れています"),
)


def detail(exc: BaseException, width: int = 160) -> str:
    """An exception as a short single line: what it means, where known, then its type and message.

    >>> detail(ValueError("bad\\nthing"))
    'ValueError: bad thing'
    >>> detail(RuntimeError("code=7: cycle in page tree"))
    'ページツリーが循環しています: RuntimeError: code=7: cycle in page tree'
    """
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    meaning = next((japanese for key, japanese in _EXPLAINED if key in text), "")
    text = f"{meaning}: {text}" if meaning else text
    return text if len(text) <= width else text[: width - 1] + "…"


def page_error(path: Path, number: int, exc: BaseException) -> str:
    """The one line for any failure while reading one page of a PDF."""
    return f"{path}:{number}ページ: ページの内容が読めません（{detail(exc)}）。{REMAKE_PDF}"


def grid_error(path: Path, number: int, cells: int, limits: Limits) -> str:
    """The one line for a page ruled into more cells than ``max_page_cells``."""
    return (f"{path}:{number}ページ: 罫線の格子が細かすぎます（ます目 約 {cells:,} 個、上限 {limits.max_page_cells:,} 個）。"
            "相関表のページか確かめてください（方眼紙のような罫線のページは読めません）")


def cell_error(path: Path, number: int, count: int, limits: Limits) -> str:
    """The one line for a PDF cell over ``limits.max_cell_chars``."""
    return (f"{path}:{number}ページ: セルの文字が多すぎます（{count:,} 文字、上限 {limits.max_cell_chars:,} 文字）。"
            "罫線で区切られた相関表か確かめるか、manifest.toml の [limits] で max_cell_chars を上げてください")
