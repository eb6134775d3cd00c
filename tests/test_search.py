"""Sudachi's words of the knowledge base, and search over the index built from the sample."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import QueryError
from pipeline.index import Searcher
from pipeline.index.analysis import spellings, words
from pipeline.store import load_requirements


def test_words_are_mode_c_words_and_their_mode_a_parts_as_written():
    assert {"ユーザアカウント", "ユーザ", "アカウント"} <= set(words("非常時用ユーザアカウント"))


def test_long_input_is_tokenized_in_pieces():
    text = "バックアップを確保すること。" * 6000  # ~84 KB: over Sudachi's input limit in one piece
    assert words(text).count("バックアップ") >= 5990  # a piece ends where it must, at most one word cut per piece


def test_other_spellings_come_from_sudachi_normalized_forms():
    assert ("遵守", "順守") in spellings("法令を遵守すること")


@pytest.fixture(scope="module")
def searcher(kb):
    with Searcher(kb / "extracted") as s:
        yield s


@pytest.fixture(scope="module")
def emergency_id(kb) -> str:
    """The システム運用編 requirement on 非常時 operation (ユーザアカウント, バックアップ): ctrl-11-1 until
    placement read its row's 記載箇所 as 6 (issue 10), so found by its text, not a fixed ID."""
    return next(r.id for r in load_requirements(kb / "extracted") if r.text.startswith("非常時の医療情報システムの運用について"))


def test_backup_finds_control_volume_backup_requirements(searcher, emergency_id):
    hits = searcher.search("バックアップ")
    assert hits[0].volume == "ctrl"
    assert {"ctrl-12-4", "ctrl-18-1", emergency_id} <= {h.id for h in hits}
    assert all("バックアップ" in h.text[s:e] for h in hits for s, e in h.highlights)


def test_tls_finds_the_tls13_requirement(searcher):
    assert searcher.search("TLS")[0].id == "ctrl-13-6"
    assert searcher.search("ＴＬＳ")[0].id == "ctrl-13-6"


def test_contractor_finds_requirements_about_contractors(searcher):
    hits = searcher.search("委託先", limit=20)
    assert len(hits) >= 5
    assert all("委託" in h.text for h in hits)


def test_electronic_medical_record_finds_the_item_ocr_garbled_and_correction_fixed(searcher):
    hits = searcher.search("電子カルテ")  # the sample reads 電子カルタ; the correct stage fixed the text
    assert hits[0].id == "mgmt-13-8"
    assert hits[0].matched_by != "bigrams"


def test_the_text_as_read_before_correction_is_searchable(searcher):
    hits = searcher.search("電子カルタ")  # the sample's reading; the correct stage fixed the text
    assert hits[0].id == "mgmt-13-8"


def test_a_misspelt_query_falls_back_to_a_similar_spelling(searcher):
    hits = searcher.search("アセスメソト")  # no such word anywhere, nor a known piece of it
    assert hits and all("アセスメント" in h.text + h.section_title for h in hits)
    assert hits[0].matched_by == "bigrams"


def test_word_inside_a_compound_is_found(searcher, emergency_id):
    assert emergency_id in {h.id for h in searcher.search("アカウント", limit=20)}
    assert emergency_id in {h.id for h in searcher.search("ユーザー", limit=20)}


def test_texts_with_all_words_come_first_and_volume_filter(searcher):
    hits = searcher.search("バックアップ 重要なファイル", limit=30)
    complete = [h for h in hits if h.complete]
    assert complete and all("バックアップ" in h.text and "重要" in h.text for h in complete)
    assert hits[: len(complete)] == complete  # then those with some of the words, each saying which
    assert all(h.matched and h.missing for h in hits[len(complete):])
    assert all(h.volume == "mgmt" for h in searcher.search("バックアップ", volume="mgmt"))


@pytest.mark.parametrize("query", ["", "   ", "、。！？", '"', "（）「」", "***"])
def test_queries_with_nothing_to_search_for_raise_a_clear_error(searcher, query):
    with pytest.raises(QueryError, match="検索語がありません"):
        searcher.search(query)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=500))
def test_any_query_gives_results_or_a_query_error(searcher, query):
    try:
        hits = searcher.search(query)
    except QueryError:
        return
    assert isinstance(hits, list)
