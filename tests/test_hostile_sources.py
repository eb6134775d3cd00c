"""Hostile and broken source files — PDFs, OCR text dumps, corrections.tsv, toc.tsv — and faults
while reading them (a library raising, Tesseract or its Japanese data missing).

Every case: build a knowledge base from the real raw/, break one source, build again. The second
build is refused with one line (exit 2) that names the file (and line or page), says what is wrong
and what to do; no traceback, no hang; extracted/ and site/ are byte-identical.

Also: the sample saved as UTF-16, Shift_JIS, with a BOM, CRLF or CR line ends gives the same
requirements; an owner-password or JavaScript PDF is read and named in the report; 3,000 blank
pages are skipped in seconds; layout, normalization and correction are linear in text length.
"""

from __future__ import annotations

import errno
import json
import shutil
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from pipeline.correct import correct_text, load_overrides
from pipeline.errors import ManifestError, SourceError
from pipeline.ingest import read_ocr_text, read_pdf
from pipeline.ingest.layout import text_to_blocks
from pipeline.ingest.manifest import Toc
from pipeline.limits import LIMITS, Limits
from pipeline.normalize import clean
from pipeline.textfile import read_text

from .conftest import REPO, SAMPLE, assert_refused, copy_raw, run_cli, snapshot
from .corpus import FONT_FILE, make, raw_pdf

S = SAMPLE.name  # the OCR text dump of the real sample
SAMPLE_BYTES = SAMPLE.read_bytes()
SAMPLE_LINES = SAMPLE_BYTES.decode("utf-8").split("\n")


# --- making bad files -----------------------------------------------------------------------------------

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def page_tree_pdf(pages: bytes, *kids: bytes) -> bytes:
    """A catalog, the given /Pages node (object 2) and kids (objects 3…)."""
    return raw_pdf([CATALOG, pages, *kids])


def content_pdf(content: bytes, *, resources: bytes = b"<< >>", size: tuple[int, int] = (595, 842)) -> bytes:
    """One page drawing ``content`` (compressed)."""
    stream = zlib.compress(content)
    return page_tree_pdf(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                         b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R /Resources %s >>" % (*size, resources),
                         b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")


def blank_pdf(pages: int) -> bytes:
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page()
    return doc.tobytes(no_new_id=True)


def image_pdf(images: list[np.ndarray]) -> bytes:
    """Pages that are only images (grey arrays), as a scanner makes them."""
    doc = pymupdf.open()
    for gray in images:
        page = doc.new_page(width=842, height=595)
        pix = pymupdf.Pixmap(pymupdf.csGRAY, gray.shape[1], gray.shape[0], gray.tobytes(), False)
        page.insert_image(page.rect, pixmap=pix)
    return doc.tobytes(no_new_id=True)


def ruled_scan() -> np.ndarray:
    """A scanned page with a ruled 4 × 4 grid and a row of small marks (like letters) in each cell, no text layer."""
    gray = np.full((1240, 1754), 255, dtype=np.uint8)
    for y in np.linspace(100, 1140, 5).astype(int):
        gray[y - 2:y + 2, 100:1654] = 0
    for x in np.linspace(100, 1654, 5).astype(int):
        gray[100:1140, x - 2:x + 2] = 0
    for y in np.linspace(100, 1140, 5).astype(int)[:-1]:
        for x in np.linspace(100, 1654, 5).astype(int)[:-1]:
            for dx in range(40, 200, 16):
                gray[y + 40:y + 48, x + dx:x + dx + 8] = 0
    return gray


def ruled_pdf(lines: int, gap: float) -> bytes:
    """One page ruled like graph paper: ``lines`` horizontal and vertical hairlines ``gap`` points apart."""
    side = int(lines * gap + 40)
    horizontal = b"".join(b"20 %.2f m %d %.2f l S\n" % (20 + i * gap, side - 20, 20 + i * gap) for i in range(lines))
    vertical = b"".join(b"%.2f 20 m %.2f %d l S\n" % (20 + i * gap, 20 + i * gap, side - 20) for i in range(lines))
    return content_pdf(horizontal + vertical, size=(side, side))


def graph_paper_scan(lines: int = 150) -> np.ndarray:
    """A scanned page of graph paper: ``lines`` ruled lines each way, no text layer."""
    gray = np.full((1240, 1754), 255, dtype=np.uint8)
    for y in np.linspace(20, 1220, lines).astype(int):
        gray[y - 1:y + 1, 20:1734] = 0
    for x in np.linspace(20, 1734, lines).astype(int):
        gray[20:1220, x - 1:x + 1] = 0
    return gray


def long_cell_pdf(path: Path, chars: int) -> None:
    """A born-digital ruled table (IPA Gothic text layer) whose one big cell holds ``chars`` characters."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("IPAGothic", str(FONT_FILE)))
    width, height = 1191, 842
    pdf = canvas.Canvas(str(path), pagesize=(width, height), invariant=1)
    xs, ys = (40, 240, 1150), (40, 120, 800)
    for x in xs:
        pdf.line(x, ys[0], x, ys[-1])
    for y in ys:
        pdf.line(xs[0], y, xs[-1], y)
    pdf.setFont("IPAGothic", 10)
    pdf.drawString(50, 770, "1.1 法令に関する遵守")
    pdf.setFont("IPAGothic", 2.5)
    per_line = int((xs[2] - xs[1] - 20) / 2.5)
    text = ("遵守事項を定めること" * (chars // 10 + 1))[:chars]
    for n in range(0, chars, per_line):
        pdf.drawString(xs[1] + 10, 790 - (n // per_line) * 2.6, text[n:n + per_line])
    pdf.showPage()
    pdf.save()


def sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that takes no room on disk."""
    with path.open("wb") as f:
        f.truncate(size)


def add_source(folder: Path, name: str, kind: str) -> None:
    manifest = folder / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + f'\n[[sources]]\nfile = "{name}"\nkind = "{kind}"\n', encoding="utf-8")


def add_pdf(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    add_source(folder, name, "pdf")
    return name


def replace_sample(folder: Path, data: bytes) -> str:
    (folder / S).write_bytes(data)
    return S


def sample_with_line(line_number: int, data: bytes) -> bytes:
    """The sample with ``data`` put at the start of the given line."""
    lines = SAMPLE_BYTES.split(b"\n")
    lines[line_number - 1] = data + lines[line_number - 1]
    return b"\n".join(lines)


def deny_reading(monkeypatch, name: str) -> None:
    """Reading ``name`` fails as without read permission (the tests may run as root, who can read anything)."""
    real_open = Path.open

    def guarded(self, *args, **kwargs):
        if self.name == name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)


def spaced_block_with_long_cell() -> bytes:
    """A space-aligned row whose 遵守事項 cell goes on for thousands of indented continuation lines."""
    first = "1.1 法令に関する遵守        ① 法令を遵守すること"
    more = ["                             続けて遵守すること"] * 3000
    return SAMPLE_BYTES.rstrip(b"\n") + ("\n\n" + "\n".join([first, *more]) + "\n").encode("utf-8")


def first_long_cell_line(limit: int) -> int:
    """The line of the sample's first cell longer than ``limit`` characters."""
    for block in text_to_blocks(SAMPLE_BYTES.decode("utf-8")):
        for row in block.rows:
            for cell in row.cells:
                if sum(len(p) for p in cell.paragraphs) + len(cell.paragraphs) - 1 > limit:
                    return row.line
    raise AssertionError("no cell that long")


# --- the cases ------------------------------------------------------------------------------------------

@dataclass
class Case:
    """One hostile source: ``make(edition folder, monkeypatch, tmp)`` breaks it and returns the file name
    the message must name; ``expected`` are further strings the line must hold (line or page first)."""

    id: str
    make: Callable[[Path, pytest.MonkeyPatch, Path], str]
    expected: tuple[str, ...]
    marks: list = field(default_factory=list)


def _corrections(text: str, encoding: str = "utf-8") -> Callable:
    def make(folder, monkeypatch, tmp):
        (folder / "corrections.tsv").write_bytes(text.encode(encoding) if isinstance(text, str) else text)
        return "corrections.tsv"
    return make


def _folder_instead(name: str) -> Callable:
    def make(folder, monkeypatch, tmp):
        target = folder / name
        target.unlink()
        target.mkdir()
        (target / "x.txt").write_text("x", encoding="utf-8")
        return name
    return make


def _monkeypatched_pdf(pdf: Callable[[Path], bytes], patch: Callable[[pytest.MonkeyPatch, Path], None], name: str) -> Callable:
    def make(folder, monkeypatch, tmp):
        add_pdf(folder, name, pdf(tmp))
        patch(monkeypatch, tmp)
        return name
    return make


def _good_pdf(tmp: Path) -> bytes:
    return make("truetype", tmp / "corpus", rows=slice(0, 6)).path.read_bytes()


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _raise(exc: BaseException):
    def raising(*args, **kwargs):
        raise exc
    return raising


def _no_tesseract(monkeypatch, tmp):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp / "no-such-dir" / "tesseract"))


def _no_jpn(monkeypatch, tmp):
    (tmp / "tessdata").mkdir(exist_ok=True)
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp / "tessdata"))


def _tesseract_fails(monkeypatch, tmp):
    from pipeline.ingest import scan

    monkeypatch.setattr(scan, "ocr_words", _raise(RuntimeError("Tesseract: Segmentation fault in page layout")))


def _opencv_fails(monkeypatch, tmp):
    import cv2

    from pipeline.ingest import scan

    monkeypatch.setattr(scan, "find_grid", _raise(cv2.error("OpenCV(4.x) error: (-215:Assertion failed) in function 'morphologyEx'")))


def _pdfplumber_fails(monkeypatch, tmp):
    import pdfplumber.page

    monkeypatch.setattr(pdfplumber.page.Page, "find_tables", _raise(KeyError("/Resources")))


def _limits_in_manifest(folder, monkeypatch, tmp):
    manifest = folder / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n[limits]\nmax_cell_chars = 300\n", encoding="utf-8")
    return S


def _broken_symlink(folder, monkeypatch, tmp):
    (folder / "corrections.tsv").unlink()
    (folder / "corrections.tsv").symlink_to(folder / "nowhere.tsv")
    return "corrections.tsv"


def _toc(data: bytes) -> Callable:
    def make(folder, monkeypatch, tmp):
        (folder / "toc.tsv").write_bytes(data)
        return "toc.tsv"
    return make


BAD_PAGE_CONTENT = b"BT /F1 12 Tf 100 700 Td (Hello) Tj ET 10 w 50 50 m 500 500 l S"
BAD_TYPE3_FONT = (b"<< /Font << /F1 << /Type /Font /Subtype /Type3 /FontMatrix [ /a /b /c ] /FontBBox [0 0 1 1] /CharProcs << >> "
                  b"/Encoding << /Differences [ 72 /H ] >> /FirstChar 0 /LastChar 255 /Widths [ /x ] >> >> >>")
MANY_RECTS = b"".join(b"%d %d 1 1 re f\n" % (i % 500, (i // 500) % 800) for i in range(LIMITS.max_page_objects + 50_000))
GOOD_TSV = "accept\tgov-1.1-1\tの安全管理に開示する法令等\tの安全管理に関する法令等\tメモ\n"
LONG_CELL_LINE = len(SAMPLE_LINES) + 1 if SAMPLE_LINES[-1] else len(SAMPLE_LINES)


CASES = [
    # --- OCR text dumps ---
    Case("text-empty", lambda d, m, t: replace_sample(d, b""), ("空のファイル",)),
    Case("text-bom-and-blank-lines", lambda d, m, t: replace_sample(d, "\ufeff\r\n \r\n".encode("utf-8")), ("空のファイル",)),
    Case("text-png", lambda d, m, t: replace_sample(d, b"\x89PNG\r\n\x1a\n\x00\x00IHDR"), (f"{S}:3行", "NUL", "バイナリ")),
    Case("text-nul-on-line-100", lambda d, m, t: replace_sample(d, sample_with_line(100, b"\x00")), (f"{S}:100行", "NUL")),
    Case("text-utf16-without-bom", lambda d, m, t: replace_sample(d, SAMPLE_BYTES.decode("utf-8").encode("utf-16-le")),
         (f"{S}:1行", "BOM のない UTF-16")),
    Case("text-bad-byte-on-line-60", lambda d, m, t: replace_sample(d, sample_with_line(60, b"\xff\xfe")),
         (f"{S}:60行", "UTF-8 として読めません")),
    Case("text-cr-line-ends-bad-byte-on-line-50", lambda d, m, t: replace_sample(d, sample_with_line(50, b"\xff").replace(b"\n", b"\r")),
         (f"{S}:50行", "UTF-8 として読めません")),
    Case("text-latin-1", lambda d, m, t: replace_sample(d, "1.1 r\xe9sum\xe9\t\xa9 caf\xe9 \n".encode("latin-1")),
         (f"{S}:1行", "UTF-8 として読めません", "Shift_JIS としても読めません")),
    Case("text-utf16-lone-surrogate", lambda d, m, t: replace_sample(d, b"\xff\xfe" + "①\n表\n".encode("utf-16-le") + b"\x00\xd8a\x00"),
         (f"{S}:3行", "UTF-16 として読めません")),
    Case("text-over-max-file-bytes", lambda d, m, t: (sparse(d / S, LIMITS.max_file_bytes + 1), S)[1], ("大きすぎます", "max_file_bytes")),
    Case("text-over-max-text-lines", lambda d, m, t: replace_sample(d, SAMPLE_BYTES + b"\n" * LIMITS.max_text_lines),
         ("行が多すぎます", "max_text_lines")),
    Case("text-not-readable", lambda d, m, t: (deny_reading(m, S), S)[1], ("権限がありません",)),
    Case("text-folder-instead-of-file", _folder_instead(S), ("フォルダ",)),
    Case("text-5mb-tsv-cell", lambda d, m, t: replace_sample(d, SAMPLE_BYTES.rstrip(b"\n") + ("\n1.1 法令\t① " + "遵守" * 2_500_000 + "\n").encode("utf-8")),
         (f"{S}:{LONG_CELL_LINE}行", "2列目のセルが長すぎます", "max_cell_chars")),
    Case("text-3mb-line", lambda d, m, t: replace_sample(d, SAMPLE_BYTES.rstrip(b"\n") + ("\n" + "あ" * 3_000_000 + "\n").encode("utf-8")),
         (f"{S}:{LONG_CELL_LINE}行", "セルが長すぎます")),
    Case("text-cell-continued-3000-lines", lambda d, m, t: replace_sample(d, spaced_block_with_long_cell()),
         (f"{S}:{LONG_CELL_LINE + 1}行", "セルが長すぎます")),
    Case("text-limit-from-manifest", _limits_in_manifest, (f"{S}:{first_long_cell_line(300)}行", "上限 300 文字")),
    Case("text-prose-only", lambda d, m, t: replace_sample(d, "ただの文章です。\r\n".encode("utf-8")), ("相関表の行が一つも読めません",)),
    # --- corrections.tsv ---
    Case("corrections-quote-swallows-lines", _corrections(f'accept\tgov-1.1-1\t"a\tb\n# メモ\n\n{GOOD_TSV}bad line\n'),
         ("corrections.tsv:5行", "の形ではありません")),
    Case("corrections-folder", _folder_instead("corrections.tsv"), ("フォルダ",)),
    Case("corrections-bad-utf8", _corrections(GOOD_TSV.encode("utf-8") * 2 + b"add\tx\t\xff\xfe\ty\n"), ("corrections.tsv:3行", "UTF-8 として読めません")),
    Case("corrections-200kb-field", _corrections(GOOD_TSV * 3 + "add\tgov-1.1-1\t" + "あ" * 200_000 + "\tb\n"),
         ("corrections.tsv:4行", "3列目が長すぎます", "max_field_chars")),
    Case("corrections-nul", _corrections(GOOD_TSV.encode("utf-8") + b"add\tx\x00\ty\tz\n"), ("corrections.tsv:2行", "NUL")),
    Case("corrections-broken-symlink", _broken_symlink, ("ファイルがありません",)),
    # --- toc.tsv ---
    Case("toc-bad-byte-on-line-2", _toc("gov\t1.1\t法令\n".encode("utf-8") + b"gov\t1.2\t\xff\xfe\n"), ("toc.tsv:2行", "UTF-8 として読めません")),
    # --- PDFs ---
    Case("pdf-truncated-with-eof", lambda d, m, t: add_pdf(d, "cut.pdf", _cut(_good_pdf(t)) + b"\n%%EOF\n"),
         ("途中で切れているか壊れています",)),
    Case("pdf-count-99999999", lambda d, m, t: add_pdf(d, "count.pdf", page_tree_pdf(
        b"<< /Type /Pages /Kids [3 0 R] /Count 99999999 >>", b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")),
         ("ページ数（/Count）",)),
    Case("pdf-cyclic-kids", lambda d, m, t: add_pdf(d, "cycle.pdf", page_tree_pdf(
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>")),
         ("cycle.pdf:1ページ", "循環")),
    Case("pdf-cyclic-kids-after-a-page", lambda d, m, t: add_pdf(d, "cycle2.pdf", page_tree_pdf(
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>", b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")),
         ("cycle2.pdf:2ページ", "循環")),
    Case("pdf-14400pt-page", lambda d, m, t: add_pdf(d, "huge.pdf", content_pdf(b"0 0 m 100 100 l S", size=(14400, 14400))),
         ("huge.pdf:1ページ", "ページが大きすぎます", "max_page_points")),
    Case("pdf-3000-blank-pages", lambda d, m, t: add_pdf(d, "blank3000.pdf", blank_pdf(3000)), ("ページが多すぎます", "max_pdf_pages")),
    Case("pdf-300-blank-pages", lambda d, m, t: add_pdf(d, "blank300.pdf", blank_pdf(300)), ("blank300.pdf:1ページ", "白紙 300 ページ")),
    Case("pdf-40-blank-scans", lambda d, m, t: add_pdf(d, "blankscan.pdf", image_pdf([np.full((420, 600), 255, np.uint8)] * 40)),
         ("blankscan.pdf:1ページ", "白紙 40 ページ")),
    Case("pdf-over-max-page-objects", lambda d, m, t: add_pdf(d, "rects.pdf", content_pdf(MANY_RECTS)),
         ("rects.pdf:1ページ", "描かれたものが多すぎます", "max_page_objects")),
    Case("pdf-ruled-like-graph-paper", lambda d, m, t: add_pdf(d, "graph.pdf", ruled_pdf(300, 4)),
         ("graph.pdf:1ページ", "罫線の格子が細かすぎます")),
    Case("pdf-scan-of-graph-paper", lambda d, m, t: add_pdf(d, "graphscan.pdf", image_pdf([graph_paper_scan()])),
         ("graphscan.pdf:1ページ", "罫線の格子が細かすぎます")),
    Case("pdf-pdfminer-raises-on-a-font", lambda d, m, t: add_pdf(d, "type3.pdf", content_pdf(BAD_PAGE_CONTENT, resources=BAD_TYPE3_FONT)),
         ("type3.pdf:1ページ", "ページの内容が読めません")),
    Case("pdf-pdfplumber-raises", _monkeypatched_pdf(_good_pdf, _pdfplumber_fails, "plumber.pdf"), ("plumber.pdf:1ページ", "KeyError")),
    Case("pdf-opencv-raises", _monkeypatched_pdf(lambda t: image_pdf([ruled_scan()]), _opencv_fails, "cv.pdf"), ("cv.pdf:1ページ", "error")),
    Case("pdf-no-tesseract", _monkeypatched_pdf(lambda t: image_pdf([ruled_scan()]), _no_tesseract, "scan1.pdf"),
         ("scan1.pdf:1ページ", "tesseract-ocr tesseract-ocr-jpn")),
    Case("pdf-no-jpn-traineddata", _monkeypatched_pdf(lambda t: image_pdf([ruled_scan()]), _no_jpn, "scan2.pdf"),
         ("scan2.pdf:1ページ", "jpn.traineddata", "tesseract-ocr-jpn")),
    Case("pdf-tesseract-fails", _monkeypatched_pdf(lambda t: image_pdf([ruled_scan()]), _tesseract_fails, "scan3.pdf"),
         ("scan3.pdf:1ページ", "Segmentation fault in page layout")),
    Case("pdf-over-max-cell-chars", lambda d, m, t: (long_cell_pdf(d / "longcell.pdf", LIMITS.max_cell_chars + 2000), add_source(d, "longcell.pdf", "pdf"), "longcell.pdf")[2],
         ("longcell.pdf:1ページ", "セルの文字が多すぎます", "max_cell_chars")),
    Case("pdf-over-max-file-bytes", lambda d, m, t: (sparse(d / "big.pdf", LIMITS.max_file_bytes + 1), add_source(d, "big.pdf", "pdf"), "big.pdf")[2],
         ("大きすぎます",)),
    Case("pdf-not-readable", lambda d, m, t: (add_pdf(d, "secret.pdf", _good_pdf(t)), deny_reading(m, "secret.pdf"), "secret.pdf")[2],
         ("権限がありません",)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_a_hostile_source_is_refused_in_one_line_and_nothing_changes(case, tmp_path, monkeypatch):
    raw = copy_raw(tmp_path)
    first = run_cli(tmp_path, "build")
    assert first.exit_code == 0, first.output
    before = snapshot(tmp_path / "extracted", tmp_path / "site")
    name = case.make(raw / "6.0", monkeypatch, tmp_path)
    started = time.perf_counter()
    result = run_cli(tmp_path, "build")
    seconds = time.perf_counter() - started
    line = assert_refused(result, name, *case.expected)
    assert "ください" in line, line  # says what to do
    assert snapshot(tmp_path / "extracted", tmp_path / "site") == before
    assert seconds < 30, f"{case.id}: refused only after {seconds:.1f} s"


def test_there_are_thirty_cases_or_more():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


# --- what is read, not refused ----------------------------------------------------------------------------

ENCODINGS = {
    "utf-8-bom": lambda text: "\ufeff".encode("utf-8") + text.encode("utf-8"),
    "utf-16-le-bom": lambda text: "\ufeff".encode("utf-16-le") + text.encode("utf-16-le"),
    "utf-16-be-bom": lambda text: "\ufeff".encode("utf-16-be") + text.encode("utf-16-be"),
    "shift-jis": lambda text: text.encode("cp932"),
    "crlf": lambda text: text.replace("\n", "\r\n").encode("utf-8"),
    "cr": lambda text: text.replace("\n", "\r").encode("utf-8"),
    "utf-16-crlf": lambda text: "\ufeff".encode("utf-16-le") + text.replace("\n", "\r\n").encode("utf-16-le"),
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_the_sample_in_another_encoding_or_line_ends_gives_the_same_requirements(encoding, kb, tmp_path):
    raw = copy_raw(tmp_path)
    (raw / "6.0" / S).write_bytes(ENCODINGS[encoding](SAMPLE_BYTES.decode("utf-8")))
    result = run_cli(tmp_path, "build")
    assert result.exit_code == 0, result.output
    for name in ("requirements.jsonl", "correlations.jsonl", "corrections.tsv"):
        assert (tmp_path / "extracted" / "6.0" / name).read_bytes() == (kb / "extracted" / "6.0" / name).read_bytes(), name


@pytest.mark.parametrize("encoding", ["utf-8-bom", "utf-16-le-bom", "shift-jis", "crlf", "cr"])
def test_corrections_tsv_in_another_encoding_or_line_ends_is_read_alike(encoding, tmp_path):
    text = (REPO / "raw" / "6.0" / "corrections.tsv").read_text(encoding="utf-8")
    (tmp_path / "corrections.tsv").write_bytes(ENCODINGS[encoding](text))
    assert load_overrides(tmp_path).entries == load_overrides(REPO / "raw" / "6.0").entries


def test_a_quoted_field_as_the_trail_writes_it_is_unquoted(tmp_path):
    (tmp_path / "corrections.tsv").write_text('add\tctrl-4-2\t"考えられる ""例"""\t考えられる（例）\n', encoding="utf-8")
    assert load_overrides(tmp_path).entries[0].before == '考えられる "例"'


@pytest.fixture(scope="module")
def good_pdf(tmp_path_factory) -> bytes:
    return _good_pdf(tmp_path_factory.mktemp("good"))


@pytest.mark.parametrize("kind,finding", [("owner-password", "所有者パスワード"), ("javascript", "JavaScript")])
def test_an_owner_password_or_javascript_pdf_is_read_and_named_in_the_report(kind, finding, good_pdf, tmp_path):
    doc = pymupdf.open(stream=good_pdf, filetype="pdf")
    name = f"{kind}.pdf"
    raw = copy_raw(tmp_path)
    if kind == "owner-password":
        doc.save(raw / "6.0" / name, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="",
                 permissions=pymupdf.PDF_PERM_PRINT)
    else:
        action = doc.get_new_xref()
        doc.update_object(action, "<< /S /JavaScript /JS (app.alert\\('hi'\\);) >>")
        doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{action} 0 R")
        doc.save(raw / "6.0" / name)
    add_source(raw / "6.0", name, "pdf")
    result = run_cli(tmp_path, "build")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    first = next(p for p in report["pages"] if p["file"] == f"6.0/{name}")
    assert first["page"] == 1 and any(f.startswith("文書: ") and finding in f for f in first["findings"]), first
    reqs = [json.loads(line) for line in (tmp_path / "extracted" / "6.0" / "requirements.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(s["file"] == f"6.0/{name}" for r in reqs for s in r["sources"])
    with pymupdf.open(raw / "6.0" / name) as saved:  # the file is what the case says
        assert bool(saved.metadata.get("encryption")) == (kind == "owner-password")


def test_three_thousand_blank_pages_are_skipped_in_seconds(tmp_path):
    path = tmp_path / "blank3000.pdf"
    path.write_bytes(blank_pdf(3000))
    started = time.perf_counter()
    with pytest.raises(SourceError, match="白紙 3,000 ページ") as refused:
        read_pdf(path, toc=Toc(), limits=Limits(max_pdf_pages=5000))
    seconds = time.perf_counter() - started
    print(f"3000 blank pages: {seconds:.2f} s")
    assert seconds < 20 and "\n" not in str(refused.value)


def test_a_scanned_table_is_not_taken_for_a_blank_page():
    from pipeline.ingest.pdf import BLANK_INK, ink_share

    with pymupdf.open(stream=image_pdf([ruled_scan(), np.full((420, 600), 255, np.uint8)]), filetype="pdf") as doc:
        assert ink_share(doc[0]) > 10 * BLANK_INK and ink_share(doc[1]) == 0.0


# --- text files, directly ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data,expected", [
    (b"\xff\xfe\x00\x00" + "①表\n".encode("utf-32-le"), "①表\n"),
    (b"\xfe\xff" + "①表\r\n".encode("utf-16-be"), "①表\n"),
    ("遵守事項を定めること。\r".encode("cp932"), "遵守事項を定めること。\n"),
    ("a\r\nb\rc\n".encode("utf-8"), "a\nb\nc\n"),
])
def test_read_text_decodes_what_editors_write(tmp_path, data, expected):
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    assert read_text(path) == expected


def test_read_text_names_the_limit_it_applies(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("a\n" * 11, encoding="utf-8")
    with pytest.raises(ManifestError, match="11 行、上限 10 行"):
        read_text(path, limits=Limits(max_text_lines=10), error=ManifestError)
    with pytest.raises(SourceError, match="上限 10 バイト"):
        read_text(path, limits=Limits(max_file_bytes=10))


def test_a_cell_over_the_limit_names_its_line_and_column(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1.1 法令\t① 遵守すること。\n\n1.2 x\t\t① " + "あ" * 60 + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"x.txt:3行: 3列目のセルが長すぎます（62 文字、上限 50 文字）"):
        read_ocr_text(path, toc=Toc(), limits=Limits(max_cell_chars=50))


# --- linear time --------------------------------------------------------------------------------------------

def _seconds(function, *args) -> float:
    """The best of three runs, in CPU seconds of this process: what other processes on the machine do
    (a second test run, a benchmark) does not count, as wall time would."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        function(*args)
        best = min(best, time.process_time() - started)
    return best


def _ratio(function, make_input, small: int) -> float:
    """How much more work a 4× longer input takes (about 4 if linear, 16 if quadratic): a ratio of
    two CPU times on the same machine, not a time limit."""
    return _seconds(function, make_input(small * 4)) / max(_seconds(function, make_input(small)), 1e-4)


LAYOUT_LINES = {
    "tsv-cells": lambda n: "\t".join(["① 遵守すること。", "1.1 法令"] * (n // 14)),
    "spaced-cells": lambda n: "あ  " * (n // 3),
    "continued-cell": lambda n: "1.1 法令  ① 遵守\n" + "          続けて遵守\n" * (n // 20),
    "one-line": lambda n: "あ" * n,
}


@pytest.mark.parametrize("kind", sorted(LAYOUT_LINES))
def test_layout_and_table_reading_are_linear_in_the_line_length(kind):
    from pipeline.ingest.table import read_block

    def read(text):
        for block in text_to_blocks(text):
            read_block(block, file="x.txt", toc=Toc())

    assert _ratio(read, LAYOUT_LINES[kind], 40_000) < 9


REQUIREMENTS = "\n".join(clean(json.loads(line)["text"]) for line in (REPO / "extracted" / "6.0" / "requirements.jsonl")
                         .read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("kind,make_text", [
    ("sample-requirements", lambda n: (REQUIREMENTS * (n // len(REQUIREMENTS) + 1))[:n]),
    ("one-term-repeated", lambda n: ("経営層" * n)[:n]),
    ("spaces-before-a-bracket", lambda n: "a" + " " * n + "b"),
])
def test_correction_is_linear_in_the_text_length(kind, make_text):
    correct_text("経理層")  # the lexicon and Sudachi loaded
    assert _ratio(correct_text, make_text, 12_000) < 9


@pytest.mark.parametrize("kind,make_text", [
    ("wrapped-lines", lambda n: "あ\n" * (n // 2)),
    ("spaces", lambda n: "あ" + " " * n + "い"),
])
def test_normalization_is_linear_in_the_text_length(kind, make_text):
    assert _ratio(clean, make_text, 50_000) < 9


def test_the_fixtures_are_what_they_claim():
    assert shutil.which("tesseract"), "tesseract-ocr is needed for the scan cases"
    with pymupdf.open(stream=content_pdf(MANY_RECTS), filetype="pdf") as doc:
        assert sum(len(p["items"]) for p in doc[0].get_cdrawings()) > LIMITS.max_page_objects
