"""``guideline-kb diff`` on whole editions made from the truth with known changes (tests/editions.py):
every change classified right in the JSON, the text, the CSV and the site page (issue 12 acceptance)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .conftest import run_cli
from .diffcheck import score
from .editions import pair, write_pair

KIND_NAMES = {"changed": "変更", "renumbered": "番号の変更", "moved": "節の移動", "added": "追加", "removed": "削除"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    made = pair(acceptance=True)
    folder = tmp_path_factory.mktemp("diff-editions")
    raw = write_pair(made, folder)
    result = run_cli(folder, "build", raw=raw)
    assert result.exit_code == 0, result.output
    return made, folder, raw


def cli(built, *args):
    made, folder, raw = built
    result = run_cli(folder, "diff", made.old.name, made.new.name, *args, raw=raw)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_change_of_the_acceptance_pair_is_classified_right(built):
    made = built[0]
    kinds = {c["kind"] for c in made.expected()["changes"]}
    assert kinds >= {"changed", "added", "removed", "renumbered", "moved", "section-renamed", "note-changed",
                     "correlation-added", "correlation-removed"}
    found = score(made.expected(), json.loads(cli(built, "--json")))
    assert found["wrong"] == [] and found["missed"] == [], found
    assert found["right"] == found["total"] > 100


def test_no_renumbered_item_is_reported_as_changed_added_and_removed(built):
    made = built[0]
    result = json.loads(cli(built, "--json"))
    renumbered = {(c["old_id"], c["new_id"]) for c in made.expected()["changes"] if c["kind"] == "renumbered"}
    assert renumbered and renumbered <= {(c["old_id"], c["new_id"]) for c in result["requirements"] if c["kind"] == "renumbered"}
    added = {c["new_id"] for c in result["requirements"] if c["kind"] == "added"}
    removed = {c["old_id"] for c in result["requirements"] if c["kind"] == "removed"}
    assert not {new for _, new in renumbered} & added and not {old for old, _ in renumbered} & removed


def test_the_text_and_the_csv_say_the_same(built):
    made = built[0]
    text = cli(built)
    rows = list(csv.reader(io.StringIO(cli(built, "--csv", "--all").encode("utf-8", "surrogateescape").decode("utf-8-sig"))))
    by_ids = {(r[2] or None, r[3] or None): r[1] for r in rows[1:]}
    for change in made.expected()["changes"]:
        kind, old, new = change["kind"], change["old_id"], change["new_id"]
        if kind not in KIND_NAMES:
            continue
        assert by_ids.get((old, new)) == kind, (change, by_ids.get((old, new)))
        head = {"added": f"追加 {new}", "removed": f"削除 {old}", "changed": f"変更 {new}"}.get(kind, f"{KIND_NAMES[kind]} {old} → {new}")
        assert head in text, head


def test_the_site_page_of_changes_shows_each_of_them(built):
    made, folder, _ = built
    page = (folder / "site" / made.new.name / f"changes-from-{made.old.name}.html").read_text(encoding="utf-8")
    for change in made.expected()["changes"]:
        kind, old, new = change["kind"], change["old_id"], change["new_id"]
        if kind in KIND_NAMES:
            anchor = f'id="change-{new or old}">{KIND_NAMES[kind]}'
            assert anchor in page, (change, anchor)
        elif kind == "section-renamed":
            assert change["detail"]["new"] in page
    assert f"changes-from-{made.old.name}.html" in (folder / "site" / made.old.name / "index.html").read_text(encoding="utf-8")


def test_an_edition_compared_with_itself_has_no_change(built):
    made = built[0]
    _, folder, raw = built
    result = json.loads(run_cli(folder, "diff", made.new.name, made.new.name, "--json", raw=raw).output)
    assert all(c["kind"] == "unchanged" for c in result["requirements"])
    assert result["sections"] == result["correlations"] == result["notes"] == []


@pytest.mark.slow  # render the PDFs and read them
@pytest.mark.parametrize("seed", [0, 3, 7])
def test_random_pairs_from_pdf_are_classified_right(tmp_path, seed):
    made = pair(acceptance=True) if seed == 0 else pair(seed)
    raw = write_pair(made, tmp_path, sources=("pdf",))
    assert run_cli(tmp_path, "extract", raw=raw).exit_code == 0
    result = json.loads(run_cli(tmp_path, "diff", made.old.name, made.new.name, "--json", raw=raw).output)
    found = score(made.expected(), result)
    assert found["wrong"] == [] and found["missed"] == [], found


def test_searching_every_edition_ranks_each_as_if_searched_alone(built):
    """``search`` without an edition (one pass over the index for all editions) ranks each edition on its
    own: an edition's hits, in order and with their scores, are those of the edition searched alone, the
    spelling-alike fallback included (an edition with no hit for the words)."""
    from pipeline.index import Searcher

    made, folder, _ = built
    editions = [made.new.name, made.old.name]
    with Searcher(folder / "extracted") as searcher:
        assert searcher.editions() == editions
        seen = set()
        for query in ("バックアップ", "委託先 管理", "入退室", "ウィルス", "バックアプ", "パスワド", "ctrl-13", "暗号化 OR 電子署名", "-規程 運用"):
            every = searcher.search(query, limit=1000)
            for edition in editions:
                alone = searcher.search(query, edition=edition, limit=1000)
                assert [(h.id, h.score, h.matched_by) for h in every if h.edition == edition] == \
                       [(h.id, h.score, h.matched_by) for h in alone], (query, edition)
                seen |= {h.matched_by for h in alone}
        assert seen == {"words", "bigrams"}


def test_an_edition_searched_among_others_ranks_as_in_an_index_of_its_own(built, tmp_path):
    """Scores and order of one edition's hits do not depend on the other editions in the index: the same
    as in an index made of that edition alone (an oracle that does not go through the shared ranking)."""
    import shutil

    from pipeline.index import Searcher, build_index
    from pipeline.store import load_requirements

    made, folder, _ = built
    alone_dir = tmp_path / "alone"
    shutil.copytree(folder / "extracted" / made.old.name, alone_dir / made.old.name)
    build_index(load_requirements(alone_dir), alone_dir)
    queries = ("バックアップ", "委託先 管理", "入退室", "ウィルス", "バックアプ", "パスワド", "ctrl-13", "暗号化 OR 電子署名", "-規程 運用")
    with Searcher(folder / "extracted") as among, Searcher(alone_dir) as own:
        for query in queries:
            assert [(h.id, h.score, h.matched_by) for h in among.search(query, limit=1000) if h.edition == made.old.name] == \
                   [(h.id, h.score, h.matched_by) for h in own.search(query, limit=1000)], query
