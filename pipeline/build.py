"""One straight-line build: raw/ → extracted/ → index → site/.

    for each edition under raw/:  ingest → normalize → correct → link → correct (consensus)
    then write every edition (only once all have been read), index, site
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .correct import Correction, consensus, correct_rows, load_overrides, numbering, reading_fixes, unused_overrides
from .ingest import Edition, find_editions, ingest, load_edition
from .link import Linked, link, sections
from .model import PROBLEM_CODES, VOLUMES
from .normalize import normalize_rows
from .store import load_requirements, write_edition


@dataclass
class EditionOutput:
    edition: Edition
    linked: Linked
    report: dict
    corrections: list[Correction] = field(default_factory=list)


@dataclass
class Timings:
    """Seconds spent per stage, for the CLI summary and bench/."""

    seconds: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str):
        timings = self

        class _Timer:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timings.seconds[name] = timings.seconds.get(name, 0.0) + time.perf_counter() - self.start

        return _Timer()


def extract(raw_dir: Path, out_dir: Path, *, timings: Timings | None = None) -> list[EditionOutput]:
    """Read every edition under ``raw_dir`` and write ``out_dir/<edition>/``.

    Nothing is written unless every edition was read: a bad source leaves extracted/ as it was.
    """
    timings = timings or Timings()
    outputs = []
    for folder in find_editions(raw_dir):
        edition = load_edition(folder)
        with timings.stage("ingest"):
            got = ingest(edition)
        with timings.stage("normalize"):
            rows = normalize_rows(got.rows)
        with timings.stage("correct"):
            overrides = load_overrides(edition.folder)
            trail = correct_rows(rows, overrides=overrides) + numbering(rows) + reading_fixes(got.problems)
        with timings.stage("link"):
            linked = link(rows, edition=edition.name)
        with timings.stage("correct"):
            trail += [c for r in linked.requirements for c in consensus(r)] + unused_overrides(overrides)
        outputs.append(EditionOutput(edition, linked, make_report(edition, got, linked, trail), trail))
    with timings.stage("write"):
        for output in outputs:
            toc = [(e.volume, e.section, e.title) for e in output.edition.toc.entries]
            write_edition(out_dir / output.edition.name, output.linked.requirements, output.linked.correlations,
                          sections(output.linked.requirements, toc), output.report, output.corrections)
    return outputs


def make_report(edition: Edition, got, linked: Linked, trail: list[Correction]) -> dict:
    """The run report of one edition: counts, and everything that could not be placed, and why."""
    per_volume = Counter(r.volume for r in linked.requirements)
    codes = Counter(p.code for p in got.problems)
    return {
        "edition": edition.name,
        "title": edition.title,
        "sources": [{"file": s.path.name, "kind": s.kind} for s in edition.sources],
        "lines_read": got.units_read,
        **({"pages_read": len(got.pages)} if got.pages else {}),
        "rows_read": len(got.rows),
        "items_read": sum(len(r.items) for r in got.rows),
        "requirements": {"total": len(linked.requirements), **{v: per_volume.get(v, 0) for v in VOLUMES}},
        "correlations": len(linked.correlations),
        "not_placed": {"total": len(got.problems), "by_code": {c: {"count": n, "reason": PROBLEM_CODES[c]} for c, n in sorted(codes.items())}},
        "problems": [p.to_dict() for p in got.problems],
        "conflicts": linked.conflicts,
        **({"pages": got.pages} if got.pages else {}),
        "corrections": dict(sorted(Counter(c.status for c in trail).items())),
    }


def index(out_dir: Path, *, timings: Timings | None = None) -> Path:
    from .index import build_index

    timings = timings or Timings()
    with timings.stage("index"):
        return build_index(load_requirements(out_dir), out_dir)


def site(out_dir: Path, site_dir: Path, config: Path, *, timings: Timings | None = None) -> Path:
    from .site import build_site

    timings = timings or Timings()
    with timings.stage("site"):
        return build_site(out_dir, site_dir, config=config)


def build(raw_dir: Path, out_dir: Path, site_dir: Path, config: Path, *, timings: Timings | None = None) -> list[EditionOutput]:
    """extract → index → site, the whole knowledge base from raw/."""
    timings = timings or Timings()
    outputs = extract(raw_dir, out_dir, timings=timings)
    index(out_dir, timings=timings)
    site(out_dir, site_dir, config, timings=timings)
    return outputs
