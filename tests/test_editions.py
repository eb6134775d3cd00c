"""The test editions of ``tests/editions.py`` (made for ``guideline-kb diff``) read back as the generator
says: each edition extracts to exactly its requirements (IDs and texts), notes and correlations, and
every expected change between the two is visible in the extracted data.

The reader's own corrections (OCR correction of the truth's kept misreadings: 「行われよう」→「行われるよう」)
apply to both editions alike: texts are compared as read (``raw_text``, spaces left out), and the
reworded texts also as corrected (``text``), so that a correction cannot undo a revision unseen.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from .conftest import run_cli
from .corpus import CIRCLED, load_truth, truth_clashes
from .editions import Edition, Editor, Pair, from_truth, main, pair, write_pair

RANDOM_SEEDS = tuple(range(1, 9))
# Seeds whose PDF the reader misreads (see test_a_note_does_not_spread_down_a_span_after_a_page_break).
PDF_NOTE_SPREAD: tuple[int, ...] = (8,)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def squeeze(text: str) -> str:
    return re.sub(r"\s", "", re.sub(f"^\\s*[{CIRCLED}]", "", text))


class Extracted:
    """One edition as the reader extracted it."""

    def __init__(self, folder: Path):
        self.reqs = {r["id"]: r for r in jsonl(folder / "requirements.jsonl")}
        self.correlations = jsonl(folder / "correlations.jsonl")
        self.sections = {(s["volume"], s["section"]): s["title"] for s in jsonl(folder / "sections.jsonl")}
        self.report = json.loads((folder / "report.json").read_text(encoding="utf-8"))

    def raw(self, req_id: str) -> str:
        return squeeze(self.reqs[req_id]["raw_text"])

    def text(self, req_id: str) -> str:
        return squeeze(self.reqs[req_id]["text"])

    def pairs(self) -> set[tuple[str, str]]:
        out = set()
        for c in self.correlations:
            members = [(v, i) for v, ids in c["members"].items() for i in ids]
            out |= {(a, b) for v, a in members for w, b in members if v != w and _volume_order(a) < _volume_order(b)}
        return out

    def notes(self, req_id: str) -> set[str]:
        return {squeeze(n["raw_text"]) for c in self.correlations for n in c["notes"] if req_id in n["annotates"]}


def _volume_order(req_id: str) -> int:
    return ("gov", "mgmt", "ctrl").index(req_id.split("-")[0])


def edition_problems(edition: Edition, got: Extracted) -> list[str]:
    """What the reader got wrong of one edition: IDs, texts, correlations, notes (of correlated rows)."""
    problems = []
    want = edition.requirements()
    if set(got.reqs) != set(want):
        problems.append(f"{edition.name}: IDs missing {sorted(set(want) - set(got.reqs))}, extra {sorted(set(got.reqs) - set(want))}")
    for req_id in sorted(set(want) & set(got.reqs)):
        if got.raw(req_id) not in {squeeze(t) for t in want[req_id]}:
            problems.append(f"{edition.name}: {req_id} read as 「{got.reqs[req_id]['raw_text'][:60]}…」, not 「{want[req_id][0][:60]}…」")
    want_sections = {(v, s): t for v, s, t in edition.toc()}
    if got.sections != want_sections:
        problems.append(f"{edition.name}: sections {sorted(set(got.sections.items()) ^ set(want_sections.items()))} differ")
    want_pairs = {tuple(sorted((edition.req_id(k) for k in p), key=_volume_order)) for p in edition.pairs()}
    want_pairs = {p for p in want_pairs if not any(edition.reqs[k].frozen for k in _keys(edition, p))}
    got_pairs = {p for p in got.pairs() if p[0] in want and p[1] in want and not any(edition.reqs[k].frozen for k in _keys(edition, p))}
    if got_pairs != want_pairs:
        problems.append(f"{edition.name}: correlations missing {sorted(want_pairs - got_pairs)}, extra {sorted(got_pairs - want_pairs)}")
    for key, notes in edition.notes().items():
        req = edition.reqs[key]
        if req.frozen or not any(len(row) > 1 for row in edition.rows for part in row.values() if key in part.keys):
            continue
        # the reader keeps the 備考 of correlated rows only (``correlations.jsonl``); one note a line
        in_rows = {squeeze(line) for row in edition.rows if len(row) > 1 for part in row.values()
                   if key in part.keys for line in part.note.split("\n") if line.strip()}
        if got.notes(edition.req_id(key)) != in_rows:
            problems.append(f"{edition.name}: {edition.req_id(key)} 備考 {sorted(got.notes(edition.req_id(key)))}, not {sorted(in_rows)}")
    return problems


def _keys(edition: Edition, ids: tuple[str, ...]) -> list[str]:
    by_id = {}
    for key in edition.reqs:
        by_id.setdefault(edition.req_id(key), key)
    return [by_id[i] for i in ids]


def change_problems(made: Pair, old: Extracted, new: Extracted, *, gaps: list | None = None) -> list[str]:
    """Expected changes not visible in the extracted data. A 備考 beside a requirement in a row of one
    volume is a known gap of the reader (it keeps 備考 in ``correlations.jsonl`` only, and such a row makes
    no correlation): such a change goes to ``gaps`` instead."""
    problems = []

    def fail(change, why):
        problems.append(f"{change['kind']} {change['old_id']} → {change['new_id']}: {why}")

    for c in made.changes:
        kind, a, b, d = c["kind"], c["old_id"], c["new_id"], c["detail"]
        if kind == "changed":
            if new.raw(b) != squeeze(d["new"]) or old.raw(a) != squeeze(d["old"]):
                fail(c, "texts not as edited")
            elif new.text(b) == old.text(a):
                fail(c, f"the reader's correction undid the revision: {new.reqs[b]['text'][:80]}")
        elif kind in ("renumbered", "moved"):
            if b not in new.reqs or new.raw(b) != squeeze(d["text"]) or old.raw(a) != squeeze(d["text"]):
                fail(c, "the text is not under the new ID")
            elif kind == "moved" and new.reqs[b]["section"] != d["to"].split("-", 1)[1]:
                fail(c, "not in its new section")
        elif kind == "added":
            if b not in new.reqs or new.raw(b) != squeeze(d["text"]) or any(old.raw(i) == squeeze(d["text"]) for i in old.reqs):
                fail(c, "not a new text under the new ID")
        elif kind == "removed":
            if a not in old.reqs or any(new.raw(i) == squeeze(d["text"]) for i in new.reqs):
                fail(c, "its text is still there")
        elif kind == "section-renamed":
            volume, section = a.split("-", 1)
            if (old.sections.get((volume, section)), new.sections.get((volume, section))) != (d["old"], d["new"]):
                fail(c, f"titles {old.sections.get((volume, section))} → {new.sections.get((volume, section))}")
            elif any(r["section_title"] != d["new"] for r in new.reqs.values() if (r["volume"], r["section"]) == (volume, section)):
                fail(c, "a requirement of the section keeps the old title")
        elif kind in ("section-added", "section-removed"):
            volume, section = (b or a).split("-", 1)
            if ((volume, section) in old.sections, (volume, section) in new.sections) != (kind == "section-removed", kind == "section-added"):
                fail(c, "sections.jsonl does not say so")
        elif kind == "note-changed" and gaps is not None and not d["correlated"]:
            gaps.append(c)
        elif kind == "note-changed":
            lines = lambda notes: {squeeze(line) for n in notes for line in n.split("\n") if line.strip()}  # noqa: E731
            if old.notes(a) == new.notes(b):
                fail(c, f"the extracted 備考 are the same: {sorted(old.notes(a))}")
            elif new.notes(b) - old.notes(a) != lines(d["new"]) - lines(d["old"]):
                fail(c, f"備考 {sorted(old.notes(a))} → {sorted(new.notes(b))}")
        elif kind == "correlation-added":
            if tuple(d["pair"]) not in new.pairs() or tuple(a.split("+")) in old.pairs():
                fail(c, "the correlation is not new")
        elif kind == "correlation-removed":
            if tuple(a.split("+")) not in old.pairs() or tuple(d["pair"]) in new.pairs():
                fail(c, "the correlation is not gone")
    for req_id in made.unchanged:
        if req_id in old.reqs and req_id in new.reqs and old.raw(req_id) != new.raw(req_id):
            problems.append(f"unchanged {req_id}: texts differ")
    return problems


def build(made: Pair, folder: Path, *, sources=("text",), command: str = "build") -> tuple[Extracted, Extracted]:
    raw = write_pair(made, folder, sources=sources)
    result = run_cli(folder, command, raw=raw)
    assert result.exit_code == 0, result.output
    return Extracted(folder / "extracted" / made.old.name), Extracted(folder / "extracted" / made.new.name)


@pytest.fixture(scope="session")
def acceptance(tmp_path_factory):
    made = pair(acceptance=True)
    return made, *build(made, tmp_path_factory.mktemp("editions-text"))


# --- the generator ---------------------------------------------------------------------------------

def test_the_acceptance_pair_has_every_kind_of_change_each_on_its_own_requirements():
    made = pair(acceptance=True)
    kinds = {c["kind"] for c in made.changes}
    assert kinds == {"changed", "added", "removed", "renumbered", "moved", "section-renamed", "section-added",
                     "section-removed", "note-changed", "correlation-added", "correlation-removed"}
    requirement_changes = [c for c in made.changes if c["kind"] in ("changed", "added", "removed", "renumbered", "moved")]
    olds = [c["old_id"] for c in requirement_changes if c["old_id"]]
    news = [c["new_id"] for c in requirement_changes if c["new_id"]]
    assert len(olds) == len(set(olds)) and len(news) == len(set(news))
    assert made.old.requirements() == pair(seed=5).old.requirements()  # OLD is the truth, whatever the seed
    assert set(made.old.requirements()) == set(load_truth_ids())


def load_truth_ids() -> set[str]:
    from .corpus import truth_ids

    return truth_ids(load_truth())


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_pairs_are_deterministic_and_small(seed):
    first, second = pair(seed), pair(seed)
    assert first.expected() == second.expected() and first.new.table() == second.new.table()
    assert 3 <= len(first.edits) <= 8


# --- read back --------------------------------------------------------------------------------------

def test_old_and_new_extract_as_generated(acceptance):
    made, old, new = acceptance
    assert edition_problems(made.old, old) == []
    assert edition_problems(made.new, new) == []
    assert old.report["not_placed"]["total"] == new.report["not_placed"]["total"] == truth_clashes(load_truth())


def test_every_expected_change_is_visible(acceptance):
    made, old, new = acceptance
    assert change_problems(made, old, new) == []


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_pairs_extract_as_generated(seed, tmp_path):
    made = pair(seed)
    old, new = build(made, tmp_path, command="extract")
    problems = edition_problems(made.old, old) + edition_problems(made.new, new) + change_problems(made, old, new, gaps=[])
    assert problems == [], made.edits


def test_the_acceptance_pair_as_pdf_extracts_as_generated(tmp_path):
    made = pair(acceptance=True)
    old, new = build(made, tmp_path, sources=("pdf",), command="extract")
    assert edition_problems(made.old, old) + edition_problems(made.new, new) + change_problems(made, old, new) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_pairs_as_pdf_extract_as_generated(seed, tmp_path):
    made = pair(seed)
    old, new = build(made, tmp_path, sources=("pdf",), command="extract")
    problems = edition_problems(made.old, old) + edition_problems(made.new, new) + change_problems(made, old, new, gaps=[])
    if seed in PDF_NOTE_SPREAD:
        assert problems, f"seed {seed} now reads right: take it out of PDF_NOTE_SPREAD"
        pytest.xfail(f"the PDF reader spreads a 備考 down a 記載箇所 span after a page break: {problems}")
    assert problems == [], made.edits


def test_the_cli_writes_both_raw_folders_and_the_expected_changes(tmp_path, capsys):
    assert main([str(tmp_path), "--seed", "4", "--old", "7.0", "--new", "7.1"]) == 0
    expected = json.loads((tmp_path / "expected.json").read_text(encoding="utf-8"))
    assert (expected["old"], expected["new"], expected["seed"]) == ("7.0", "7.1", 4)
    assert expected["changes"] == pair(4, old="7.0", new="7.1").changes
    for edition in ("7.0", "7.1"):
        folder = tmp_path / "raw" / edition
        assert sorted(p.name for p in folder.iterdir()) == ["correlation-table-v%s.ocr.txt" % edition, "manifest.toml", "toc.tsv"]
        assert f'edition = "{edition}"' in (folder / "manifest.toml").read_text(encoding="utf-8")
    assert "expected.json" in capsys.readouterr().out


# --- what the reader gets wrong (strict xfail: they fail loudly once fixed, so the exceptions above go) ---

def _noted(key: str, text: str) -> Pair:
    base = from_truth(load_truth())
    editor = Editor(base, "6.1", random.Random(0))
    editor.note(key, text=text)
    return Pair(base, editor.new, [], [], None, False)


def _all_notes(folder: Path) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*")) if path.is_file())


# The 備考 column of a row where only one volume has a requirement: once lost (``link._correlations``
# keeps a row's notes only when the row makes a correlation), now kept with the requirement
# (requirements.jsonl ``notes``), so a 備考 changed beside such a requirement is seen by diff.
def test_a_note_in_a_row_of_one_volume_is_kept(tmp_path):
    made = _noted("ctrl-13-8", "5.2版6.5C3の趣旨を踏まえて新設")  # ctrl-13-8 stands in one row, alone
    build(made, tmp_path, command="extract")
    assert "5.2版6.5C3" in _all_notes(tmp_path / "extracted" / "6.1")


# PDF only. Where a 記載箇所 cell spans on past a page break, ``pdf._fill_places`` fills the empty 記載箇所
# of the rows on the next page from the row above. Their empty 備考 was filled too, though each is a cell
# of its own: now the rows below the first keep theirs empty (seeds 6, 9, 50, 69 read right). The first row
# of the page still takes the 備考 above: there a 備考 cell continued over the break looks like a cell of its
# own (LibreOffice Calc draws it so: tests/test_producers.py seed 110), and the row alone cannot tell. Seed 8:
# the 備考 beside ctrl-14-4, the last row of page 3, lands on ctrl-14-1, the first row of page 4.
@pytest.mark.xfail(strict=True, reason="the first row after a page break takes the 備考 of the row above")
def test_a_note_does_not_spread_down_a_span_after_a_page_break(tmp_path):
    made = pair(8)
    _, new = build(made, tmp_path, sources=("pdf",), command="extract")
    assert new.notes("ctrl-14-1") == set()
