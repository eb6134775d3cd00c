"""The query model (pipeline/query.py): folding, operators, partial matches, ranking; and what a user
sees through the index built from the sample (issue 11: no dead ends, the same answers everywhere)."""

from __future__ import annotations

import random
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import query as qm
from pipeline.index import Searcher
from pipeline.store import load_requirements, load_unplaced


@pytest.mark.parametrize("typed, written", [
    ("ばっくあっぷ", "バックアップ"),  # hiragana typed for katakana
    ("ウィルス", "ウイルス"),  # small kana
    ("フアイル", "ファイル"),
    ("サーバー", "サーバ"),  # a long vowel mark ending a word
    ("ルーター", "ルータ等"),
    ("ﾊﾟｽﾜｰﾄﾞ", "パスワード"),  # half width
    ("ＴＬＳ", "TLS1.3"),
    ("ヴァイルス", "ブアイルス"),
])
def test_a_variant_as_typed_matches_the_text_as_written(typed, written):
    query = qm.parse(typed)
    assert qm.clause_score(query.wanted[0], {"id": "x", "text": qm.fold(written)}) > 0


@pytest.mark.parametrize("typed, written", [
    ("メール", "規程を定める"),  # katakana typed never matches hiragana text
    ("サーバ", "サバ"),  # a long vowel inside a word stays
    ("コンピューター", "コンピュタ"),
])
def test_folding_does_not_make_different_words_equal(typed, written):
    query = qm.parse(typed)
    assert qm.clause_score(query.wanted[0], {"id": "x", "text": qm.fold(written)}) == 0


def test_a_katakana_word_inside_another_counts_less_than_one_standing_alone():
    words = frozenset({"コンピユータ", "ウイルス", "プログラム"})
    log = qm.parse("ログ").wanted[0]
    inside = qm.clause_score(log, {"id": "a", "text": qm.fold("実行プログラム")}, words)
    alone = qm.clause_score(log, {"id": "b", "text": qm.fold("ログを保存")}, words)
    assert 0 < inside < alone
    virus = qm.parse("ウイルス").wanted[0]
    assert qm.clause_score(virus, {"id": "c", "text": qm.fold("コンピュータウイルス")}, words) == \
        qm.clause_score(virus, {"id": "d", "text": qm.fold("ウイルスを")}, words)  # a compound's part is whole


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("あぁアァｱﾞﾟーｰ ・、バﾊﾞヴゔウィ漢字AＡa1１①-\u3099\u309b\u309c"), max_size=30))
def test_folding_is_idempotent_and_maps_back_into_the_text(text):
    folded, where = qm.fold_map(text)
    assert qm.fold(folded) == folded
    assert len(where) == len(folded)
    assert where == sorted(where) and all(0 <= i < len(text) for i in where)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_and_its_spans_stay_in_bounds(text):
    query = qm.parse(text)
    for start, end in qm.spans(text, query):
        assert 0 <= start < end <= len(text)


def test_operators():
    query = qm.parse('ログ "保存 期間" -世代 認証 OR 暗号')
    assert [c.word for c in query.wanted] == ["ログ", '"保存 期間"', "認証 OR 暗号"]
    assert [c.word for c in query.excluded] == ["世代"]
    assert query.wanted[1].alternatives[0].parts == ("保存期間",)  # a phrase: the words together, no synonyms
    assert qm.parse("CTRL-13-06").wanted[0].alternatives[-1].id == "ctrl-13-6"
    assert qm.parse("ctrl-13-6").excluded == ()  # an ID is not an exclusion


def test_documents_matching_every_word_come_first_then_by_how_much_they_cover():
    docs = [{"id": f"d{i}", "order": i, "text": qm.fold(t)} for i, t in enumerate([
        "保存する", "ログを保存する", "ログを見る", "保存と保存と保存", "世代のログを保存"])]
    ranked = qm.rank(qm.parse("ログ 保存"), docs)
    assert [r.doc["id"] for r in ranked[:2]] == ["d1", "d4"]  # both words; the earlier first
    assert all(r.complete for r in ranked[:2]) and not any(r.complete for r in ranked[2:])
    assert ranked[2].doc["id"] == "d2"  # ログ is rarer than 保存: covering it covers more of the query
    assert ranked[2].matched == ["ログ"] and ranked[2].missing == ["保存"]
    assert "d4" not in [r.doc["id"] for r in qm.rank(qm.parse("ログ 保存 -世代"), docs)]


def test_a_compound_not_in_any_text_matches_its_pieces_in_part():
    docs = [{"id": "a", "order": 0, "text": qm.fold("防犯カメラを設置")}, {"id": "b", "order": 1, "text": qm.fold("監視する")}]
    ranked = qm.rank(qm.parse("監視カメラ"), docs)
    assert [r.doc["id"] for r in ranked] == ["a", "b"] or [r.doc["id"] for r in ranked] == ["b", "a"]
    assert all(not r.complete and r.matched for r in ranked)


# --- through the index built from the sample -----------------------------------------------------

@pytest.fixture(scope="module")
def searcher(kb):
    with Searcher(kb / "extracted") as s:
        yield s


@pytest.mark.parametrize("query, expected", [
    ("ばっくあっぷ", {"ctrl-12-4", "ctrl-18-1", "ctrl-6-4", "ctrl-11-1"}),
    ("二要素", {"ctrl-14-1"}),  # part of 二要素認証, a synonym of 識別・認証
    ("ログ 保存", {"ctrl-10-6"}),  # no text holds both: アクセスログ matches one, and says so
    ("認証 OR 暗号", {"ctrl-14-1", "ctrl-13-4", "mgmt-14-1", "ctrl-13-12"}),
    ("バックアップ -世代", {"ctrl-12-4"}),
    ("6.11C6", {"gov-1.3.2-1"}),  # a 5.2 reference in the table's notes
    ("5.2版4.1B(2)", {"gov-1.3.1-1"}),
    ("ウィルス", {"unplaced-59-1", "ctrl-8-8"}),  # small-kana variant
    ("サーバー", {"ctrl-10-5", "ctrl-13-6", "ctrl-18-1"}),  # long-vowel variant
    ("入退室管理", {"mgmt-15-2", "ctrl-12-2"}),  # 入退室 = 入室 inside a compound
    ("CTRL-13-06", {"ctrl-13-6"}),
])
def test_staff_queries_find_an_expected_requirement_in_the_top_five(searcher, query, expected):
    hits = searcher.search(query, limit=5)
    assert expected & {h.id for h in hits}, [h.id for h in hits]


def test_a_partial_match_says_which_words_matched(searcher):
    hits = searcher.search("ログ 保存", limit=20)
    assert hits and not any(h.complete for h in hits)
    assert {tuple(h.missing) for h in hits} <= {("ログ",), ("保存",)}
    assert all(h.matched and set(h.matched).isdisjoint(h.missing) for h in hits)


def test_exclusion_removes_every_text_with_the_word(searcher):
    hits = searcher.search("バックアップ -世代", limit=50)
    assert hits and all("世代" not in h.text for h in hits)
    assert len(hits) < len(searcher.search("バックアップ", limit=50))


def test_the_notes_are_shown_with_the_hit(searcher):
    hit = searcher.search("6.11C6", limit=1)[0]
    assert any("6.11C6" in note for note in hit.notes)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_no_query_returns_nothing_when_a_word_of_it_is_in_the_knowledge_base(kb, searcher, rnd):
    """A word taken from a text (a stretch of two to six characters), alone or beside words that
    are in no text, always finds something, and the hits say which words matched."""
    texts = [r.text for r in load_requirements(kb / "extracted")] + [u.text for u in load_unplaced(kb / "extracted")]
    text = rnd.choice(texts).replace("\n", "")
    start = rnd.randrange(0, max(1, len(text) - 6))
    word = text[start:start + rnd.randint(2, 6)].strip()
    typed = unicodedata.normalize("NFKC", word)  # as the query syntax reads it: 「－委」 (a list marker and a word) excludes 委
    if not qm.fold(word) or typed.startswith("-") or typed in ("OR", "|") or '"' in typed:
        return
    nonsense = rnd.choice(["ぞぞぞ", "Xyzzy", "鱶鰭"])
    words = [word, nonsense] if rnd.random() < 0.5 else [word]
    random.Random(rnd.random()).shuffle(words)
    try:
        hits = searcher.search(" ".join(words))
    except Exception as exc:  # noqa: BLE001 - the assertion names it
        raise AssertionError((words, exc)) from None
    assert hits, words
    if nonsense in words:
        assert all(nonsense in h.missing for h in hits), (words, hits[0].missing)


def test_the_characters_folded_a_run_at_a_time_fold_to_themselves_one_by_one():
    plain = [c for c in map(chr, range(0x3000, 0xA000)) if qm._PLAIN_RUN.fullmatch(c)]
    assert len(plain) > 20_000
    assert [c for c in plain if qm.fold_char(c) != c or qm.is_katakana(c)] == []
    assert qm.fold_map("漢字のサーバー、か\u3099ぁ") == ("漢字のサーバがあ", [0, 1, 2, 3, 4, 5, 8, 10])  # a voicing mark after a run joins it
