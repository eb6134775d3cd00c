"""A corpus of correlation-table PDFs rendered from hand-checked truth, for tests and bench/.

The truth (``tests/truth/v6.0-sample.json``) is the real sample's rows with the OCR noise corrected
where it could be verified. Each PDF is laid out like the guideline's table: landscape, 8 ruled
columns in three volume blocks under a two-level header repeated on every page, 記載箇所 and 備考
cells spanning the rows that share them, wrapped multi-item cells, rows broken across pages, page
numbers in the footer. Variants change how the PDF carries its text:

    truetype      embedded TrueType subset (IPA Gothic), A3; page 2 stored rotated (/Rotate 90)
    cid           reportlab's non-embedded CID font HeiseiKakuGo-W5, A4
    kangxi        as truetype, but the ToUnicode map says Kangxi radicals (⽬ for 目)
    letterspaced  as truetype, with wide letter spacing (「医 療 情 報」 in a naive text layer)
    no-tounicode  as truetype, without ToUnicode maps: the text layer reads 「(cid:123)」
    scan          image only: pages rendered at 300 dpi, a little skew and noise
    scan-ocr      the scan with a Tesseract ``jpn`` text layer (as a scanner's OCR leaves it)

Everything is deterministic: the same truth gives the same pages. Run ``python -m tests.corpus DIR``
to write the corpus.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# Japanese line breaking (JIS X 4051 行頭禁則・行末禁則), written here from the standard and not taken from
# the reader: a generator that wraps by the reader's own rules makes PDFs the reader passes by construction.
# Nothing in this module imports ``pipeline``.
NOT_AT_LINE_START = "、。，．・：；？！ー―‐〜）〕］｝〉》」』】〙〗ゝゞヽヾ々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
NOT_AT_LINE_END = "（〔［｛〈《「『【〘〖"
CIRCLED = "".join(chr(0x2460 + n) for n in range(20))  # ①…⑳

TRUTH = Path(__file__).resolve().parent / "truth" / "v6.0-sample.json"
FONT_FILE = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")
MM = 72 / 25.4
A3 = (420 * MM, 297 * MM)  # landscape
A4 = (297 * MM, 210 * MM)
VOLUMES = ("gov", "mgmt", "ctrl")
HEADER_VOLUMES = (("経営管理編", 2), ("企画管理編", 3), ("システム運用編", 3))
HEADER_LABELS = ("記載箇所", "遵守事項", "記載箇所", "遵守事項", "備考", "記載箇所", "遵守事項", "備考")
WIDTHS = (30, 70, 30, 70, 30, 30, 70, 30)  # relative column widths
PLACE_COLUMNS = (0, 2, 5)
NOTE_COLUMNS = (4, 7)
VARIANTS = ("truetype", "cid", "kangxi", "letterspaced", "no-tounicode", "scan", "scan-ocr")
SCANNED = ("scan", "scan-ocr")


# --- the truth as table cells -------------------------------------------------------------------

def load_truth(path: Path = TRUTH) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def truth_cells(row: dict) -> list[str]:
    """Given one truth row, return its 8 cells as printed (items and headings one per line)."""
    cells = []
    for volume in VOLUMES:
        part = row.get(volume, {})
        cells.append("\n".join(part.get("places", [])))
        cells.append("\n".join(part.get("items", [])))
        if volume != "gov":
            cells.append(part.get("note", ""))
    return cells


def truth_table(truth: dict, rows: slice | None = None) -> list[list[str]]:
    table = [truth_cells(r) for r in truth["rows"]]
    return table[rows] if rows is not None else table


def truth_ids(truth: dict) -> set[str]:
    """The requirement IDs the truth rows hold (volume-section-item)."""
    return {i for row in truth["rows"] for ids in _row_ids(row).values() for i in ids}


def truth_texts(truth: dict) -> dict[str, list[str]]:
    """Each requirement ID of the truth rows with its texts (the item number left out): more than one
    where the table gives one number two texts (the sample's 企画管理編 6 has two ⑩)."""
    texts: dict[str, list[str]] = {}
    for row in truth["rows"]:
        for volume, ids in _row_ids(row).items():
            for item, number in zip(row[volume]["items"], _cell_numbers(row[volume]["items"])):
                key = f"{volume}-{row[volume]['places'][0].split()[0].rstrip('.')}-{number}"
                if item[1:].strip() not in texts.setdefault(key, []):
                    texts[key].append(item[1:].strip())
    return texts


def truth_clashes(truth: dict) -> int:
    """How many texts of the truth share their number with another text of their section (the table
    cannot tell which of them holds it: a reader should leave one unplaced, not merge them)."""
    holders: dict[str, set[str]] = {}
    for row in truth["rows"]:
        for volume, ids in _row_ids(row).items():
            section = row[volume]["places"][0].split()[0].rstrip(".")
            for item, number in zip(row[volume]["items"], _cell_numbers(row[volume]["items"])):
                holders.setdefault(f"{volume}-{section}-{number}", set()).add(item[1:].strip())
    def distinct(texts: set[str]) -> int:  # readings of one text differ a little (the truth keeps the table's variants)
        kept: list[str] = []
        for text in sorted(texts):
            if not any(difflib.SequenceMatcher(None, text, k).ratio() >= 0.8 for k in kept):
                kept.append(text)
        return len(kept)

    return sum(distinct(texts) - 1 for texts in holders.values())


def truth_links(truth: dict) -> set[str]:
    """The correlations the truth rows make, as ``correlations.jsonl`` IDs (a row with two or more volumes)."""
    links = set()
    for row in truth["rows"]:
        ids = _row_ids(row)
        if len(ids) >= 2:
            links.add("+".join(i for v in VOLUMES for i in sorted(ids.get(v, []), key=_id_order)))
    return links


def _id_order(req_id: str) -> tuple:
    """gov-1.2-3 → ((1, 2), 3): sections by number, then items."""
    _, section, item = req_id.split("-")
    return tuple(int(n) for n in section.split(".")), int(item)


def _cell_numbers(items: list[str]) -> list[int]:
    """The item numbers of one cell; an item whose text is an earlier one's of the same cell (the
    sample reads one line twice, as ① and ②) is that item read twice and takes its number."""
    numbers: list[int] = []
    for n, item in enumerate(items):
        same = next((numbers[k] for k in range(n) if difflib.SequenceMatcher(None, item[1:], items[k][1:]).ratio() >= 0.8), None)
        numbers.append(same or CIRCLED.index(item[0]) + 1)
    return numbers


def _row_ids(row: dict) -> dict[str, set[str]]:
    out = {}
    for volume in VOLUMES:
        if volume in row and row[volume].get("items"):
            section = row[volume]["places"][0].split()[0].rstrip(".")
            out[volume] = {f"{volume}-{section}-{number}" for number in _cell_numbers(row[volume]["items"])}
    return out


# --- layout ---------------------------------------------------------------------------------------

@dataclass
class Style:
    page: tuple[float, float] = A3
    font_size: float = 8.0
    margin: float = 12 * MM
    pad: float = 1.6 * MM
    char_space: float = 0.0

    @property
    def leading(self) -> float:
        return self.font_size * 1.35


@dataclass
class Piece:
    """The part of one table row drawn on one page: the lines of each cell, and which cells continue a span."""

    row: int
    lines: list[list[str]]
    hidden: list[bool]  # the cell continues the span above (no top border)
    height: float
    continued: bool = False  # the rest of a row broken at the page end


@dataclass
class Pages:
    pages: list[list[Piece]] = field(default_factory=list)
    broken_rows: list[int] = field(default_factory=list)  # rows split across a page break


def wrap(text: str, width: float, measure) -> list[str]:
    """Given a cell's text, return its lines: hard breaks kept, long lines broken to ``width``.

    Lines break between two Japanese characters or at a space between Latin words, never inside
    a Latin word or at a space next to Japanese (so joining the lines again gives back the text).
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        rest = paragraph
        while measure(rest) > width:
            cut = _break_at(rest, width, measure)
            lines.append(rest[:cut].rstrip(" "))
            rest = rest[cut:].lstrip(" ")
        lines.append(rest)
    return [line for line in lines if line] if text else []




def _break_at(text: str, width: float, measure) -> int:
    fit = 1
    while fit < len(text) and measure(text[: fit + 1]) <= width:
        fit += 1
    if text[fit:fit + 1] == " " and text[fit - 1].isascii() and text[fit + 1:fit + 2].isascii():
        return fit + 1  # a space between Latin words may hang past the edge
    for cut in range(fit, 0, -1):
        before, after = text[cut - 1], text[cut] if cut < len(text) else ""
        if not after:
            return cut
        if before == " " and cut >= 2 and text[cut - 2].isascii() and after.isascii():
            return cut  # at a space between Latin words
        if " " in (before, after) or (before.isascii() and after.isascii()):
            continue  # never next to a space that a join would lose, never inside Latin
        if after not in NOT_AT_LINE_START and before not in NOT_AT_LINE_END:
            return cut
    return fit


def paginate(table: list[list[str]], style: Style, measure) -> Pages:
    """Given the table's cells, return the pieces on each page, breaking tall rows at page ends."""
    width, height = style.page
    inner = width - 2 * style.margin
    cols = [w * inner / sum(WIDTHS) for w in WIDTHS]
    lines = [[wrap(cell, col - 2 * style.pad, measure) for cell, col in zip(row, cols)] for row in table]
    hidden = [[False] * 8 for _ in table]
    for r in range(1, len(table)):
        for c in PLACE_COLUMNS + NOTE_COLUMNS:
            place = {4: 2, 7: 5}.get(c, c)  # a 備考 spans only within its 記載箇所's span
            same = table[r][c] and table[r][c] == table[r - 1][c] and table[r][place] == table[r - 1][place]
            if same and (c in PLACE_COLUMNS or hidden[r][place]):
                hidden[r][c] = True
                lines[r][c] = []
    top = height - style.margin - 10 * MM  # below the title
    header = 2 * (style.leading + 2 * style.pad)
    bottom = style.margin + 8 * MM  # above the footer
    out = Pages([[]])
    room = top - header - bottom
    for r, row_lines in enumerate(lines):
        rest = row_lines
        continued = False
        while True:
            need = max(len(c) for c in rest) * style.leading + 2 * style.pad
            if need <= room:
                out.pages[-1].append(Piece(r, rest, hidden[r] if not continued else [False] * 8, need, continued))
                room -= need
                break
            fit = int((room - 2 * style.pad) // style.leading)
            if fit >= 3 and max(len(c) for c in rest) > fit:
                out.pages[-1].append(Piece(r, [c[:fit] for c in rest], hidden[r] if not continued else [False] * 8,
                                           fit * style.leading + 2 * style.pad, continued))
                rest = [c[fit:] for c in rest]
                continued = True
                if r not in out.broken_rows:
                    out.broken_rows.append(r)
            out.pages.append([])
            room = top - header - bottom
    return out


# --- drawing ----------------------------------------------------------------------------------------

def render(table: list[list[str]], path: Path, *, style: Style | None = None, font: str = "truetype",
           rotate_page: int | None = None) -> Pages:
    """Draw the table into a PDF at ``path``; return how it was paginated."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    style = style or Style()
    if font == "cid":
        name = "HeiseiKakuGo-W5"
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    else:
        name = "IPAGothic"
        pdfmetrics.registerFont(TTFont(name, str(FONT_FILE)))
    measure = lambda s: pdfmetrics.stringWidth(s, name, style.font_size) + style.char_space * len(s)  # noqa: E731
    pages = paginate(table, style, measure)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=style.page, invariant=1, pageCompression=1)
    pdf.setTitle("各編間相関表")
    width, height = style.page
    inner = width - 2 * style.margin
    cols = [w * inner / sum(WIDTHS) for w in WIDTHS]
    xs = [style.margin + sum(cols[:i]) for i in range(9)]
    for number, pieces in enumerate(pages.pages, 1):
        pdf.setLineWidth(0.5)
        top = height - style.margin - 10 * MM
        if number == 1:
            pdf.setFont(name, style.font_size * 1.6)
            pdf.drawString(style.margin, height - style.margin - 5 * MM, "各編間相関表")
        y = _draw_header(pdf, xs, top, style, name)
        for piece in pieces:
            _draw_piece(pdf, xs, y, piece, style, name)
            y -= piece.height
        row = style.leading + 2 * style.pad
        for i, x in enumerate(xs):  # the volume names span their blocks: inner lines start below them
            pdf.line(x, top if i in (0, 2, 5, 8) else top - row, x, y)
        pdf.line(xs[0], y, xs[-1], y)
        pdf.setFont(name, style.font_size)
        pdf.drawCentredString(width / 2, style.margin, f"- {number} -")
        pdf.showPage()
    pdf.save()
    data = buffer.getvalue()
    if rotate_page is not None:
        data = _store_rotated(data, rotate_page)
    path.write_bytes(data)
    return pages


def _draw_header(pdf, xs, top, style: Style, font: str) -> float:
    row = style.leading + 2 * style.pad
    pdf.setFont(font, style.font_size)
    pdf.line(xs[0], top, xs[-1], top)
    start = 0
    for label, span in HEADER_VOLUMES:
        pdf.drawCentredString((xs[start] + xs[start + span]) / 2, top - style.pad - style.font_size, label)
        start += span
    pdf.line(xs[0], top - row, xs[-1], top - row)
    for c, label in enumerate(HEADER_LABELS):
        pdf.drawCentredString((xs[c] + xs[c + 1]) / 2, top - row - style.pad - style.font_size, label)
    pdf.line(xs[0], top - 2 * row, xs[-1], top - 2 * row)
    return top - 2 * row


def _draw_piece(pdf, xs, y, piece: Piece, style: Style, font: str) -> None:
    from reportlab.pdfbase import pdfmetrics

    pdf.setFont(font, style.font_size)
    for c in range(8):
        if not piece.hidden[c]:
            pdf.line(xs[c], y, xs[c + 1], y)
        baseline = y - style.pad - style.font_size
        for line in piece.lines[c]:
            if style.char_space:  # every glyph placed on its own, as letter-spaced PDFs do
                x = xs[c] + style.pad
                for char in line:
                    pdf.drawString(x, baseline, char)
                    x += pdfmetrics.stringWidth(char, font, style.font_size) + style.char_space
            else:
                pdf.drawString(xs[c] + style.pad, baseline, line)
            baseline -= style.leading


def _store_rotated(data: bytes, page_index: int) -> bytes:
    """Store one page the way a scanner driver or an office suite may: portrait, with /Rotate 90."""
    import pymupdf

    src = pymupdf.open(stream=data, filetype="pdf")
    out = pymupdf.open()
    for index, page in enumerate(src):
        rect = page.rect
        if index == page_index:
            new = out.new_page(width=rect.height, height=rect.width)
            new.show_pdf_page(new.rect, src, index, rotate=90)
            new.set_rotation(90)
        else:
            out.new_page(width=rect.width, height=rect.height).show_pdf_page(rect, src, index)
    return out.tobytes(garbage=3, deflate=True, no_new_id=True)


# --- text-layer defects -------------------------------------------------------------------------------

# Ideographs whose Kangxi radical look-alikes broken PDFs put in the text layer (⽬ U+2F6C for 目 …).
KANGXI = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0x2F00, 0x2FD6)}


def rewrite_tounicode(data: bytes, how: str) -> bytes:
    """Given a PDF, return it with every font's ToUnicode map made Kangxi (``kangxi``) or removed (``drop``)."""
    import pymupdf

    doc = pymupdf.open(stream=data, filetype="pdf")
    for xref in range(1, doc.xref_length()):
        kind, value = doc.xref_get_key(xref, "ToUnicode")
        if kind != "xref":
            continue
        if how == "drop":
            doc.xref_set_key(xref, "ToUnicode", "null")
            continue
        target = int(value.split()[0])
        cmap = doc.xref_stream(target).decode("latin-1")
        doc.update_stream(target, re.sub(r"<([0-9A-Fa-f]{4})>(?=\s*(?:\n|$))", _kangxi_hex, cmap).encode("latin-1"))
    return doc.tobytes(garbage=3, deflate=True, no_new_id=True)


def _kangxi_hex(match: re.Match) -> str:
    char = chr(int(match.group(1), 16))
    return f"<{ord(KANGXI.get(char, char)):04X}>"


# --- scans --------------------------------------------------------------------------------------------

def scan(data: bytes, *, dpi: int = 300, seed: int = 6, ocr_layer: bool = False, skew: float = 0.6, blur: float = 0.0) -> bytes:
    """Given a born-digital PDF, return an image-only scan of it (skewed up to ``skew`` degrees,
    speckled, blurred by a Gaussian of radius ``blur`` pixels), optionally with a Tesseract ``jpn``
    text layer."""
    import numpy as np
    import pymupdf
    from PIL import Image

    src = pymupdf.open(stream=data, filetype="pdf")
    out = pymupdf.open()
    rng = np.random.default_rng(seed)
    for index, page in enumerate(src):
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
        angle = float(rng.uniform(-skew, skew))
        image = image.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
        if blur:
            from PIL import ImageFilter

            image = image.filter(ImageFilter.GaussianBlur(blur))
        pixels = np.asarray(image, dtype=np.int16)
        pixels = pixels + rng.normal(0, 12, pixels.shape).astype(np.int16)
        specks = rng.random(pixels.shape) < 0.0004
        pixels[specks] = 0
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        if ocr_layer:
            page_pdf = _tesseract_pdf(image, dpi)
            out.insert_pdf(pymupdf.open(stream=page_pdf, filetype="pdf"))
        else:
            png = io.BytesIO()
            image.save(png, format="PNG", optimize=False)
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, stream=png.getvalue())
    out.set_metadata({})
    return out.tobytes(garbage=3, deflate=True, no_new_id=True)


def _tesseract_pdf(image, dpi: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "page.png"
        image.save(png, dpi=(dpi, dpi))
        subprocess.run(["tesseract", str(png), str(Path(tmp) / "page"), "-l", "jpn", "--dpi", str(dpi), "pdf"],
                       check=True, capture_output=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"})
        return (Path(tmp) / "page.pdf").read_bytes()


# --- the corpus ---------------------------------------------------------------------------------------

@dataclass
class CorpusPdf:
    variant: str
    path: Path
    table: list[list[str]]  # the truth cells of the rows it holds
    broken_rows: list[int]
    pages: int


def make(variant: str, folder: Path, *, rows: slice | None = None, truth: dict | None = None) -> CorpusPdf:
    """Write one variant of the corpus into ``folder``; ``rows`` picks a slice of the truth rows."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    table = truth_table(truth or load_truth(), rows)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"correlation-table-{variant}.pdf"
    tmp = folder / f".{variant}.tmp.pdf"
    style = Style(page=A4, font_size=6.5, margin=8 * MM) if variant == "cid" else Style()
    if variant == "letterspaced":
        style.char_space = 1.2
    pages = render(table, tmp, style=style, font="cid" if variant == "cid" else "truetype",
                   rotate_page=1 if variant == "truetype" else None)
    data = tmp.read_bytes()
    tmp.unlink()
    if variant == "kangxi":
        data = rewrite_tounicode(data, "kangxi")
    elif variant == "no-tounicode":
        data = rewrite_tounicode(data, "drop")
    elif variant in SCANNED:
        data = scan(data, ocr_layer=variant == "scan-ocr")
    path.write_bytes(data)
    return CorpusPdf(variant, path, table, pages.broken_rows, len(pages.pages))


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path("build/corpus")
    for variant in argv[1:] or VARIANTS:
        made = make(variant, folder)
        print(f"{made.path}  {made.pages} ページ、{len(made.table)} 行、ページをまたぐ行 {len(made.broken_rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# --- broken files -------------------------------------------------------------------------------------

def bad_pdfs(folder: Path) -> dict[str, Path]:
    """Files a maintainer may drop into raw/ by mistake: encrypted, truncated, zero pages, not a PDF,
    a PDF with no table, and a blank scan."""
    import pymupdf

    folder.mkdir(parents=True, exist_ok=True)
    good = make("truetype", folder, rows=slice(0, 6)).path.read_bytes()
    out = {}
    doc = pymupdf.open(stream=good, filetype="pdf")
    out["encrypted"] = folder / "encrypted.pdf"
    doc.save(out["encrypted"], encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="secret")
    out["truncated"] = folder / "truncated.pdf"
    out["truncated"].write_bytes(good[: len(good) // 2])
    out["zero-pages"] = folder / "zero-pages.pdf"
    out["zero-pages"].write_bytes(_zero_page_pdf())
    out["not-a-pdf"] = folder / "not-a-pdf.pdf"
    out["not-a-pdf"].write_text("経営管理編\t企画管理編\n① これは PDF ではありません\n", encoding="utf-8")
    out["no-table"] = folder / "no-table.pdf"
    _text_only_pdf(out["no-table"])
    out["blank-scan"] = folder / "blank-scan.pdf"
    blank = pymupdf.open()
    page = blank.new_page(width=A4[0], height=A4[1])
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 600, 420), False)
    pix.clear_with(255)
    page.insert_image(page.rect, pixmap=pix)
    out["blank-scan"].write_bytes(blank.tobytes(no_new_id=True))
    return out


def raw_pdf(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF written object by object, with a correct cross-reference table (for broken files)."""
    body = b"%PDF-1.4\n"
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return body


def _zero_page_pdf() -> bytes:
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def _text_only_pdf(path: Path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("IPAGothic", str(FONT_FILE)))
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    pdf.setFont("IPAGothic", 10)
    for n, line in enumerate(["医療情報システムの安全管理に関するガイドライン", "本書には表がありません。", "① これは表の外の文です。"]):
        pdf.drawString(60, A4[1] - 80 - n * 16, line)
    pdf.showPage()
    pdf.save()
