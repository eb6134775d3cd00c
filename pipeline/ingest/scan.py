"""Pages without a usable text layer: the ruled grid from the rendered image, the text from Tesseract.

    render (PyMuPDF, grey) → deskew (projection profile) → ruling lines (OpenCV morphology)
    → grid: row and column boundaries; a cell whose top (left) border is missing is spanned
    → text: the page's own text layer (a scanner's OCR layer), or Tesseract ``jpn`` on each
            column strip with the ruling erased, the paper whitened, specks removed and lines set
            close spread apart, run on both cores (one Tesseract per core, in process: tesserocr,
            its model loaded once, not once per strip); circled numbers at line starts checked by shape
    → the same ``PageRead`` as a born-digital page.

A born-digital page whose text layer is unusable keeps its vector grid and only gets its text here.
Before any OCR, Tesseract and its ``jpn`` data are looked for; what is missing, and anything that
fails while a page is rendered, deskewed, ruled or read, is one ``SourceError`` naming the file and page.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SourceError
from ..limits import LIMITS, Limits
from ..model import CIRCLED
from .cells import Cell, CellTooLong, Glyph, PageRead, cell_text, group_lines, ocr_size
from .failures import cell_error, grid_error, page_error, pymupdf_quiet, release_images

Box = tuple[float, float, float, float]
INK = 160  # grey level below which a pixel is ink
FAINT_INK = 200  # below which a pixel is part of a glyph's shape (a thin Mincho circle, blurred, is lighter than INK)
MARGIN = 16  # pixels of paper put around a region before OCR
MAX_RENDER_SIDE = 10_000  # pixels: a larger page is rendered at a lower resolution (A3 at 300 dpi is 4,961)
NO_TESSERACT = ("文字層のないページを読む Tesseract（tesseract コマンド）が見つかりません。"
                "sudo apt-get install tesseract-ocr tesseract-ocr-jpn で入れてください")
NO_JPN = ("Tesseract の日本語の学習データ（jpn.traineddata）がありません。"
          "sudo apt-get install tesseract-ocr-jpn で入れてください（TESSDATA_PREFIX を設定しているならその場所も確かめてください）")


@dataclass
class Grid:
    """A page's grid in pixels of the deskewed image: rows of cell boxes, ``None`` where spanned."""

    rows: list[list[Box | None]]
    open_foot: bool = False  # the vertical rules run on below the last rule that closes most of the width


@dataclass
class Job:
    """One region to OCR: which page, and where (pixels of the deskewed image)."""

    page: int
    box: tuple[int, int, int, int]


def render(path: Path, index: int, dpi: int) -> tuple[np.ndarray, float]:
    """A page as a grey image, and its pixels per point: ``dpi``, or less for a page so large that its
    longer side would pass ``MAX_RENDER_SIDE`` pixels."""
    pymupdf = pymupdf_quiet()
    with pymupdf.open(path) as doc:
        page = doc[index]
        dpi = max(1, min(int(dpi), int(MAX_RENDER_SIDE * 72 / max(1.0, page.rect.width, page.rect.height))))
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy()
    release_images()
    return image, dpi / 72


def tesseract_problem() -> str | None:
    """What keeps Tesseract from reading Japanese here (``NO_TESSERACT`` or ``NO_JPN``), or ``None``.

    Asked anew each time (pytesseract caches its own answers): ``tesseract --list-langs``, which also
    says where the language data is (``tessdata``) for the Tesseract the reader runs in process.
    """
    found = _list_langs()
    if found is None:
        return NO_TESSERACT
    return None if "jpn" in found[1] else NO_JPN


def _list_langs() -> tuple[str | None, set[str]] | None:
    """``tesseract --list-langs``: (the data folder it names, the languages), or ``None`` if it does not run."""
    import pytesseract

    command = pytesseract.pytesseract.tesseract_cmd
    try:
        found = subprocess.run([command, "--list-langs"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if found.returncode != 0:
        return None
    lines = found.stdout.decode("utf-8", errors="replace").splitlines()
    folder = re.search(r'"(.+)"', lines[0]) if lines else None
    return (folder.group(1) if folder else None), {line.strip() for line in lines[1:]}


@functools.lru_cache(maxsize=1)
def tessdata() -> str | None:
    """The folder of Tesseract's language data, as the ``tesseract`` command finds it (with
    ``TESSDATA_PREFIX`` if set); ``None`` lets the engine look on its own."""
    found = _list_langs()
    return found[0] if found else os.environ.get("TESSDATA_PREFIX")


_engines = threading.local()


def engine(kind: str = "block"):
    """This thread's Tesseract ``jpn``, loaded once per thread: ``"block"`` reads a region as one block
    of lines (``--psm 6``); ``"circled"`` reads one character, circled numbers only."""
    api = getattr(_engines, kind, None)
    if api is None:
        from tesserocr import PSM, PyTessBaseAPI

        api = PyTessBaseAPI(path=tessdata() or "", lang="jpn", psm=PSM.SINGLE_BLOCK if kind == "block" else PSM.SINGLE_CHAR)
        if kind == "circled":
            api.SetVariable("tessedit_char_whitelist", _CIRCLED)
        setattr(_engines, kind, api)
    return api


def ocr_words(image: np.ndarray) -> list[tuple[str, int, int, int, int]]:
    """Tesseract's words in a grey image: (text, left, top, right, bottom) in its pixels.

    >>> ocr_words(np.full((40, 40), 255, dtype=np.uint8))
    []
    """
    from PIL import Image
    from tesserocr import RIL, iterate_level

    api = engine("block")
    api.SetImage(Image.fromarray(image))
    api.Recognize()
    words = []
    for word in iterate_level(api.GetIterator(), RIL.WORD):
        try:
            text = word.GetUTF8Text(RIL.WORD)
        except RuntimeError:  # tesserocr's 「No text returned」: an empty page
            break
        if text and text.strip():
            words.append((text.strip(), *word.BoundingBox(RIL.WORD)))
    return words


def ocr_error(path: Path, number: int, exc: BaseException) -> str:
    """The one line for an OCR failure: Tesseract or its jpn data missing, or the page unreadable."""
    if isinstance(exc, (ImportError, OSError)) and "tesserocr" in str(exc):
        return f"{path}:{number}ページ: {NO_TESSERACT}"
    if isinstance(exc, RuntimeError) and re.search(r"Failed to init API|tessdata|traineddata", str(exc)):
        return f"{path}:{number}ページ: {NO_JPN}"
    return page_error(path, number, exc)


def skew_angle(gray: np.ndarray) -> float:
    """Given a page image, return the angle (degrees) that makes its ruling lines level.

    The projection profile of the ink is sharpest when rows of ink line up with pixel rows.
    """
    import cv2

    small = cv2.resize((gray < INK).astype(np.uint8) * 255, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    h, w = small.shape

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rotated = cv2.warpAffine(small, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        profile = rotated.sum(axis=1, dtype=np.float64)
        return float((profile ** 2).sum())

    best = max(np.arange(-2.0, 2.01, 0.1), key=sharpness)
    return float(max(np.arange(best - 0.1, best + 0.101, 0.02), key=sharpness))


def deskew(gray: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the image rotated by ``angle`` and the 2×3 matrix that maps page pixels onto it."""
    import cv2

    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255), m


def ruling(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the horizontal and vertical ruling lines (long thin runs of ink)."""
    import cv2

    ink = (gray < INK).astype(np.uint8) * 255
    length = max(40, gray.shape[1] // 80)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    return horizontal, vertical


def _segments(mask: np.ndarray, axis: int) -> list[tuple[float, int, int]]:
    """Connected runs in a line mask: (position across, start along, end along)."""
    import cv2

    count, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for n in range(1, count):
        x, y, w, h, _ = stats[n]
        if axis == 0:  # horizontal
            out.append((float(centroids[n][1]), int(x), int(x + w)))
        else:
            out.append((float(centroids[n][0]), int(y), int(y + h)))
    return out


def _cluster(positions: list[float], tolerance: float) -> list[float]:
    groups: list[list[float]] = []
    for p in sorted(positions):
        if groups and p - groups[-1][-1] <= tolerance:
            groups[-1].append(p)
        else:
            groups.append([p])
    return [sum(g) / len(g) for g in groups]


def _coverage(segments: list[tuple[float, int, int]], at: float, start: float, end: float, tolerance: float) -> float:
    """How much of [start, end] the segments at position ``at`` cover (0–1)."""
    spans = sorted((max(a, start), min(b, end)) for p, a, b in segments if abs(p - at) <= tolerance and b > start and a < end)
    covered, reach = 0.0, start
    for a, b in spans:
        if b > reach:
            covered += b - max(a, reach)
            reach = b
    return covered / max(1.0, end - start)


class GridTooFine(Exception):
    """A page image ruled into more cells than may be read (the count is the argument)."""


def find_grid(gray: np.ndarray, *, max_cells: int | None = None) -> Grid | None:
    """Given a deskewed page image, return its ruled grid, spanned cells as ``None``; ``None`` if no table.

    More than ``max_cells`` cells raise ``GridTooFine`` before the cells are worked out (that work
    grows with cells × ruling segments)."""
    horizontal, vertical = ruling(gray)
    hsegs = [s for s in _segments(horizontal, 0) if s[2] - s[1] > gray.shape[1] * 0.02]
    vsegs = [s for s in _segments(vertical, 1) if s[2] - s[1] > gray.shape[0] * 0.01]
    if len(hsegs) < 3 or len(vsegs) < 3:
        return None
    tolerance = max(4.0, gray.shape[1] / 800)
    ys = _cluster([s[0] for s in hsegs], tolerance)
    xs = _cluster([s[0] for s in vsegs], tolerance)
    # Keep boundaries that are real lines of the table, not a stray mark.
    ys = [y for y in ys if _coverage(hsegs, y, xs[0], xs[-1], tolerance) > 0.05]
    xs = [x for x in xs if _coverage(vsegs, x, ys[0], ys[-1], tolerance) > 0.05]
    if len(ys) < 3 or len(xs) < 3:
        return None
    # A row cut by the page end: the table's vertical rules run on below its last horizontal rule
    # (Chromium and reportlab draw no closing rule there). Their lowest end closes the row.
    below = [end for x, start, end in vsegs if xs[0] - tolerance <= x <= xs[-1] + tolerance
             and start < ys[-1] and end > ys[-1] + 3 * tolerance]
    if len(below) >= 2:
        ys.append(float(np.median(below)))
    open_foot = _coverage(hsegs, ys[-1], xs[0], xs[-1], tolerance) < 0.5
    rows_n, cols_n = len(ys) - 1, len(xs) - 1
    if max_cells is not None and rows_n * cols_n > max_cells:
        raise GridTooFine(rows_n * cols_n)
    top_open = [[i > 0 and _coverage(hsegs, ys[i], xs[j], xs[j + 1], tolerance) < 0.6 for j in range(cols_n)] for i in range(rows_n)]
    left_open = [[j > 0 and _coverage(vsegs, xs[j], ys[i], ys[i + 1], tolerance) < 0.6 for j in range(cols_n)] for i in range(rows_n)]
    rows: list[list[Box | None]] = []
    for i in range(rows_n):
        row: list[Box | None] = []
        for j in range(cols_n):
            if top_open[i][j] or left_open[i][j]:
                row.append(None)
                continue
            i2, j2 = i + 1, j + 1
            while i2 < rows_n and top_open[i2][j]:
                i2 += 1
            while j2 < cols_n and left_open[i][j2]:
                j2 += 1
            row.append((xs[j], ys[i], xs[j2], ys[i2]))
        rows.append(row)
    return Grid(rows, open_foot)


def erase_ruling(gray: np.ndarray) -> np.ndarray:
    import cv2

    horizontal, vertical = ruling(gray)
    lines = cv2.dilate(horizontal | vertical, np.ones((5, 5), np.uint8))
    out = gray.copy()
    out[lines > 0] = 255
    return out


PAPER = 215  # grey level above which a pixel is paper (a scanner's noise on white stays above it; 190 lost thin Mincho strokes)


def clean_paper(gray: np.ndarray, *, scale: float) -> np.ndarray:
    """Given a page image (ruling erased) at ``scale`` pixels per point, return it with the paper
    made white and specks (blobs of even faint ink smaller than a full stop: 4 pixels at 300 dpi) removed.

    Tesseract's LSTM reads the grey image, not a binarized one: noise on the paper and isolated
    specks become strokes of the characters it reads.

    >>> page = np.full((20, 20), 230, np.uint8); page[5, 5] = 0; page[10:14, 2:18] = 20
    >>> cleaned = clean_paper(page, scale=300 / 72)
    >>> int(cleaned[0, 0]), int(cleaned[5, 5]), int(cleaned[12, 9])
    (255, 255, 20)
    """
    import cv2

    out = gray.copy()
    out[out > PAPER] = 255
    speck = max(1, round(4 * (scale * 72 / 300) ** 2))
    count, labels, stats, _ = cv2.connectedComponentsWithStats((out < FAINT_INK).astype(np.uint8), connectivity=8)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] <= speck)
    small = small[small > 0]
    if len(small):
        out[np.isin(labels, small)] = 255
    return out


def ocr_jobs(page: int, grid: Grid) -> list[Job]:
    """The regions to OCR on one page: column strips over runs of rows without horizontal spans,
    and each cell of a row with horizontally spanned cells (a header of volume names).

    One job per cell was measured too (producer seeds 2, 4, 6, 8 at 200 dpi): 101 of 132 IDs against
    118 with strips, at more Tesseract runs; strips stay."""
    jobs: list[Job] = []
    run: list[int] = []

    def flush():
        if not run:
            return
        top, bottom = grid.rows[run[0]], grid.rows[run[-1]]
        for j, box in enumerate(top):
            lefts = [b for r in run if (b := grid.rows[r][j])]
            if box is None and not lefts:
                continue
            x0 = min(b[0] for b in lefts)
            x1 = max(b[2] for b in lefts)
            y0 = min(b[1] for b in lefts)
            y1 = max(b[3] for b in lefts + [b for b in bottom if b])
            jobs.append(Job(page, (int(x0) + 3, int(y0) + 3, int(x1) - 3, int(y1) - 3)))
        run.clear()

    xs = _cluster([v for row in grid.rows for b in row if b for v in (b[0], b[2])], 3.0)
    for i, row in enumerate(grid.rows):
        if any(box and box[2] > _next(xs, box[0]) + 3 for box in row):
            flush()
            jobs.extend(Job(page, (int(b[0]) + 3, int(b[1]) + 3, int(b[2]) - 3, int(b[3]) - 3)) for b in row if b)
        else:
            run.append(i)
    flush()
    return jobs


def _next(xs: list[float], x: float) -> float:
    """The column boundary right of ``x``."""
    return min((v for v in xs if v > x + 3), default=x)


def ocr_region(image: np.ndarray, box: tuple[int, int, int, int]) -> list[Glyph]:
    """Tesseract ``jpn`` over one region; words with boxes in page pixels, item numbers mended."""
    x0, y0, x1, y1 = box
    crop = image[max(0, y0):y1, max(0, x0):x1]
    if crop.size == 0 or (crop < INK).sum() < 20:
        return []
    spread, rows = spread_lines(crop)
    padded = np.pad(spread, MARGIN, constant_values=255)  # Tesseract finds lines better with paper around them
    words = []
    last = len(rows) - 1
    for text, left, top, right, bottom in ocr_words(padded):
        top, bottom = min(last, max(0, top - MARGIN)), min(last, max(0, bottom - 1 - MARGIN))
        words.append(Glyph(text, x0 - MARGIN + left, y0 + rows[top], x0 - MARGIN + right, y0 + rows[bottom] + 1))
    lines = visual_lines(words)
    # Where the column's text starts: most lines start there (a line whose number OCR lost starts an
    # em later); the cell's padding before it is not a gap where a number was lost.
    starts = sorted(min(g.x0 for g in line) for line in lines)
    edge = max(x0, int(starts[len(starts) // 2]) - 3) if len(starts) >= 3 else x0
    glyphs = []
    for line in lines:
        glyphs.extend(mend_item_number(image, line, left=edge))
    return glyphs


LINE_GAP = 12  # pixels of paper put between text lines that stand close


def spread_lines(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Given a region's image, return it with ``LINE_GAP`` rows of paper put in wherever the ink of
    one text line nearly meets the next, and for each row of the result the row of ``crop`` it
    shows. Tesseract merges lines set close (tight leading, a slight blur) into one and reads
    neither: 「重要性及び医療の継続性並びに経営」 came out 「重休太び計天の続作並橋営」.

    A cut goes in the middle of a run of rows with next to no ink (two pixels, or a fiftieth of the
    ink of a line's busiest rows) between two runs of ink each at least half a line tall: a short
    line (「こと。」) has so little ink that rows inside it count as empty, and it must not be cut.

    >>> crop = np.full((9, 4), 255, np.uint8); crop[1:4] = 0; crop[5:8] = 0
    >>> spread, rows = spread_lines(crop)
    >>> spread.shape[0] == 9 + LINE_GAP, rows.tolist()[:5], int(rows[-1])
    (True, [0, 1, 2, 3, 4], 8)
    """
    profile = (crop < INK).sum(axis=1)
    busy = np.percentile(profile[profile > 0], 90) if (profile > 0).any() else 0
    low = profile <= max(2, busy / 50)
    runs = []  # (start, end, low) of alternating runs of rows
    for n, is_low in enumerate(low.tolist()):
        if runs and runs[-1][2] == is_low:
            runs[-1][1] = n + 1
        else:
            runs.append([n, n + 1, is_low])
    inked = [end - start for start, end, is_low in runs if not is_low]
    line = float(np.median(inked)) if inked else 0.0
    cuts = [(start + end) // 2 for k, (start, end, is_low) in enumerate(runs)
            if is_low and 0 < k < len(runs) - 1  # between two runs of ink, each a whole line's height:
            and runs[k - 1][1] - runs[k - 1][0] >= line / 2 and runs[k + 1][1] - runs[k + 1][0] >= line / 2]
    pieces, rows, start = [], [], 0
    for cut in [*cuts, len(crop)]:
        pieces.append(crop[start:cut])
        rows.append(np.arange(start, cut))
        if cut < len(crop):
            pieces.append(np.full((LINE_GAP, crop.shape[1]), 255, np.uint8))
            rows.append(np.full(LINE_GAP, cut))
        start = cut
    return np.concatenate(pieces), np.concatenate(rows)


def visual_lines(words: list[Glyph]) -> list[list[Glyph]]:
    """Words grouped into the lines they stand on (Tesseract's own line numbers split a line at a
    taller glyph such as ⑥)."""
    return group_lines(words, ocr_size(words)) if words else []


# Tesseract reads a circled item number at the start of a line badly: it drops it, reads it as a
# mark, a letter, a kana or a kanji (「@」「®」「Qi」「や」「全」), or puts a stray mark or a second
# number before it (「ぐ②」「Q①」「の⑦」「⑯⑥」: the last one is right). Where the first character has the
# shape of a circled number (templates in Noto and IPA fonts, against round look-alikes),
# it is taken as one; where a round mark stands alone, it is read again as one character of ①…⑳.
_CIRCLED = CIRCLED[:20]  # ①…⑳: what a cell of this table numbers
_JUNK_BEFORE_NUMBER = re.compile(rf"^[^\s「]{{1,2}}(?=[{_CIRCLED}])")
_LONE_MARK = re.compile(r"^[^\w\s\u3000-\u30ff\u4e00-\u9fff－ー・「『（(【\[]$")


def mend_item_number(image: np.ndarray, words: list[Glyph], *, left: int) -> list[Glyph]:
    """Given the words of one OCR line, return them with a lost or garbled leading ①…⑳ read again."""
    words = sorted(words, key=lambda g: g.x0)
    first = words[0]
    height = int(np.median([g.height for g in words]))
    if height < 8:
        return words
    stripped = _JUNK_BEFORE_NUMBER.sub("", first.text)
    if stripped != first.text and stripped:
        first = Glyph(stripped, first.x0, first.top, first.x1, first.bottom)
        words = [first, *words[1:]]
    elif len(words) > 1 and len(first.text) <= 2 and words[1].text[0] in _CIRCLED and _JUNK_BEFORE_NUMBER.match(first.text + words[1].text):
        words = words[1:]  # 「ぐ」「②…」: a stray mark read apart from the number
        first = words[0]
    if first.text[0] in _CIRCLED:
        # Tesseract confuses ② ⑧, ⑤ ⑥, ⑨ ⑯ …: the shape decides where it is clearly another number.
        shape = match_circled(image, (int(first.x0) - 3, int(first.top), int(first.x0 + height * 1.3), int(first.bottom)), height,
                              read=first.text[0])
        if shape and shape != first.text[0]:
            return [Glyph(shape + first.text[1:], first.x0, first.top, first.x1, first.bottom), *words[1:]]
        return words
    top, bottom = int(min(g.top for g in words)), int(max(g.bottom for g in words))
    own = first.bottom - first.top >= 0.6 * height  # the first word's own box, unless OCR boxed only a part of it
    number = match_circled(image, (int(first.x0) - 3, int(first.top) if own else top, int(first.x0 + height * 1.3),
                                   int(first.bottom) if own else bottom), height)
    if number:
        # A circle read as a letter, a kana or a kanji (「Qi」「や」「全」): the misread characters go.
        text = first.text
        latin = re.match(r"[!-~]{1,2}", text)
        rest = "" if len(text) <= 2 else text[latin.end():] if latin else text[1:]
        return [Glyph(number + rest, first.x0, first.top, first.x1, first.bottom), *words[1:]]
    if _LONE_MARK.match(first.text):
        region, rest = (min(left, int(first.x0) - 3), top, int(max(first.x1 + 2, first.x0 + height * 1.3)), bottom), words[1:]
    elif first.x0 - left > height * 0.8:
        # Only the ink before the first word: 「(平成」 must not lend its 「(平」 to a number.
        region, rest, image = (left, top, int(first.x0) - 1, bottom), words, image[:, :max(0, int(first.x0) - 1)]
    else:
        return words
    number = match_circled(image, region, height) or _read_circled(image, region, height)
    if not number:
        return words
    x0, t, x1, b = region
    return [Glyph(number, x0, t, x1, b), *rest]


def mend_sequence(text: str) -> str:
    r"""Item numbers in one cell run ①②③…: a number OCR misread between two that agree with each
    other is set to its place in the run. Ends of a run are left alone (a cell may skip numbers).

    >>> mend_sequence("⑪ a\n⑫ b\n⑯ c\n⑭ d")
    '⑪ a\n⑫ b\n⑬ c\n⑭ d'
    >>> mend_sequence("⑤ a\n⑦ b\n⑧ c")
    '⑤ a\n⑦ b\n⑧ c'
    """
    lines = text.split("\n")
    numbered = [(i, _CIRCLED.index(line[0]) + 1) for i, line in enumerate(lines) if line and line[0] in _CIRCLED]
    for k in range(1, len(numbered) - 1):
        (_, before), (i, number), (_, after) = numbered[k - 1], numbered[k], numbered[k + 1]
        if after == before + 2 and number != before + 1 and before + 1 <= len(_CIRCLED):
            lines[i] = _CIRCLED[before] + lines[i][1:]
    return "\n".join(lines)


TEMPLATE_SIZE = 40
# Templates are drawn in every Japanese font of these found: Noto Sans and Serif CJK, and IPA Gothic
# and Mincho. (The test scans are set in IPA fonts; ``bench/bench_producers.py --templates noto``
# measures the matcher with the Noto designs alone, which the scans never use.)
TEMPLATE_FONTS = [("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
                  ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 0),
                  ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0),
                  ("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf", 0)]
# Round or boxed glyphs a line may start with, which a circled number must beat to be taken.
DISTRACTORS = "のめゆあおぬねわるろ〇○◯◎●QOoD0@©®回国図団囲固田日目口品四曰同周間問開閲圏医"


@functools.lru_cache(maxsize=1)
def _templates() -> tuple[np.ndarray, str] | None:
    """①…⑳ and the distractors, drawn in each template font found, cropped to their ink and scaled
    to one size; with the character each row stands for."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    fonts = [(f, i) for f, i in TEMPLATE_FONTS if Path(f).exists()]
    vectors, labels = [], []
    for path, index in fonts:
        for size, blur in ((96, 0.0), (28, 0.6)):
            font = ImageFont.truetype(path, size, index=index)
            for char in _CIRCLED + DISTRACTORS:
                canvas = Image.new("L", (size * 2, size * 2), 255)
                ImageDraw.Draw(canvas).text((size // 3, size // 3), char, font=font, fill=0)
                if blur:
                    canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
                vector = _normalized(np.asarray(canvas))
                if vector is not None:
                    vectors.append(vector)
                    labels.append(char)
    return (np.stack(vectors), "".join(labels)) if vectors else None


def _normalized(gray: np.ndarray) -> np.ndarray | None:
    import cv2

    ink = np.argwhere(gray < FAINT_INK)
    if len(ink) < 10:
        return None
    (r0, c0), (r1, c1) = ink.min(axis=0), ink.max(axis=0)
    glyph = cv2.resize(gray[r0:r1 + 1, c0:c1 + 1].astype(np.float32), (TEMPLATE_SIZE, TEMPLATE_SIZE), interpolation=cv2.INTER_AREA)
    glyph = 255.0 - glyph
    glyph -= glyph.mean()
    norm = np.linalg.norm(glyph)
    return glyph / norm if norm else None


def first_glyph(image: np.ndarray, region: tuple[int, int, int, int], height: int) -> np.ndarray | None:
    """The first character's ink at a line start: the band of inked rows around the line's middle
    (padded, since a circle stands taller than the words Tesseract boxed, but not into the lines
    above and below), from its first inked column to the first blank one past 0.7 of the line
    height (a circled number is one em wide)."""
    x0, y0, x1, y1 = region
    pad = max(4, int(height * 0.35))
    top = max(0, y0 - pad)
    crop = image[top:y1 + pad, max(0, x0):max(0, x0) + int(height * 1.6) + 6] < FAINT_INK
    if crop.sum() < 3:
        return None
    crop = _without_specks(crop, height)
    if not crop.any():
        return None
    start = int(np.argmax(crop.any(axis=0)))
    band = crop[:, start:start + int(height * 1.4)].any(axis=1)
    middle = (y0 + y1) // 2 - top
    inked_rows = np.flatnonzero(band)
    middle = int(inked_rows[np.argmin(np.abs(inked_rows - middle))])
    r0, r1 = middle, middle
    while r0 > 0 and band[r0 - 1]:
        r0 -= 1
    while r1 + 1 < len(band) and band[r1 + 1]:
        r1 += 1
    inked = crop[r0:r1 + 1].any(axis=0)
    start = int(np.argmax(inked))
    end = start + int(height * 0.7)
    while end < len(inked) and inked[end] and end < start + int(height * 1.4):
        end += 1
    glyph = image[top + r0:top + r1 + 1, max(0, x0) + start:max(0, x0) + end]
    h, w = glyph.shape
    if not (0.6 * height <= h <= 1.6 * height and 0.7 <= w / h <= 1.35):
        return None
    return glyph


def _without_specks(ink: np.ndarray, height: int) -> np.ndarray:
    """Given an ink mask at a line start, return it without specks of dirt: pieces smaller than a
    sixth of the line height both ways (a speck before a ① made its glyph start at the speck)."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    small = max(2, height // 6)
    specks = [n for n in range(1, count) if stats[n, cv2.CC_STAT_WIDTH] <= small and stats[n, cv2.CC_STAT_HEIGHT] <= small]
    return ink & ~np.isin(labels, specks) if specks else ink


def glyph_scores(image: np.ndarray, region: tuple[int, int, int, int], height: int) -> dict[str, float]:
    """How well the first character at a line start matches each template character (best over
    the template fonts); empty where there is no glyph of the line's size there."""
    return _shape_scores(first_glyph(image, region, height))


def _shape_scores(glyph: np.ndarray | None) -> dict[str, float]:
    found = _templates()
    vector = _normalized(glyph) if found is not None and glyph is not None else None
    if vector is None:
        return {}
    templates, labels = found
    best: dict[str, float] = {}
    for label, score in zip(labels, (templates * vector).sum(axis=(1, 2)).tolist()):
        best[label] = max(best.get(label, -1.0), score)
    return best


def match_circled(image: np.ndarray, region: tuple[int, int, int, int], height: int, *, read: str = "") -> str:
    """The circled number whose shape the first character at a line start matches best, if it beats
    every other circled number and every round non-number glyph (の, 回, Q …) clearly; else "".
    Where OCR ``read`` a circled number there, another is taken only if it matches clearly better."""
    scores = glyph_scores(image, region, height)
    if not scores:
        return ""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    char, score = ranked[0]
    if char not in _CIRCLED or score < 0.55:
        return ""
    runner_up = next(v for c, v in ranked[1:] if c in _CIRCLED)
    distractor = max(v for c, v in ranked if c not in _CIRCLED)
    if read and read in _CIRCLED and score - scores.get(read, -1.0) < 0.04:
        return read  # what OCR read stands unless the shape is clearly another number
    return char if score - runner_up >= 0.02 and score - distractor >= 0.05 else ""


def _read_circled(image: np.ndarray, region: tuple[int, int, int, int], height: int) -> str:
    """Read the first character in a small region as one circled number (Tesseract, ①…⑳ only), if its
    ink is a round mark of about ``height``."""
    import cv2
    from PIL import Image

    glyph = first_glyph(image, region, height)
    if glyph is None or (glyph < INK).sum() < 20:
        return ""
    scores = _shape_scores(glyph)
    if max(scores, key=scores.get, default="") not in _CIRCLED:
        return ""  # the whitelist makes Tesseract name a number for any ink: it must at least look most like one
    if glyph.shape[0] < 40:  # Tesseract reads a lone small glyph better drawn larger (measured: 15 → 20 of 20 at 19 px)
        glyph = cv2.resize(glyph, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    glyph = np.pad(glyph, 12, constant_values=255)
    api = engine("circled")
    api.SetImage(Image.fromarray(glyph))
    found = api.GetUTF8Text().strip()
    return found if len(found) == 1 and found in _CIRCLED else ""


def read_scanned_pages(path: Path, pages: dict[int, tuple[list[Glyph] | None, list | None]], *, dpi: int,
                       workers: int = 2, batch: int = 6, limits: Limits = LIMITS):
    """Given page indexes with their text layer (if usable) and vector grid (if any, in PDF points),
    yield (index, PageRead) for each; ``batch`` pages are held in memory at a time."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    needs_ocr = [index for index, (layer, _) in pages.items() if layer is None]
    if needs_ocr and (problem := tesseract_problem()):
        raise SourceError(f"{path}:{needs_ocr[0] + 1}ページ: {problem}")
    indexes = list(pages)
    for start in range(0, len(indexes), batch):
        yield from _read_batch(path, {i: pages[i] for i in indexes[start:start + batch]}, dpi=dpi, workers=workers, limits=limits)


def _prepare(path: Path, index: int, layer: list[Glyph] | None, vector_grid: list | None, dpi: int, *, max_cells: int):
    """Render one page and find its grid; return (image, grid, glyphs, text_from, grid_from, scale, OCR boxes),
    or ``None`` where no grid is found."""
    gray, scale = render(path, index, dpi)
    if vector_grid is not None:
        matrix = np.array([[1.0, 0, 0], [0, 1.0, 0]])
        grid = Grid([[tuple(v * scale for v in box) if box else None for box in row] for row in vector_grid])
        grid_from = "lines"
    else:
        gray, matrix = deskew(gray, skew_angle(gray))
        grid = find_grid(gray, max_cells=max_cells)
        grid_from = "image"
    if grid is None:
        return None
    if layer is not None:
        return gray, grid, [_transform(g, scale, matrix) for g in layer], "ocr-text-layer", grid_from, scale, []
    return clean_paper(erase_ruling(gray), scale=scale), grid, [], "ocr", grid_from, scale, ocr_jobs(index, grid)


def _read_batch(path: Path, pages: dict[int, tuple[list[Glyph] | None, list | None]], *, dpi: int, workers: int,
                limits: Limits = LIMITS):
    prepared = {}
    jobs: list[Job] = []
    for index, (layer, vector_grid) in pages.items():
        try:
            prepared[index] = _prepare(path, index, layer, vector_grid, dpi, max_cells=limits.max_page_cells)
        except SourceError:
            raise
        except GridTooFine as exc:
            raise SourceError(grid_error(path, index + 1, exc.args[0], limits)) from None
        except Exception as exc:  # PyMuPDF rendering, OpenCV, numpy (memory)
            raise SourceError(page_error(path, index + 1, exc)) from None
        if prepared[index] is not None:
            jobs.extend(prepared[index][6])
    images = {i: p[0] for i, p in prepared.items() if p}

    def run(job: Job):
        try:
            return job.page, ocr_region(images[job.page], job.box), None
        except Exception as exc:  # Tesseract missing or failing, or a bad region: reported with its page below
            return job.page, [], exc

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        for page, found, exc in pool.map(run, jobs):
            if exc is not None:
                pool.shutdown(cancel_futures=True)  # the regions not started yet are not read
                raise SourceError(ocr_error(path, page + 1, exc))
            prepared[page][2].extend(found)
    finally:
        pool.shutdown(wait=True)
    for index, entry in prepared.items():
        if entry is None:
            yield index, PageRead(index + 1, [], "ocr", "image")
            continue
        try:
            read = _page_read(index, entry, max_chars=limits.max_cell_chars)
        except CellTooLong as exc:
            raise SourceError(cell_error(path, index + 1, exc.count, limits)) from None
        except Exception as exc:
            raise SourceError(page_error(path, index + 1, exc)) from None
        yield index, read


def _page_read(index: int, entry, *, max_chars: int) -> PageRead:
    """The cells of one prepared page, from the glyphs found in it, in PDF points."""
    _, grid, glyphs, text_from, grid_from, scale, _ = entry
    rows = []
    for row in grid.rows:
        cells: list[Cell | None] = []
        for box in row:
            if box is None:
                cells.append(None)
                continue
            cell = cell_text(glyphs, box, ocr=True, max_chars=max_chars)
            cells.append(Cell(mend_sequence(cell.text), tuple(v / scale for v in box), cell.ends_full))
        rows.append(cells)
    return PageRead(index + 1, rows, text_from, grid_from, open_foot=grid.open_foot)


def _transform(glyph: Glyph, scale: float, matrix: np.ndarray) -> Glyph:
    """A glyph of the page's text layer (points) in pixels of the deskewed image."""
    cx, cy = (glyph.x0 + glyph.x1) / 2 * scale, (glyph.top + glyph.bottom) / 2 * scale
    nx, ny = matrix @ np.array([cx, cy, 1.0])
    hw, hh = (glyph.x1 - glyph.x0) / 2 * scale, (glyph.bottom - glyph.top) / 2 * scale
    return Glyph(glyph.text, nx - hw, ny - hh, nx + hw, ny + hh)
