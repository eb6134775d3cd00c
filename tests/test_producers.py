"""Correlation-table PDFs made by other software (Chromium, LibreOffice Writer and Calc, reportlab
platypus) in layouts drawn from seeds, read end to end: requirement IDs, row links and cells against
the truth. The default run reads one seed per producer on a slice of the table; the full list of CI
seeds, each the whole table, is marked slow (``.ci/run`` runs both).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.ingest.pdf import read_pdf_table, table_rows

from .conftest import run_cli
from .corpus import scan, truth_ids, truth_links, truth_texts
from .scoring import score, text_errors
from .producers.layout import CI_SEEDS, PRODUCERS, layout_for, table, truth_rows
from .producers.make import render
from .test_pdf import jsonl, raw_with


@dataclass
class Reading:
    """How the reader did on one PDF: what a user sees (IDs, links) and the cells."""

    seed: int
    producer: str
    ids_expected: int
    ids_found: int
    ids_wrong: list[str]
    ids_missing: list[str]
    links_expected: int
    links_found: int
    cells: int
    cells_exact: int
    cer: float
    pages: int
    glyphs: int  # characters of the text layer inside the table
    lost: int  # of those, in no cell
    duplicated: int  # in two or more cells
    text_errors: int = 0  # character edits in the texts of the requirements found, as extracted (after correction)
    text_chars: int = 0  # characters of those texts in the truth
    path: Path | None = None  # the PDF

    @property
    def text_cer(self) -> float:
        return self.text_errors / self.text_chars if self.text_chars else 0.0

    def line(self) -> str:
        return (f"seed {self.seed:>2} {self.producer:<9} pages {self.pages:>2}  IDs {self.ids_found}/{self.ids_expected} "
                f"(wrong {len(self.ids_wrong)})  links {self.links_found}/{self.links_expected}  "
                f"cells {self.cells_exact}/{self.cells} ({self.cells_exact / self.cells:.1%})  CER {self.cer:.3%}  "
                f"texts CER {self.text_cer:.3%}  "
                f"glyphs {self.glyphs} (lost {self.lost}, twice {self.duplicated})")


def evaluate(seed: int, folder: Path, *, rows: tuple[int, int] | None = None, scan_dpi: int | None = None) -> Reading:
    """Render a seed's PDF (scanned at ``scan_dpi``: ±1° skew, speckle, slight blur), read its cells,
    and extract it through the CLI; compare with the truth."""
    layout = layout_for(seed, rows=rows)
    pdf = render(layout, folder / "pdf")
    if scan_dpi:
        scanned = pdf.with_name(f"{pdf.stem}-scan{scan_dpi}.pdf")
        scanned.write_bytes(scan(pdf.read_bytes(), dpi=scan_dpi, seed=seed, skew=1.0, blur=0.6))
        pdf = scanned
    truth = {"rows": truth_rows(layout)}
    read = read_pdf_table(pdf)
    _, cell_rows, _ = table_rows(read)
    result = score([[c.text if c else "" for c in row] for row in cell_rows], table(layout))
    work = folder / f"kb-{seed}"
    extracted = run_cli(work, "extract", raw=raw_with(work, pdf))
    assert extracted.exit_code == 0, extracted.output
    requirements = {r["id"]: r["text"] for r in jsonl(work / "extracted" / "6.0" / "requirements.jsonl")}
    found = set(requirements)
    links = {"+".join(i for v in ("gov", "mgmt", "ctrl") for i in c["members"].get(v, []))
             for c in jsonl(work / "extracted" / "6.0" / "correlations.jsonl")}
    want, want_links = truth_ids(truth), truth_links(truth)
    return Reading(seed, layout.producer, len(want), len(found & want), sorted(found - want), sorted(want - found),
                   len(want_links), len(links & want_links), result.cells, result.exact, result.cer, len(read.pages),
                   *[sum((p.glyphs or {}).get(k, 0) for p in read.pages) for k in ("in_table", "lost", "duplicated")],
                   *text_errors(requirements, truth_texts(truth)), pdf)


def check(reading: Reading) -> None:
    print(reading.line())
    assert reading.ids_missing == [] and reading.ids_wrong == [], (reading.ids_missing, reading.ids_wrong)
    assert reading.links_found == reading.links_expected
    assert reading.cells_exact / reading.cells >= 0.995
    assert reading.glyphs > 0 and reading.lost == 0 and reading.duplicated == 0


@pytest.mark.parametrize("seed", [next(s for s in CI_SEEDS if layout_for(s).producer == p) for p in PRODUCERS])
def test_one_seed_per_producer_on_a_slice(seed, tmp_path):
    check(evaluate(seed, tmp_path, rows=(10, 40)))


@pytest.mark.slow
@pytest.mark.parametrize("seed", CI_SEEDS)
def test_every_ci_seed_on_the_whole_table(seed, tmp_path):
    check(evaluate(seed, tmp_path))


# Seeds once held out where reading them showed a producer habit (now looked at, so tuning seeds):
# Calc prints a merged cell that runs over a page break on both pages, clipped to the cell (106, 110:
# 97.9% and 98.7% of cells before); reportlab leaves an empty row 2 pt tall of a row cut at the page
# end (123: 88.4%, the next row joined onto the cut one).
@pytest.mark.slow
@pytest.mark.parametrize("seed", [106, 110, 123])
def test_seeds_that_showed_a_producer_habit(seed, tmp_path):
    check(evaluate(seed, tmp_path))


# --- scans of the producers' PDFs ----------------------------------------------------------------------
# Image-only scans (±1° skew, speckle, slight blur) read by OCR. Issue 9's floor over a set of seeds is
# ≥ 98% of IDs, ≤ 1% wrong, requirement texts CER ≤ 3% after correction; the slow test holds it on
# seeds 1–8 at 200 dpi (the seeds the scan reading was tuned on; the seeds not looked at are in README,
# run by bench/). The default run reads one slice of one seed, the slow run of two.
SCAN_SEEDS = tuple(range(1, 9))


@pytest.mark.parametrize("seed", [2, pytest.param(4, marks=pytest.mark.slow)])  # Calc, Mincho 6.8 pt (the hardest); Chromium, Gothic 7.6 pt
def test_a_scan_slice_at_200_dpi(seed, tmp_path):
    reading = evaluate(seed, tmp_path, rows=(10, 25), scan_dpi=200)
    print(reading.line(), reading.ids_missing, reading.ids_wrong)
    assert len(reading.ids_missing) <= 1 and reading.ids_wrong == []
    assert reading.text_cer <= 0.06  # measured 5.4% and 4.7% on these slices: a guard, the floor is 3% over many seeds


@pytest.mark.slow
def test_scans_of_every_producer_at_200_dpi(tmp_path):
    readings = [evaluate(seed, tmp_path / str(seed), rows=(10, 40), scan_dpi=200) for seed in SCAN_SEEDS]
    for reading in readings:
        print(reading.line(), reading.ids_missing, reading.ids_wrong)
    expected = sum(r.ids_expected for r in readings)
    assert sum(r.ids_found for r in readings) >= 0.98 * expected  # measured 98.9%
    assert sum(len(r.ids_wrong) for r in readings) <= 0.01 * expected
    assert sum(r.text_errors for r in readings) <= 0.03 * sum(r.text_chars for r in readings)
