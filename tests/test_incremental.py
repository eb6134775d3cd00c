"""A build redoes only what changed (issue 13): nothing when nothing changed; one edition when one
edition's sources changed (its index documents, and the site's pages whose Markdown changed); only the
site when only mkdocs.yml did; everything with --force or new code."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from pipeline import build as pipeline
from pipeline import inputs

from .conftest import CONFIG, RAW, copy_raw, run_cli, snapshot


@pytest.fixture
def two(tmp_path):
    shutil.copytree(RAW, tmp_path / "raw")
    shutil.copytree(RAW / "6.0", tmp_path / "raw" / "6.1")
    manifest = tmp_path / "raw" / "6.1" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('edition = "6.0"', 'edition = "6.1"'), encoding="utf-8")
    shutil.copy(CONFIG, tmp_path / "mkdocs.yml")
    return tmp_path


def build(folder, **kwargs):
    timings = pipeline.Timings()
    outputs = pipeline.build(folder / "raw", folder / "extracted", folder / "site", folder / "mkdocs.yml", timings=timings, **kwargs)
    return [o.edition.name for o in outputs], timings


def test_nothing_changed_nothing_done(two):
    read, _ = build(two)
    assert read == ["6.0", "6.1"]
    before = snapshot(two / "extracted", two / "site")
    read, timings = build(two)
    assert read == [] and "変更はありません" in timings.notes[0] and timings.seconds == {}
    assert snapshot(two / "extracted", two / "site") == before


def test_one_edition_changed_only_it_is_read(two):
    build(two)
    old = snapshot(two / "extracted" / "6.0")
    source = two / "raw" / "6.1" / "correlation-table-v6.0.ocr.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("窓口の設置等の対策を行うこと。", "窓口を設置すること。"), encoding="utf-8")
    read, timings = build(two)
    assert read == ["6.1"] and any("6.0" in note for note in timings.notes)
    assert snapshot(two / "extracted" / "6.0") == old
    assert "窓口を設置すること。" in (two / "extracted" / "6.1" / "requirements.jsonl").read_text(encoding="utf-8")
    assert "窓口を設置すること" in (two / "site" / "6.1" / "gov" / "1.html").read_text(encoding="utf-8")


def test_only_the_config_changed_only_the_site_is_built(two):
    build(two)
    data = snapshot(two / "extracted")
    config = two / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("相関ナレッジベース", "相関ナレッジベース（試験）", 1), encoding="utf-8")
    read, timings = build(two)
    assert read == [] and set(timings.seconds) == {"site"}
    assert snapshot(two / "extracted") == data
    assert "（試験）" in (two / "site" / "index.html").read_text(encoding="utf-8")


def test_new_code_or_force_reads_everything(two, monkeypatch):
    build(two)
    assert build(two, force=True)[0] == ["6.0", "6.1"]
    monkeypatch.setattr(inputs, "code_version", lambda: "another")
    assert build(two)[0] == ["6.0", "6.1"]


def test_the_cli_says_it_did_nothing(two):
    assert run_cli(two, "build").exit_code == 0
    result = run_cli(two, "build")
    assert result.exit_code == 0 and "変更はありません" in result.output


def test_an_edition_removed_from_raw_is_removed_from_the_outputs(two):
    build(two)
    shutil.rmtree(two / "raw" / "6.1")
    read, _ = build(two)
    assert read == [] and not (two / "extracted" / "6.1").exists() and (two / "extracted" / "6.0").is_dir()



def indexed(folder):
    """What the index holds: every document (edition, ID, search document), what a search finds,
    and the vocabulary file."""
    from whoosh import index as whoosh_index

    from pipeline.index import INDEX_DIR, VOCABULARY, Searcher

    with whoosh_index.open_dir(folder / "extracted" / INDEX_DIR).searcher() as searcher:
        docs = sorted((d["edition"], d["id"], json.dumps(d["doc"], ensure_ascii=False, sort_keys=True)) for d in searcher.documents())
    with Searcher(folder / "extracted") as searcher:
        found = [(h.edition, h.id, h.text) for q in ("窓口", "苦情受付", "バックアップ") for h in searcher.search(q, edition="6.1")]
    return docs, found, (folder / "extracted" / INDEX_DIR / VOCABULARY).read_text(encoding="utf-8")


def test_one_edition_changed_only_it_is_indexed_and_the_index_is_as_if_made_whole(two, tmp_path_factory):
    build(two)
    source = two / "raw" / "6.1" / "correlation-table-v6.0.ocr.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("窓口の設置等の対策を行うこと。", "苦情受付窓口を設置すること。"), encoding="utf-8")
    read, timings = build(two)
    assert read == ["6.1"] and any("索引は読み直した版だけ作り直しました: 6.1" in note for note in timings.notes)
    updated = indexed(two)
    assert any("苦情受付窓口" in doc for _, _, doc in updated[0]) and any("苦情受付窓口" in text for _, _, text in updated[1])
    whole = tmp_path_factory.mktemp("whole")
    shutil.copytree(two / "raw", whole / "raw")
    shutil.copy(two / "mkdocs.yml", whole / "mkdocs.yml")
    build(whole)
    assert updated == indexed(whole)


def test_an_edition_removed_is_taken_out_of_the_index(two):
    from pipeline.index import Searcher

    build(two)
    shutil.rmtree(two / "raw" / "6.1")
    _, timings = build(two)
    assert any("索引は読み直した版だけ作り直しました: なし" in note for note in timings.notes)
    with Searcher(two / "extracted") as searcher:
        assert searcher.editions() == ["6.0"] and {h.edition for h in searcher.search("窓口")} == {"6.0"}


def test_a_failure_in_the_process_beside_mkdocs_is_one_line_and_the_site_stays(tmp_path):
    """The search data, permalinks and downloads are made by a second process: its failure is the
    build's one line, and the site as it was stays (nothing half-made is left beside it)."""
    copy_raw(tmp_path)
    assert run_cli(tmp_path, "build").exit_code == 0
    before = snapshot(tmp_path / "site")
    (tmp_path / "extracted" / "index" / "vocabulary.json").unlink()  # only the search data reads it
    result = run_cli(tmp_path, "site")
    assert result.exit_code == 2 and "vocabulary.json" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert snapshot(tmp_path / "site") == before
    assert not [p.name for p in tmp_path.iterdir() if ".staging-" in p.name]


def relative(folder):
    """Every file of a site, path under it → bytes, but the commit's own token."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != ".commit-token"}


def test_one_edition_changed_the_site_is_updated_page_by_page_and_is_the_site_made_whole(two, tmp_path_factory, monkeypatch):
    """mkdocs renders only the pages whose Markdown changed (6.0's table is taken from the last site, not
    rendered: its time stays), and the site is, byte for byte, the one a whole build of the same sources makes."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the home page shows the build's date
    build(two)
    table = two / "site" / "6.0" / "table.html"
    kept = (table.read_bytes(), table.stat().st_mtime_ns)
    (two / "site" / "6.0" / "report.html").unlink()  # a page the last site lacks is rendered (and hardened) too
    source = two / "raw" / "6.1" / "correlation-table-v6.0.ocr.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("窓口の設置等の対策を行うこと。", "苦情受付窓口を設置すること。"), encoding="utf-8")
    _, timings = build(two)
    notes = [note for note in timings.notes if "ページだけ作り直しました" in note]
    rendered = int(notes[0].split("変わった ")[1].split(" ")[0]) if notes else None
    assert rendered is not None and 0 < rendered < 10, timings.notes  # of some 60 pages
    assert (table.read_bytes(), table.stat().st_mtime_ns) == kept
    assert "苦情受付窓口を設置すること" in (two / "site" / "6.1" / "gov" / "1.html").read_text(encoding="utf-8")
    whole = tmp_path_factory.mktemp("whole")
    shutil.copytree(two / "raw", whole / "raw")
    shutil.copy(two / "mkdocs.yml", whole / "mkdocs.yml")
    build(whole)
    assert relative(two / "site") == relative(whole / "site")


def test_an_edition_removed_the_site_is_made_whole(two, tmp_path_factory, monkeypatch):
    """The navigation changed: every page would change, so the site is built whole, without the edition,
    and is, byte for byte, the site a build from nothing makes (every edition's downloads included)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the home page shows the build's date
    build(two)
    shutil.rmtree(two / "raw" / "6.1")
    _, timings = build(two)
    assert not any("ページだけ作り直しました" in note for note in timings.notes)
    assert not (two / "site" / "6.1").exists() and not (two / "site" / "downloads" / "6.1").exists()
    assert (two / "site" / "6.0" / "gov" / "1.html").is_file()
    fresh = tmp_path_factory.mktemp("fresh")
    shutil.copytree(two / "raw", fresh / "raw")
    shutil.copy(two / "mkdocs.yml", fresh / "mkdocs.yml")
    build(fresh)
    assert relative(two / "site") == relative(fresh / "site")


def test_an_update_that_fails_leaves_the_site_as_it_was(two, monkeypatch):
    """The update works on a copy of the last site: a failure after mkdocs wrote its pages changes nothing."""
    from pipeline import site as site_module
    from pipeline.errors import SiteError

    build(two)
    before = snapshot(two / "site")
    source = two / "raw" / "6.1" / "correlation-table-v6.0.ocr.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("窓口の設置等の対策を行うこと。", "苦情受付窓口を設置すること。"), encoding="utf-8")

    def fail(*args, **kwargs):
        raise SiteError("試験: 検索索引を合わせられませんでした")

    monkeypatch.setattr(site_module, "merge_search_index", fail)
    with pytest.raises(SiteError):
        build(two)
    assert snapshot(two / "site") == before
    assert not [p.name for p in two.iterdir() if ".staging-" in p.name]


@pytest.mark.parametrize("broken", ["an anchor a page not rendered links to", "a link to an anchor a page not rendered lacks"])
def test_a_broken_link_between_a_page_rendered_and_one_not_fails_the_update_as_it_fails_a_whole_build(two, tmp_path_factory,
                                                                                                         monkeypatch, broken):
    """mkdocs's dirty build checks the links to anchors only between the pages it renders: the pages it
    passes by are given their anchors and links from the last build, so a link broken by a page rendered
    again (or from one, to a page not rendered) fails the update in strict mode, as it fails a whole build
    of the same pages (the oracle: mkdocs's own check in a whole build). The last site stays."""
    from pipeline import site as site_module
    from pipeline.errors import SiteError

    build(two)
    record = json.loads((two / "site" / "pages.json").read_text(encoding="utf-8"))
    page, target, anchor = next((page, target, anchor) for page, targets in sorted(record["links"].items()) if page.startswith("6.1/ctrl/")
                                for target, anchors in sorted(targets.items()) if target.startswith("6.1/mgmt/") for anchor in sorted(anchors))
    not_rendered = page if broken.startswith("an anchor") else target
    generate = site_module.generate_docs
    made: list[bytes] = []

    def with_a_broken_link(out_dir, docs):
        nav = generate(out_dir, docs)
        if broken.startswith("an anchor"):  # the target, rendered again, no longer has the anchor the page links to
            markdown = docs / target
            markdown.write_text(markdown.read_text(encoding="utf-8").replace(f"{{ #{anchor} }}", f"{{ #{anchor}-moved }}"), encoding="utf-8")
        else:  # the changed chapter links to an anchor the target (not rendered) does not have
            markdown = docs / "6.1" / "gov" / "1.md"
            markdown.write_text(markdown.read_text(encoding="utf-8") + f"\n[試験](../../{target}#no-such-anchor)\n", encoding="utf-8")
        made.append((docs / not_rendered).read_bytes())
        return nav

    monkeypatch.setattr(site_module, "generate_docs", with_a_broken_link)
    whole = tmp_path_factory.mktemp("whole")
    shutil.copytree(two / "raw", whole / "raw")
    shutil.copy(two / "mkdocs.yml", whole / "mkdocs.yml")
    source = "correlation-table-v6.0.ocr.txt"
    for folder in (two, whole):
        path = folder / "raw" / "6.1" / source
        path.write_text(path.read_text(encoding="utf-8").replace("窓口の設置等の対策を行うこと。", "苦情受付窓口を設置すること。"), encoding="utf-8")
    with pytest.raises(SiteError) as made_whole:
        build(whole)
    before = snapshot(two / "site")
    with pytest.raises(SiteError) as updated:
        build(two)
    # the page on the other side of the broken link is one the update does not render: its Markdown is as last time
    assert hashlib.sha256(made[-1]).hexdigest()[:16] == record["pages"][not_rendered]
    assert ("no-such-anchor" if broken.startswith("a link") else f"#{anchor}'") in str(made_whole.value)
    assert str(updated.value).split(": ", 1)[1] == str(made_whole.value).split(": ", 1)[1]  # the same warning, the site folder apart
    assert snapshot(two / "site") == before
