"""The site's query model (pipeline/assets/query.js, in Chromium) gives what the command line's gives
(pipeline/query.py through the whoosh index): the same folded text, the same hits in the same order.

The JavaScript is run as the browser runs it (Debian's /usr/bin/chromium, driven by playwright) over
the very search documents the site ships (search/kb.json, search/kb-<edition>.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import sync_playwright

from pipeline import query as qm
from pipeline.errors import QueryError
from pipeline.index import Searcher
from pipeline.store import load_requirements, load_unplaced

from .conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import bench_search  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
QUERY_JS = REPO / "pipeline" / "assets" / "query.js"
EXTRA = ["ﾊﾞｯｸｱｯﾌﾟ", "サーバー", "コンピューター", '"重要なファイル"', "ー", "ゔぃ", "OR", "- -", "監視カメラ",
         "USBメモリ -記録", "𠮷野", "ﾃﾞｰﾀ", "データー ベース", "ｶﾞｲﾄﾞﾗｲﾝ", "GOV-01.1-1", "unplaced-59-1", "a OR", "OR b"]


@pytest.fixture(scope="module")
def browser_model(kb):
    site = kb / "site" / "search"
    meta = json.loads((site / "kb.json").read_text(encoding="utf-8"))
    docs = {ed: json.loads((site / f"kb-{ed}.json").read_text(encoding="utf-8")) for ed in meta["editions"]}
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (.ci/install installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=QUERY_JS.read_text(encoding="utf-8"))
        page.evaluate("""([meta, docs]) => {
            window.kbVocabulary = {synonyms: meta.synonyms, words: new Set(meta.words), spellings: meta.spellings};
            window.kbDocs = docs; }""", [meta, docs])
        yield page, meta
        browser.close()


def browser_search(page, edition: str, queries: list[str]) -> dict[str, list[str]]:
    ranked = page.evaluate("""([edition, queries]) => queries.map(
        q => guidelineKbQuery.search(q, kbDocs[edition], kbVocabulary).ranked.slice(0, 10).map(r => r.doc.id))""", [edition, queries])
    return dict(zip(queries, ranked))


def cli_search(searcher: Searcher, edition: str, query: str) -> list[str]:
    try:
        return [h.id for h in searcher.search(query, edition=edition, limit=10)]
    except QueryError:  # nothing to look for: the browser gives no results
        return []


@pytest.fixture(scope="module")
def searcher(kb):
    with Searcher(kb / "extracted") as s:
        yield s


def test_every_relevance_query_ranks_the_same_in_the_browser(browser_model, searcher):
    page, meta = browser_model
    queries = [q for name in ("queries.tsv", "staff-queries.tsv", "holdout-queries.tsv")
               for q, _, _ in bench_search.load_queries(REPO / "tests" / "relevance" / name)] + EXTRA
    assert len(queries) >= 180
    for edition in meta["editions"]:
        browser = browser_search(page, edition, queries)
        differ = {q: (cli_search(searcher, edition, q), browser[q]) for q in queries if cli_search(searcher, edition, q) != browser[q]}
        assert not differ, differ


def test_every_text_folds_the_same_in_the_browser(browser_model, kb):
    page, _ = browser_model
    records = [*load_requirements(kb / "extracted"), *load_unplaced(kb / "extracted")]
    texts = [t for r in records for t in (r.text, r.raw_text, r.section_title or "")]
    browser = page.evaluate("texts => texts.map(t => [guidelineKbQuery.fold(t, false), guidelineKbQuery.fold(t, true)])", texts)
    assert [[qm.fold(t), qm.fold(t, katakana=True)] for t in texts] == browser


MIXED = st.text(alphabet=st.sampled_from(list("あぁアァｱﾞﾟーｰ ・、バﾊﾞヴゔウィ漢字認証暗号保存ログバックアップ世代AＡa1１①-\"|OR\u3099\u309b\u3000")),
                max_size=24)


# Characters Python's Unicode tables (unicodedata 14) have assigned, in the BMP: the browser's newer
# tables know letters Python does not (U+18D80…), and a query of those is folded differently.
ASSIGNED = st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cn", "Cs"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(MIXED, st.text(alphabet=ASSIGNED, max_size=12)), min_size=1, max_size=20))
def test_random_queries_rank_and_fold_the_same_in_the_browser(browser_model, searcher, queries):
    page, meta = browser_model
    edition = meta["editions"][0]
    browser = browser_search(page, edition, queries)
    for q in queries:
        assert cli_search(searcher, edition, q) == browser[q], q
    folded = page.evaluate("qs => qs.map(q => guidelineKbQuery.fold(q, true))", queries)
    assert folded == [qm.fold(q, katakana=True) for q in queries]
