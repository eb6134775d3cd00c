"""Print PDF ingestion speed (pages per second) next to a bare pdfplumber ``extract_tables`` pass
over the same file, and, for scans, the character error rate against the truth.

    python bench/bench_pdf.py [--variants truetype,cid,scan,scan-ocr] [--repeat 3]

The PDFs are rendered from tests/truth by tests/corpus.py into a temporary folder. Figures vary
with the machine's load: compare runs on one machine; they are not assertions.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pdfplumber  # noqa: E402

from pipeline.ingest.pdf import read_pdf_table, table_rows  # noqa: E402
from tests.corpus import make  # noqa: E402
from tests.scoring import score  # noqa: E402


def bare_pdfplumber(path: Path) -> int:
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_tables()
        return len(pdf.pages)


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="truetype,cid,kangxi,letterspaced,no-tounicode,scan,scan-ocr")
    parser.add_argument("--repeat", type=int, default=3, help="runs per born-digital file (scans run once)")
    args = parser.parse_args()
    print(f"{'variant':<14}{'pages':>6}{'ours s':>9}{'pages/s':>9}{'bare s':>9}{'pages/s':>9}{'ratio':>7}"
          f"{'cells exact':>13}{'CER':>8}  text / grid")
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants.split(","):
            made = make(variant, Path(tmp))
            slow = variant in ("scan", "scan-ocr", "no-tounicode")
            repeat = 1 if slow else args.repeat
            result = {}
            ours = best_of(repeat, lambda: result.update(table=read_pdf_table(made.path)))
            bare = best_of(repeat, lambda: bare_pdfplumber(made.path))
            _, rows, _ = table_rows(result["table"])
            got = score([[c.text if c else "" for c in row] for row in rows], made.table)
            how = sorted({f"{p.text_from}/{p.grid_from}" for p in result["table"].pages})
            print(f"{variant:<14}{made.pages:>6}{ours:>9.2f}{made.pages / ours:>9.1f}{bare:>9.2f}{made.pages / bare:>9.1f}"
                  f"{ours / bare:>7.1f}{got.cell_accuracy:>13.4f}{got.cer:>8.4f}  {', '.join(how)}")
    print(f"(cores: {os.cpu_count()}; OCR runs Tesseract jpn on both; ratio = our seconds / bare pdfplumber seconds;"
          f" CER = character edits / truth characters after basic cleaning, before OCR correction)")


if __name__ == "__main__":
    main()
