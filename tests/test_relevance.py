"""Search quality on the relevance sets, query robustness, --expand.

Three sets, kept apart (tests/relevance/): ``queries.tsv`` (written with the first index),
``staff-queries.tsv`` (written blind from the knowledge base's texts, as staff ask; the synonyms
were extended after its first run, so it is tuned on) and ``holdout-queries.tsv`` (written blind
afterwards and never tuned on)."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import QueryError
from pipeline.index import Searcher

from .conftest import REPO, run_cli

sys.path.insert(0, str(REPO / "bench"))
import bench_search  # noqa: E402

QUERIES = bench_search.load_queries()
SETS = {name: bench_search.load_queries(REPO / "tests" / "relevance" / name) for name in bench_search.SETS}


@pytest.fixture(scope="module")
def searcher(kb):
    with Searcher(kb / "extracted") as s:
        yield s


def test_the_relevance_set_is_big_and_varied():
    assert len(QUERIES) >= 50
    assert {kind for _, kind, _ in QUERIES} >= {"word", "compound", "variant", "synonym", "phrase", "multi", "ascii"}


def test_the_staff_sets_are_big_and_varied():
    assert len(SETS["staff-queries.tsv"]) >= 40 and len(SETS["holdout-queries.tsv"]) >= 40
    assert {kind for _, kind, _ in SETS["staff-queries.tsv"]} >= {"paraphrase", "synonym", "kana", "part", "multi", "or",
                                                               "exclude", "phrase", "ref52"}


@pytest.mark.parametrize("name", list(bench_search.SETS))
def test_recall_and_mrr_meet_their_floor(searcher, name):
    score = bench_search.evaluate(searcher, SETS[name])
    assert score["recall"] >= 0.95, score["misses"]
    assert score["mrr"] >= 0.85, score["misses"]


@pytest.mark.parametrize("query, first", [
    ("重要なファイル", {"ctrl-11-1", "ctrl-6-4", "ctrl-18-1", "ctrl-18-4"}),  # the phrase as typed ranks first
    ("BCP", {"mgmt-11-2"}),  # BCP = 事業継続計画 (synonyms)
    ("ユーザ", {"ctrl-11-1", "ctrl-6-4"}),  # ユーザ = ユーザー (Sudachi normalized form)
    ("ＴＬＳ１．３", {"ctrl-13-6"}),  # full width
])
def test_first_hit(searcher, query, first):
    assert searcher.search(query)[0].id in first


def test_filters_by_volume_section_and_edition(searcher):
    assert {h.volume for h in searcher.search("管理", volume="mgmt", limit=50)} == {"mgmt"}
    hits = searcher.search("管理", section="13", limit=50)
    assert hits and all(h.section == "13" or h.section.startswith("13.") for h in hits)
    assert searcher.search("管理", edition="9.9") == []


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=500),
                 st.lists(st.sampled_from(['"', "(", ")", "AND", "OR", "NOT", "*", "?", "~", "^", ":", "+", "-", "\\", "/",
                                           "バックアップ", "TLS", "　", " ", "電子", "カルテ", "①", "\u0000"]), max_size=20).map("".join)))
def test_no_query_string_breaks_search(searcher, text):
    try:
        hits = searcher.search(text)
    except QueryError as exc:
        assert str(exc)  # one clear message
    else:
        assert isinstance(hits, list)


def test_expand_ranks_the_correlated_requirements_of_each_hit(kb):
    result = run_cli(kb, "search", "リスク評価の結果", "--expand", "--json", "--limit", "3")
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.output)}
    related = rows["mgmt-6-8"]["related"]  # 企画管理編 → 経営管理編 and システム運用編
    assert {r["volume"] for r in related} == {"gov", "ctrl"}
    assert [r["score"] for r in related] == sorted((r["score"] for r in related), reverse=True)
    assert related[0]["id"] == "gov-2.2-1"  # it shares the query's words: first
    assert "ctrl-4-2" in {r["id"] for r in related}
    text = run_cli(kb, "search", "リスク評価の結果", "--expand", "--limit", "2")
    assert "→ gov-2.2-1" in text.output
