"""One straight-line build: raw/ → extracted/ → index → site/.

    check     raw, out and site are distinct folders; every edition's manifest is valid, names unique
    read      for each edition under raw/: ingest → normalize → correct → link → correct (consensus)
    stage     only once every edition has been read: write the editions, the index and the site
              beside the current ones
    commit    make all three current together (``commit.py``): a failure or a kill at any moment
              leaves extracted/, the index and site/ from one complete build
"""

from __future__ import annotations

import errno
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .correct import Correction, consensus_all, correct_rows, load_overrides, numbering, reading_fixes, unused_overrides
from .commit import Transaction, check_folders, data_stamp, read_stamp
from .errors import OutputError, SiteError, describe_os_error
from .index.analysis import sudachi
from .ingest import Edition, ingest, load_editions
from .link import Linked, link, sections
from .model import PROBLEM_CODES, VOLUMES, Source, TableRow
from .normalize import normalize_rows
from .place import LOOSE_CODES, Placed, load_placements, loose_items, place
from .store import edition_folders, load_requirements, write_edition


@dataclass
class EditionOutput:
    edition: Edition
    linked: Linked
    report: dict
    corrections: list[Correction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # read, but worth a look (a PDF with JavaScript …)


@dataclass
class Timings:
    """Seconds spent per stage, for the CLI summary and bench/."""

    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the build did not need to do, for the CLI

    def stage(self, name: str):
        timings = self

        class _Timer:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timings.seconds[name] = timings.seconds.get(name, 0.0) + time.perf_counter() - self.start

        return _Timer()


def read_editions(raw_dir: Path, *, timings: Timings | None = None, editions: list[Edition] | None = None) -> list[EditionOutput]:
    """Read every edition under ``raw_dir`` (or those of ``editions``); nothing is written."""
    timings = timings or Timings()
    outputs = []
    editions = load_editions(raw_dir) if editions is None else editions
    if editions:
        with timings.stage("sudachi"):  # its dictionary, loaded once for correct and for the index after it
            sudachi()
    for edition in editions:
        with timings.stage("ingest"):
            got = ingest(edition)
        with timings.stage("normalize"):
            rows = normalize_rows(got.rows)
        with timings.stage("place"):
            placements = load_placements(edition.folder, limits=edition.limits)
            placed = place(rows, loose_items(got.problems), toc=edition.toc, overrides=placements)
        with timings.stage("correct"):
            overrides = load_overrides(edition.folder, limits=edition.limits)
            unplaced_row = TableRow(Source(""), items=[u.item for u in placed.unplaced])
            trail = (correct_rows(placed.rows + [unplaced_row], overrides=overrides) + numbering(placed.rows)
                     + reading_fixes([p for p in got.problems if p.code not in LOOSE_CODES]))
        with timings.stage("link"):
            linked = link(placed.rows, edition=edition.name, unplaced=placed.unplaced)
        with timings.stage("correct"):
            trail += consensus_all(linked.requirements) + unused_overrides(overrides)
        report = make_report(edition, got, linked, trail, placed)
        outputs.append(EditionOutput(edition, linked, report, trail, got.warnings))
    return outputs


def write_data(outputs: list[EditionOutput], folder: Path, *, timings: Timings | None = None,
               previous_index: Path | None = None) -> str:
    """Write every edition and the index into ``folder`` (a staging folder); return the build's stamp.
    With ``previous_index`` (the last build's, by the same code, with the other editions of ``folder``
    unchanged), only the editions written here are indexed again."""
    timings = timings or Timings()
    with timings.stage("write"):
        for output in outputs:
            toc = [(e.volume, e.section, e.title) for e in output.edition.toc.entries]
            write_edition(folder / output.edition.name, output.linked.requirements, output.linked.correlations,
                          sections(output.linked.requirements, toc), output.report, output.corrections, output.linked.unplaced)
    index_into(folder, timings=timings, previous=previous_index, changed=[o.edition.name for o in outputs])
    return data_stamp(folder)


def make_report(edition: Edition, got, linked: Linked, trail: list[Correction], placed: Placed) -> dict:
    """The run report of one edition: counts; what was placed other than as read, split, renumbered or
    read twice, and why; what could not be placed (in full); what else could not be read."""
    per_volume = Counter(r.volume for r in linked.requirements)
    codes = Counter(u.code for u in placed.unplaced)
    return {
        "edition": edition.name,
        "title": edition.title,
        **({"published": edition.published} if edition.published else {}),
        **({"url": edition.url} if edition.url else {}),
        "sources": [{"file": s.path.name, "kind": s.kind, **({"note": s.note} if s.note else {})} for s in edition.sources],
        "lines_read": got.units_read,
        **({"pages_read": len(got.pages)} if got.pages else {}),
        "rows_read": len(got.rows),
        "items_read": placed.readings,
        "requirements": {"total": len(linked.requirements), **{v: per_volume.get(v, 0) for v in VOLUMES}},
        "correlations": len(linked.correlations),
        "not_placed": {"total": len(placed.unplaced), "records": len(linked.unplaced),
                       "by_code": {c: {"count": n, "reason": PROBLEM_CODES[c]} for c, n in sorted(codes.items())}},
        "unplaced": [u.to_dict() for u in linked.unplaced],
        "placements": placed.decisions,
        "problems": [p.to_dict() for p in got.problems if p.code not in LOOSE_CODES],
        "conflicts": linked.conflicts,
        **({"pages": got.pages} if got.pages else {}),
        "corrections": dict(sorted(Counter(c.status for c in trail).items())),
    }


def index_into(folder: Path, *, timings: Timings | None = None, previous: Path | None = None, changed: list[str] = ()) -> Path:
    """The index of ``folder``: from ``previous`` where it can be updated by edition (the ``changed``
    editions indexed again), else made whole."""
    from .index import build_index, can_update, update_index

    timings = timings or Timings()
    with timings.stage("index"):
        if previous is not None and can_update(previous):
            timings.notes.append(f"索引は読み直した版だけ作り直しました: {', '.join(changed) or 'なし（版を除いただけ）'}")
            return update_index(folder, previous, list(changed))
        return build_index(load_requirements(folder), folder)


def site_into(out_dir: Path, site_dir: Path, config: Path, *, timings: Timings | None = None, previous: Path | None = None) -> None:
    """The site of ``out_dir`` into ``site_dir``, updated from ``previous`` (the last site) where it can be."""
    from .site import build_site

    timings = timings or Timings()
    with timings.stage("site"):
        rendered = build_site(out_dir, site_dir, config=config, previous=previous)
    if rendered is not None:
        timings.notes.append(f"サイトは変わった {len(rendered)} ページだけ作り直しました（ほかは前のサイトから。すべて作り直すには --force）")


def updatable_site(site_dir: Path, config: Path) -> Path | None:
    """``site_dir`` if it is a whole site made by this code and this mkdocs.yml (whatever its data):
    the new site can then be made from it, page by page."""
    from .inputs import read_inputs, site_inputs

    last, now = read_inputs(site_dir), site_inputs(config, "")
    if not last or not (site_dir / "index.html").is_file() or any(last.get(k) != now[k] for k in ("code", "config")):
        return None
    return site_dir


@contextmanager
def writing(out_dir: Path, site_dir: Path):
    """A transaction over the outputs; an OS error while writing becomes one line naming the folder."""
    try:
        with Transaction(out_dir, site_dir) as tx:
            yield tx
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):  # about where we write, not the file
            exc = OSError(exc.errno, exc.strerror, f"{out_dir} と {site_dir} への書き込み")
        raise OutputError(describe_os_error(exc, out_dir)) from None


@dataclass
class Plan:
    """What a build must redo, from the hashes of its inputs (``inputs.py``)."""

    editions: list[Edition]
    inputs: dict  # what extracted/ is made from now
    stale: list[str]  # editions to read again; the others are copied as they are
    data: bool  # extracted/ and the index change
    stamp: str | None  # the data's stamp when it does not change

    def reused(self) -> list[str]:
        return [e.name for e in self.editions if e.name not in self.stale]


def plan(raw_dir: Path, out_dir: Path, *, force: bool = False) -> Plan:
    """Which editions changed since the build that made ``out_dir`` (all of them if it was made by
    other code, its record is missing, or ``force``)."""
    from .inputs import data_inputs, read_inputs, stale_editions

    editions = load_editions(raw_dir)
    inputs = data_inputs(editions)
    previous = read_inputs(out_dir) if (out_dir / "index").is_dir() and not force else None
    stale = stale_editions(previous, inputs, out_dir)
    data = bool(stale) or previous is None or set(previous.get("editions", {})) != set(inputs["editions"])
    return Plan(editions, inputs, stale, data, None if data else read_stamp(out_dir))


def write_reusing(outputs: list[EditionOutput], plan_: Plan, out_dir: Path, folder: Path, *, timings: Timings) -> str:
    """Into a staging ``folder``: the editions read, the unchanged ones copied from ``out_dir``, the
    index of them all and the record of the inputs; return the stamp."""
    from .inputs import write_inputs

    for name in plan_.reused():
        shutil.copytree(out_dir / name, folder / name)
    stamp = write_data(outputs, folder, timings=timings, previous_index=out_dir / "index" if plan_.reused() else None)
    write_inputs(folder, plan_.inputs)
    return stamp


def build(raw_dir: Path, out_dir: Path, site_dir: Path, config: Path, *, timings: Timings | None = None,
          force: bool = False) -> list[EditionOutput]:
    """extract → index → site, the whole knowledge base from raw/, made current in one commit.

    Only what changed is made again (unless ``force``): an edition whose raw folder (and the code) is
    as at the last build is copied, not read; the site is rebuilt only if the data, the code or
    mkdocs.yml changed; with nothing changed nothing is done (``timings.notes`` says so). The
    decision is taken holding the build's lock, after any interrupted build was finished."""
    from .inputs import read_inputs, site_inputs, write_inputs

    timings = timings or Timings()
    check_folders(raw_dir, out_dir, site_dir, config)
    if not config.is_file():
        raise SiteError(f"{config}: mkdocs の設定ファイルがありません（--config で mkdocs.yml を指定してください）")
    with writing(out_dir, site_dir) as tx:
        todo = plan(raw_dir, out_dir, force=force)
        if not todo.data and (site_dir / "index.html").is_file() and read_inputs(site_dir) == site_inputs(config, todo.stamp):
            timings.notes.append("変更はありません（raw/ の各版、mkdocs.yml、コードは前の build と同じ。何もしませんでした。"
                                 "すべて作り直すには --force）")
            return []
        outputs = read_editions(raw_dir, timings=timings, editions=[e for e in todo.editions if e.name in todo.stale])
        if todo.reused():
            timings.notes.append(f"変わっていない版はそのまま使いました: {', '.join(todo.reused())}")
        if todo.data:
            data = tx.stage(out_dir)
            stamp = write_reusing(outputs, todo, out_dir, data, timings=timings)
        else:
            data, stamp = out_dir, todo.stamp
            timings.notes.append("抽出結果と索引は変わらないので、サイトだけ作り直しました")
        last = None if force else updatable_site(site_dir, config)
        site = tx.stage(site_dir)
        site_into(data, site, config, timings=timings, previous=last)
        write_inputs(site, site_inputs(config, stamp))
        tx.commit(stamp)
    return outputs


def extract(raw_dir: Path, out_dir: Path, site_dir: Path, *, timings: Timings | None = None, force: bool = False) -> list[EditionOutput]:
    """raw/ → extracted/ with its index; the site stays as it was (``site`` rebuilds it). Editions
    that did not change are copied; with none changed nothing is done (unless ``force``)."""
    timings = timings or Timings()
    check_folders(raw_dir, out_dir, site_dir)
    with writing(out_dir, site_dir) as tx:
        todo = plan(raw_dir, out_dir, force=force)
        if not todo.data:
            timings.notes.append("変更はありません（raw/ の各版とコードは前の抽出と同じ。何もしませんでした。作り直すには --force）")
            return []
        outputs = read_editions(raw_dir, timings=timings, editions=[e for e in todo.editions if e.name in todo.stale])
        tx.commit(write_reusing(outputs, todo, out_dir, tx.stage(out_dir), timings=timings))
    return outputs


def index(raw_dir: Path, out_dir: Path, site_dir: Path, *, timings: Timings | None = None) -> Path:
    """Rebuild the index of extracted/ (the data is copied as it is, and committed with it)."""
    check_folders(raw_dir, out_dir, site_dir)
    folders = edition_folders(out_dir)
    with writing(out_dir, site_dir) as tx:
        data = tx.stage(out_dir)
        for folder in folders:
            shutil.copytree(folder, data / folder.name)
        index_into(data, timings=timings)
        tx.commit(data_stamp(data))
    return out_dir / "index"


def site(raw_dir: Path, out_dir: Path, site_dir: Path, config: Path, *, timings: Timings | None = None) -> Path:
    """Rebuild site/ from extracted/ as it is; the site takes the stamp of the data it shows."""
    check_folders(raw_dir, out_dir, site_dir, config)
    edition_folders(out_dir)
    with writing(out_dir, site_dir) as tx:
        site_into(out_dir, tx.stage(site_dir), config, timings=timings)
        tx.commit(read_stamp(out_dir) or data_stamp(out_dir))
    return site_dir
