"""Nothing read is unfindable (issue 10): the items read but not placed (``unplaced.jsonl``) are found
by ``search``, shown by ``show`` and listed in full on the site, each marked 「未配置」 with its reason.

Expectations come from the extracted files, never from fixed counts: placement keeps improving, and
an item placed tomorrow must then be found as a requirement instead.
"""

from __future__ import annotations

import html
import json
import re

import markdown
import pytest

from pipeline.index import Searcher
from pipeline.model import Source, Unplaced
from pipeline.site import _unplaced
from pipeline.store import load_requirements, load_unplaced

from .conftest import run_cli

# Words of the sample that were once in no requirement (issue 10): 「当てはまる遵守事項はありません」.
ISSUE_WORDS = ["苦情", "クラウドサービス", "ファイアウォール"]


@pytest.fixture(scope="module")
def unplaced(kb) -> list[Unplaced]:
    records = load_unplaced(kb / "extracted")
    assert records, "the sample has items that cannot be placed; unplaced.jsonl is empty"
    return records


def _plain(page: str) -> str:
    """A built page's text as a reader sees it: tags dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _entry(page: str, anchor: str) -> str:
    """The HTML of one entry of a page: from the heading with this anchor to the next heading."""
    start = page.index(f'id="{anchor}"')
    end = re.compile(r"<h[1-3][ >]").search(page, start)
    return page[start:end.start() if end else len(page)]


@pytest.mark.parametrize("word", ISSUE_WORDS)
def test_a_word_of_the_issue_is_found_and_an_unplaced_holder_is_marked(kb, unplaced, word):
    holders = {u.id for u in unplaced if word in u.text}
    placed = {r.id for r in load_requirements(kb / "extracted") if word in r.text}
    assert holders | placed, f"{word} is in raw/ but in no requirement and no unplaced item"
    result = run_cli(kb, "search", word, "--limit", "50")
    assert result.exit_code == 0, result.output
    assert "当てはまる遵守事項はありません" not in result.output
    for record in (u for u in unplaced if u.id in holders):
        head = next(line for line in result.output.splitlines() if line.startswith(record.id + " "))
        assert "未配置" in head, head
        assert f"未配置］の理由: {record.reason}" in result.output
    for req_id in placed:
        assert any(line.startswith(req_id + " ") and "未配置" not in line for line in result.output.splitlines()), req_id


def test_every_unplaced_item_is_found_by_its_rarest_word(kb, unplaced):
    """The acceptance: every unplaced item is found by ``search`` on a word of its text, as unplaced."""
    from pipeline.index.analysis import words as sudachi_words
    from pipeline.store import load_requirements

    texts = [r.text for r in load_requirements(kb / "extracted")] + [u.text for u in unplaced]
    with Searcher(kb / "extracted") as searcher:
        for record in unplaced:
            words = [w for w in set(sudachi_words(record.text)) if len(w) >= 2 and any(ch.isalnum() for ch in w)]
            word = min(sorted(words), key=lambda w: sum(w in t for t in texts))
            hits = {h.id: h for h in searcher.search(word, limit=200, edition=record.edition)}
            assert record.id in hits, (record.id, word)
            hit = hits[record.id]
            assert not hit.placed and hit.reason == record.reason and hit.text == record.text, hit
            assert all(h.placed for h in hits.values() if not h.id.startswith("unplaced-")), word


def test_search_json_says_whether_each_hit_is_placed(kb, unplaced):
    word = next(w for w in ISSUE_WORDS if any(w in u.text for u in unplaced))
    hits = json.loads(run_cli(kb, "search", word, "--json", "--limit", "50").output)
    by_id = {u.id: u for u in unplaced}
    assert hits and all(isinstance(h["placed"], bool) for h in hits)
    marked = [h for h in hits if not h["placed"]]
    assert marked and {h["id"] for h in marked} <= set(by_id)
    assert all(h["reason"] == by_id[h["id"]].reason and h["text"] == by_id[h["id"]].text for h in marked)
    assert all(h["placed"] for h in hits if h["id"] not in by_id)


def test_show_an_unplaced_item_in_full_with_its_reason_and_sources(kb, unplaced):
    for record in unplaced:
        result = run_cli(kb, "show", record.id)
        assert result.exit_code == 0, result.output
        out = result.output
        assert out.startswith(record.id) and "未配置" in out.splitlines()[0]
        assert record.text in out and record.reason in out
        assert all(str(source) in out for source in record.sources)
        data = json.loads(run_cli(kb, "show", record.id, "--json").output)
        assert data["placed"] is False and data["id"] == record.id
        assert data["text"] == record.text and data["reason"] == record.reason and data["code"] == record.code
        assert (data["volume"], data["section"], data["item"]) == (record.volume, record.section, record.item)


def test_site_lists_every_unplaced_item_in_full_under_its_anchor(kb, unplaced):
    for edition in {u.edition for u in unplaced}:
        page = (kb / "site" / edition / "unplaced.html").read_text(encoding="utf-8")
        records = [u for u in unplaced if u.edition == edition]
        assert len(re.findall(r'<h3 id="unplaced-', page)) == len(records)
        for record in records:
            entry = _entry(page, record.id)
            shown = "<br>".join(html.escape(line) for line in record.text.split("\n"))  # whole, escaped
            assert shown in entry, record.id
            assert "未配置" in entry and html.escape(record.reason, quote=False) in entry, record.id
            assert all(html.escape(str(source), quote=False) in entry for source in record.sources), record.id
        home = _plain((kb / "site" / edition / "index.html").read_text(encoding="utf-8"))
        assert f"未配置の遵守事項（{len(records)} 件" in home


def test_the_unplaced_page_shows_source_markup_as_text():
    text = "<script>alert(1)</script>**太字** [x](javascript:alert(2)) {: #y }\n2行目 & ｜"
    record = Unplaced("unplaced-3-1", "6.0", text, "① " + text, [Source("6.0/x.txt", line=3)], "no-section",
                      "記載箇所（節）が読めない<b>", volume="ctrl", item=1)
    rendered = markdown.markdown(_unplaced("6.0/unplaced.md", "6.0", [record], []),
                                 extensions=["attr_list", "admonition", "pymdownx.details", "toc"])
    assert "<script>" not in rendered and "<b>" not in rendered and 'href="javascript' not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;**太字** [x](javascript:alert(2)) {: #y }<br>2行目 &amp; ｜" in rendered
    assert 'id="unplaced-3-1"' in rendered and 'id="y"' not in rendered


def test_report_page_has_every_text_in_full_and_every_placement_decision(kb):
    report = json.loads((kb / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    page = (kb / "site" / "6.0" / "report.html").read_text(encoding="utf-8")
    plain = _plain(page)
    texts = [u["text"] for u in report["unplaced"]] + [p["text"] for p in report["problems"] if p.get("text")]
    assert any(len(t) > 80 for t in texts), "nothing longer than 80 characters: the check below would say nothing"
    for text in texts:
        assert all(line in plain for line in text.split("\n")), text
    for record in report["unplaced"]:
        assert f'href="unplaced.html#{record["id"]}"' in page
    assert report["placements"], "the sample has split, renumbered and read-twice items"
    for decision in report["placements"]:
        assert decision["reason"] in plain and all(source in plain for source in decision["sources"]), decision
    for kind, label in {"split": "別の遵守事項に分けた", "read-twice": "同じ遵守事項を二度読んだ", "placed": "配置した"}.items():
        if any(d["kind"] == kind for d in report["placements"]):
            assert label in plain, kind
    home = _plain((kb / "site" / "6.0" / "index.html").read_text(encoding="utf-8"))
    assert f"配置の判断 {len(report['placements'])} 件" in home
