"""Pages without a usable text layer: the ruled grid from the rendered image, the text from Tesseract.

    render (PyMuPDF, grey) → deskew (projection profile) → ruling lines (OpenCV morphology)
    → grid: row and column boundaries; a cell whose top (left) border is missing is spanned
    → text: the page's own text layer (a scanner's OCR layer), or Tesseract ``jpn`` on each
            column strip with the ruling erased, run on both cores
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SourceError
from ..limits import LIMITS, Limits
from ..model import CIRCLED
from .pdf import (Cell, CellTooLong, Glyph, PageRead, cell_error, cell_text, grid_error, group_lines, page_error,
                  pymupdf_quiet)

Box = tuple[float, float, float, float]
INK = 160  # grey level below which a pixel is ink
OCR_CONFIG = "--psm 6"
MAX_RENDER_SIDE = 10_000  # pixels: a larger page is rendered at a lower resolution (A3 at 300 dpi is 4,961)
NO_TESSERACT = ("文字層のないページを読む Tesseract（tesseract コマンド）が見つかりません。"
                "sudo apt-get install tesseract-ocr tesseract-ocr-jpn で入れてください")
NO_JPN = ("Tesseract の日本語の学習データ（jpn.traineddata）がありません。"
          "sudo apt-get install tesseract-ocr-jpn で入れてください（TESSDATA_PREFIX を設定しているならその場所も確かめてください）")


@dataclass
class Grid:
    """A page's grid in pixels of the deskewed image: rows of cell boxes, ``None`` where spanned."""

    rows: list[list[Box | None]]


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
        return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy(), dpi / 72


def tesseract_problem() -> str | None:
    """What keeps Tesseract from reading Japanese here (``NO_TESSERACT`` or ``NO_JPN``), or ``None``.

    Asked anew each time (pytesseract caches its own answers): ``tesseract --list-langs``.
    """
    import pytesseract

    command = pytesseract.pytesseract.tesseract_cmd
    try:
        found = subprocess.run([command, "--list-langs"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return NO_TESSERACT
    if found.returncode != 0:
        return NO_TESSERACT
    languages = {line.strip() for line in found.stdout.decode("utf-8", errors="replace").splitlines()[1:]}
    return None if "jpn" in languages else NO_JPN


def ocr_error(path: Path, number: int, exc: BaseException) -> str:
    """The one line for an OCR failure: Tesseract or its jpn data missing, or the page unreadable."""
    import pytesseract

    if isinstance(exc, pytesseract.TesseractNotFoundError):
        return f"{path}:{number}ページ: {NO_TESSERACT}"
    if isinstance(exc, pytesseract.TesseractError) and re.search(r"Failed loading language|jpn\.traineddata|Error opening data file", str(exc)):
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
    return Grid(rows)


def erase_ruling(gray: np.ndarray) -> np.ndarray:
    import cv2

    horizontal, vertical = ruling(gray)
    lines = cv2.dilate(horizontal | vertical, np.ones((5, 5), np.uint8))
    out = gray.copy()
    out[lines > 0] = 255
    return out


def ocr_jobs(page: int, grid: Grid) -> list[Job]:
    """The regions to OCR on one page: column strips over runs of rows without horizontal spans,
    and each cell of a row with horizontally spanned cells (a header of volume names)."""
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
    import pytesseract
    from PIL import Image

    x0, y0, x1, y1 = box
    crop = image[max(0, y0):y1, max(0, x0):x1]
    if crop.size == 0 or (crop < INK).sum() < 20:
        return []
    data = pytesseract.image_to_data(Image.fromarray(crop), lang="jpn", config=OCR_CONFIG, output_type=pytesseract.Output.DICT)
    words = []
    for n, text in enumerate(data["text"]):
        if text and text.strip():
            left, top = x0 + data["left"][n], y0 + data["top"][n]
            words.append(Glyph(text.strip(), left, top, left + data["width"][n], top + data["height"][n]))
    glyphs = []
    for line in visual_lines(words):
        glyphs.extend(mend_item_number(image, line, left=x0))
    return glyphs


def visual_lines(words: list[Glyph]) -> list[list[Glyph]]:
    """Words grouped into the lines they stand on (Tesseract's own line numbers split a line at a
    taller glyph such as ⑥)."""
    return group_lines(words, float(np.median([w.height for w in words]))) if words else []


# Tesseract reads a circled item number at the start of a line badly: it drops it, or reads 「@」
# 「®」, or puts a stray mark or a second number before it (「ぐ②」「〈④」「⑯⑥」: the last one is right). The line start is read again, alone, as one
# character from ①…⑳ — only where there is a round mark of the line's height to read.
_CIRCLED = CIRCLED[:20]  # ①…⑳: what a cell of this table numbers
_JUNK_BEFORE_NUMBER = re.compile(rf"^[^\w\s]{{0,2}}(?=[{_CIRCLED}])|^[ぐく〈<]{{1,2}}(?=[{_CIRCLED}])|^[{_CIRCLED}]+(?=[{_CIRCLED}])")
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
        # Tesseract confuses ⑥ ⑧ ⑨ ⑯ …: the shape decides where it is clear.
        shape = match_circled(image, (int(first.x0) - 3, int(first.top), int(first.x0 + height * 1.3), int(first.bottom)), height)
        if shape and shape != first.text[0]:
            return [Glyph(shape + first.text[1:], first.x0, first.top, first.x1, first.bottom), *words[1:]]
        return words
    top, bottom = int(min(g.top for g in words)), int(max(g.bottom for g in words))
    if _LONE_MARK.match(first.text):
        region, rest = (min(left, int(first.x0) - 3), top, int(max(first.x1 + 2, first.x0 + height * 1.3)), bottom), words[1:]
    elif first.x0 - left > height * 0.8:
        region, rest = (left, top, int(first.x0) - 1, bottom), words
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
FONT_FILES = ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf")


@functools.lru_cache(maxsize=1)
def _templates() -> np.ndarray | None:
    """①…⑳ drawn in a Japanese Gothic font, cropped to their ink and scaled to one size."""
    from PIL import Image, ImageDraw, ImageFont

    path = next((f for f in FONT_FILES if Path(f).exists()), None)
    if path is None:
        return None
    font = ImageFont.truetype(path, 96)
    out = []
    for char in _CIRCLED:
        canvas = Image.new("L", (140, 140), 255)
        ImageDraw.Draw(canvas).text((10, 10), char, font=font, fill=0)
        out.append(_normalized(np.asarray(canvas)))
    return np.stack(out)


def _normalized(gray: np.ndarray) -> np.ndarray | None:
    import cv2

    ink = np.argwhere(gray < INK)
    if len(ink) < 10:
        return None
    (r0, c0), (r1, c1) = ink.min(axis=0), ink.max(axis=0)
    glyph = cv2.resize(gray[r0:r1 + 1, c0:c1 + 1].astype(np.float32), (TEMPLATE_SIZE, TEMPLATE_SIZE), interpolation=cv2.INTER_AREA)
    glyph = 255.0 - glyph
    glyph -= glyph.mean()
    norm = np.linalg.norm(glyph)
    return glyph / norm if norm else None


def match_circled(image: np.ndarray, region: tuple[int, int, int, int], height: int) -> str:
    """The circled number whose shape the ink at a line start matches best, if clearly; else ""."""
    templates = _templates()
    x0, y0, x1, y1 = region
    pad = max(4, int(height * 0.35))  # a circle stands taller than the words Tesseract boxed
    crop = image[max(0, y0 - pad):y1 + pad, max(0, x0):x1]
    ink = np.argwhere(crop < INK)
    if templates is None or len(ink) < 20:
        return ""
    # The circle: the blob of ink with the largest box (specks and the next character left out), digit inside.
    import cv2

    count, _, stats, _ = cv2.connectedComponentsWithStats((crop < INK).astype(np.uint8), connectivity=8)
    if count < 2:
        return ""
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_WIDTH] * stats[1:, cv2.CC_STAT_HEIGHT]))
    x, y, w, h = (int(v) for v in stats[largest, :4])
    glyph = crop[y:y + h, x:x + w]
    if not (0.6 * height <= h <= 1.6 * height and 0.75 <= w / h <= 1.3):
        return ""
    vector = _normalized(glyph)
    if vector is None:
        return ""
    scores = (templates * vector).sum(axis=(1, 2))
    order = np.argsort(scores)[::-1]
    best, second = float(scores[order[0]]), float(scores[order[1]])
    return _CIRCLED[order[0]] if best >= 0.6 and best - second >= 0.04 else ""


def _read_circled(image: np.ndarray, region: tuple[int, int, int, int], height: int) -> str:
    """Read one circled number in a small region, if the ink there is a round mark of about ``height``."""
    import pytesseract
    from PIL import Image

    x0, y0, x1, y1 = region
    crop = image[max(0, y0 - 4):y1 + 4, max(0, x0):x1]
    ink = np.argwhere(crop < INK)
    if len(ink) < 20:
        return ""
    (r0, c0), (r1, c1) = ink.min(axis=0), ink.max(axis=0)
    h, w = r1 - r0 + 1, c1 - c0 + 1
    if not (0.6 * height <= h <= 1.6 * height and 0.7 <= w / h <= 1.4):
        return ""
    glyph = np.pad(crop[r0:r1 + 1, c0:c1 + 1], 12, constant_values=255)
    found = pytesseract.image_to_string(Image.fromarray(glyph), lang="jpn",
                                        config=f"--psm 10 -c tessedit_char_whitelist={_CIRCLED}").strip()
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
    return erase_ruling(gray), grid, [], "ocr", grid_from, scale, ocr_jobs(index, grid)


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
    return PageRead(index + 1, rows, text_from, grid_from)


def _transform(glyph: Glyph, scale: float, matrix: np.ndarray) -> Glyph:
    """A glyph of the page's text layer (points) in pixels of the deskewed image."""
    cx, cy = (glyph.x0 + glyph.x1) / 2 * scale, (glyph.top + glyph.bottom) / 2 * scale
    nx, ny = matrix @ np.array([cx, cy, 1.0])
    hw, hh = (glyph.x1 - glyph.x0) / 2 * scale, (glyph.bottom - glyph.top) / 2 * scale
    return Glyph(glyph.text, nx - hw, ny - hh, nx + hw, ny + hh)
