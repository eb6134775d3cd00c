"""Read correlation-table PDFs made by other software in layouts drawn from seeds, and print a score
per seed and per producer: requirement IDs, row links, cells exactly equal to the truth, CER.

    python bench/bench_producers.py [--seeds 1-24] [--rows 0:88] [--scan 200] [--templates noto]

With ``--scan DPI`` each PDF is first rasterized into an image-only scan (±1° skew, speckle, slight
blur) and read by OCR. Two CERs are printed: of the cells as read (before the correct stage), and
of the requirement texts as extracted (after it), over the IDs found. Speed is then set beside
Tesseract alone (``jpn --psm 6`` on each whole page rendered at the same 300 dpi, both cores): the
tesseract command, and (per producer) Tesseract in process as the reader runs it (tesserocr, one
engine per core).
``--templates noto`` draws the circled-number templates in Noto fonts only (the scans are set in
IPA fonts): the matcher measured on glyph designs it has never seen.

The test suite checks the CI seeds (tests/test_producers.py); this prints them and more.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.ingest.pdf import read_pdf_table  # noqa: E402
from tests.producers.layout import layout_for  # noqa: E402
from tests.test_producers import evaluate  # noqa: E402
from seeds import parse_seeds  # noqa: E402 - bench/seeds.py, beside this script


def seconds(read, path: Path, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        read(path)
        best = min(best, time.perf_counter() - start)
    return best


def bare_pdfplumber(path: Path) -> None:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_tables()


def bare_tesseract(path: Path, workers: int = 2) -> None:
    """Tesseract alone on each page of a scan: rendered at the reader's dpi, ``jpn --psm 6``, as
    many pages at a time as there are workers."""
    from concurrent.futures import ThreadPoolExecutor

    import pytesseract

    images = page_images(path)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda image: pytesseract.image_to_string(image, lang="jpn", config="--psm 6"), images))


def page_images(path: Path) -> list:
    """Each page of a PDF as a grey PIL image at the reader's dpi."""
    import pymupdf
    from PIL import Image

    from pipeline.ingest.pdf import RENDER_DPI

    with pymupdf.open(path) as doc:
        return [Image.frombytes("L", (p.width, p.height), p.samples)
                for p in (page.get_pixmap(dpi=RENDER_DPI, colorspace=pymupdf.csGRAY) for page in doc)]


def bare_tesserocr(path: Path, workers: int = 2) -> None:
    """Tesseract alone in process (tesserocr, its model loaded once per worker) on each whole page."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tesserocr import PSM, PyTessBaseAPI

    from pipeline.ingest.scan import tessdata

    images = page_images(path)
    local = threading.local()

    def read(image):
        if not hasattr(local, "api"):
            local.api = PyTessBaseAPI(path=tessdata() or "", lang="jpn", psm=PSM.SINGLE_BLOCK)
        local.api.SetImage(image)
        return local.api.GetUTF8Text()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(read, images))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-24")
    parser.add_argument("--rows", default=None, help="a slice of the truth rows, e.g. 10:40")
    parser.add_argument("--scan", type=int, default=None, help="read image-only scans of the PDFs at this dpi (200 or 300)")
    parser.add_argument("--templates", choices=("all", "noto"), default="all",
                        help="fonts of the circled-number templates: every one found, or Noto only")
    args = parser.parse_args()
    if args.templates == "noto":
        from pipeline.ingest import scan

        scan.TEMPLATE_FONTS[:] = [f for f in scan.TEMPLATE_FONTS if "noto" in f[0]]
        scan._templates.cache_clear()
    rows = tuple(int(x) for x in args.rows.split(":")) if args.rows else None
    per_producer = defaultdict(list)
    failed: list[int] = []
    speed = defaultdict(list)
    per_font = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in parse_seeds(args.seeds):
            try:
                reading = evaluate(seed, Path(tmp) / str(seed), rows=rows, scan_dpi=args.scan)
            except Exception as exc:  # noqa: BLE001 - reportlab cannot lay out every seed (ProducerError); anything else is the reader's
                print(f"seed {seed:>2}: FAILED ({type(exc).__name__}: {str(exc)[:100]})", flush=True)
                failed.append(seed)
                continue
            repeat = 1 if args.scan else 2  # OCR: a page costs seconds
            bare_name, bare_read = ("Tesseract alone", bare_tesseract) if args.scan else ("bare pdfplumber", bare_pdfplumber)
            ours, bare = seconds(read_pdf_table, reading.path, repeat), seconds(bare_read, reading.path, repeat)
            in_process = seconds(bare_tesserocr, reading.path, repeat) if args.scan else bare
            print(f"{reading.line()}  {reading.pages / ours:.2f} pages/s ({bare_name} {reading.pages / bare:.2f}, ×{ours / bare:.2f})",
                  flush=True)
            per_producer[reading.producer].append(reading)
            per_font[layout_for(seed).font].append(reading)
            speed[reading.producer].append((reading.pages, ours, bare, in_process))
    print(f"per font{f' (scans at {args.scan} dpi)' if args.scan else ''}:")
    for font, readings in sorted(per_font.items()):
        print(summary(font, readings))
    if failed:
        print(f"seeds that failed (ProducerError: the producer could not lay it out): {failed}")
    print("per producer:")
    for producer, readings in sorted(per_producer.items()):
        ids = sum(r.ids_found for r in readings), sum(r.ids_expected for r in readings)
        wrong = sum(len(r.ids_wrong) for r in readings)
        links = sum(r.links_found for r in readings), sum(r.links_expected for r in readings)
        cells = sum(r.cells_exact for r in readings), sum(r.cells for r in readings)
        lost = sum(r.lost for r in readings), sum(r.duplicated for r in readings), sum(r.glyphs for r in readings)
        perfect = sum(1 for r in readings if not r.ids_missing and not r.ids_wrong and r.links_found == r.links_expected)
        pages, ours, bare, in_process = (sum(x[i] for x in speed[producer]) for i in range(4))
        bare_name = "Tesseract alone (command)" if args.scan else "bare pdfplumber extract_tables"
        also = f"; in process (tesserocr) {pages / in_process:.2f} pages/s: ×{ours / in_process:.2f}" if args.scan else ""
        print(f"  {producer:<9} {pages / ours:.2f} pages/s, {bare_name} {pages / bare:.2f} pages/s: ×{ours / bare:.2f}{also}")
        print(f"  {producer:<9} seeds {len(readings):>2} (all IDs and links right: {perfect})  IDs {ids[0]}/{ids[1]} ({ids[0] / ids[1]:.1%}), "
              f"wrong {wrong}  links {links[0]}/{links[1]}  cells {cells[0] / cells[1]:.2%}  glyphs lost {lost[0]}, twice {lost[1]} of {lost[2]}")


def summary(label: str, readings: list) -> str:
    ids = sum(r.ids_found for r in readings), sum(r.ids_expected for r in readings)
    wrong = sum(len(r.ids_wrong) for r in readings)
    errors, chars = sum(r.cer * r.cells for r in readings), sum(r.cells for r in readings)
    text = sum(r.text_errors for r in readings) / max(1, sum(r.text_chars for r in readings))
    return (f"  {label:<9} seeds {len(readings):>2}  IDs {ids[0]}/{ids[1]} ({ids[0] / ids[1]:.1%}), wrong {wrong} "
            f"({wrong / ids[1]:.1%})  CER cells as read (mean) {errors / chars:.2%}, requirement texts after correction {text:.2%}")


if __name__ == "__main__":
    main()
