"""Placing every reading: one number per text and one text per number in a section, items not placed
kept findable, a maintainer's placements.tsv honoured — on small rows, on the real sample, and end to end."""

import itertools
import json

from rapidfuzz import fuzz

from pipeline.ingest import ingest, load_editions
from pipeline.model import CIRCLED, Item, Problem, Source, TableRow
from pipeline.normalize import clean, normalize_rows, strip_item_number
from pipeline.place import NOISE, _squeeze, loose_items, place, same_text

from .conftest import REPO, assert_refused, copy_raw, run_cli, snapshot
from .corpus import load_truth


def _item(volume, section, number, text, line, column=1):
    return Item(volume, section, number, f"{CIRCLED[number - 1]} {text}", Source("t.txt", line, column=column), section_title="題")


def _place(items, problems=()):
    rows = normalize_rows([TableRow(Source("t.txt", i.source.line), [i]) for i in items])
    return place(rows, loose_items(list(problems)))


def _ids(placed):
    return [(i.source.line, i.id) for row in placed.rows for i in row.items]


TEXTS = ["責任分界を明らかにすること。", "なりすましを防止すること。", "チャネル・セキュリティの範囲を確認すること。",
         "通信方式を決めること。", "安全な機器を利用すること。", "TLS1.3 以上に限定すること。", "暗号化を実施すること。",
         "改ざんされていないことを保証すること。", "中間者攻撃を防止すること。", "盗聴を防止する対策を実施すること。"]


def test_one_two_three_after_ten_are_eleven_twelve_thirteen():
    """The sample reads ⑪⑫⑬ as ①②③ (システム運用編 13): different texts under ①②③ after ⑩."""
    items = [_item("ctrl", "13", n, text, 60 + n) for n, text in enumerate(TEXTS, 1)]
    items += [_item("ctrl", "13", 1, "外部ネットワークに接続する際は脅威に留意すること。", 85),
              _item("ctrl", "13", 2, "相互認証を行うこと。", 86),
              _item("ctrl", "13", 3, "無線LANを利用する場合、WPA2-AES等により暗号化すること。", 87)]
    placed = _place(items)
    assert _ids(placed)[-3:] == [(85, "ctrl-13-11"), (86, "ctrl-13-12"), (87, "ctrl-13-13")]
    splits = [d for d in placed.decisions if d["kind"] == "split"]
    assert [(d["id"], d["to"]) for d in splits] == [("ctrl-13-1", "ctrl-13-11"), ("ctrl-13-2", "ctrl-13-12"), ("ctrl-13-3", "ctrl-13-13")]
    assert all("⑩ の後" in d["reason"] or "⑪ の後" in d["reason"] or "⑫ の後" in d["reason"] for d in splits)
    assert {i.number_read for row in placed.rows for i in row.items if i.source.line >= 85} == {1, 2, 3}


def test_a_text_read_under_two_numbers_is_one_id_and_a_report_line():
    items = [_item("ctrl", "10", 3, "データを消去すること。", 93), _item("ctrl", "10", 4, "アクセスできない仕組み。", 94),
             _item("ctrl", "10", 10, "データを消去すること。", 99)]
    placed = _place(items)
    assert _ids(placed) == [(93, "ctrl-10-3"), (94, "ctrl-10-4"), (99, "ctrl-10-3")]
    twice = [d for d in placed.decisions if d["kind"] == "read-twice"]
    assert twice == [{"kind": "read-twice", "id": "ctrl-10-3", "read_as": ["⑩"], "sources": ["t.txt:93行", "t.txt:99行"],
                      "reason": twice[0]["reason"]}] and "⑩" in twice[0]["reason"]


def test_a_number_between_its_neighbours_takes_the_gap():
    """⑤ read where ⑦ and ⑨ stand around it, while another text holds ⑤ in a run ④⑤⑥: it is ⑧."""
    texts = {4: "保存場所を明示すること。", 5: "劣化への対応を定めること。", 6: "脆弱性対策を見直すこと。", 7: "ネットワークを承認すること。",
             9: "個人情報を用いないこと。"}
    items = [_item("mgmt", "15", n, t, 50 + n) for n, t in texts.items()]
    items.insert(4, _item("mgmt", "15", 5, "保守に関する安全管理対策を協議すること。", 58))
    placed = _place(items)
    assert dict((line, i) for line, i in _ids(placed))[58] == "mgmt-15-8"
    assert dict((line, i) for line, i in _ids(placed))[55] == "mgmt-15-5"


def test_what_the_neighbours_cannot_settle_stays_unplaced_with_its_section():
    items = [_item("ctrl", "8", 3, "記録媒体を確認すること。", 59), _item("ctrl", "8", 8, "混入を防ぐ措置をとること。", 60),
             _item("ctrl", "8", 3, "トラフィックの脅威の拡散を防止すること。", 61), _item("ctrl", "8", 4, "無害化処理を行うこと。", 62)]
    placed = _place(items)
    assert [i.id for row in placed.rows for i in row.items] == ["ctrl-8-8", "ctrl-8-3", "ctrl-8-4"]
    (left,) = placed.unplaced
    assert (left.item.id, left.item.volume, left.item.section, left.code) == ("unplaced-59-1", "ctrl", "8", "number-clash")


def test_parallel_sentences_that_cite_other_items_are_not_merged():
    a = "委託先事業者等に対して①に関連して必要な措置を講じるよう契約において求めること。"
    b = "委託先事業者等に対しても⑥に関して必要な措置を講じるよう契約において定めること。"
    assert fuzz.ratio(_squeeze(a), _squeeze(b)) >= NOISE  # as alike as two readings of one text …
    assert not same_text(a, b)  # … but they cite different items


def test_an_item_without_heading_takes_a_placed_reading_of_its_text():
    placed = _place([_item("ctrl", "6", 1, "企画管理者の指示に基づき手順等を作成し、運用すること。", 17)],
                    [Problem(Source("t.txt", 20, column=20), "no-section", "① 企画管理者の指示に基づき、手順等を作成し運用すること。", "ctrl", 1)])
    assert _ids(placed) == [(17, "ctrl-6-1"), (20, "ctrl-6-1")]
    (decision,) = [d for d in placed.decisions if d["kind"] == "placed"]
    assert decision["how"] == "same-text" and "17行" in decision["reason"]


def test_items_outside_the_table_continuing_a_section_are_placed_by_sequence():
    items = [_item("mgmt", "15", n, f"第{n}の対策を講じること。", 50 + n) for n in (1, 2, 3, 4)]
    stray = [Problem(Source("t.txt", 77), "outside-table", "⑤ 記録媒体の劣化への対応を定めること。", None, 5),
             Problem(Source("t.txt", 79), "outside-table", "⑥ 脆弱性への対策を見直すこと。", None, 6)]
    placed = _place(items, stray)
    assert _ids(placed)[-2:] == [(77, "mgmt-15-5"), (79, "mgmt-15-6")]
    assert [i.how for row in placed.rows for i in row.items][-2:] == ["sequence", "sequence"]


def _toc():
    from pipeline.ingest.manifest import Toc, TocEntry

    return Toc([TocEntry("mgmt", "2", "責任分界"), TocEntry("mgmt", "6", "リスクマネジメント"), TocEntry("mgmt", "11", "非常時対応"),
                TocEntry("mgmt", "1", "管理体制")])


def _cell(line, numbers_texts, sections):
    return [Problem(Source("t.txt", line, column=5), "ambiguous-section", f"{CIRCLED[n - 1]} {t}", "mgmt", n, sections=sections)
            for n, t in numbers_texts]


def test_a_cell_offering_several_sections_places_by_the_title_its_text_holds():
    cell = _cell(15, [(6, "非常時対応が生じた場合に関係者を整理すること。"), (7, "非常時対応の事後検証を行うこと。"), (9, "外部保存の委託先を選ぶこと。")],
                 ("11", "1"))
    placed = place([], loose_items(cell), toc=_toc())
    assert [i.id for row in placed.rows for i in row.items] == ["mgmt-11-6", "mgmt-11-7"]
    assert [i.how for row in placed.rows for i in row.items] == ["toc-title", "toc-title"]
    assert [u.code for u in placed.unplaced] == ["ambiguous-section"]


def test_numbers_running_on_across_the_sections_of_a_cell_are_not_item_numbers():
    """③④⑤ in one cell, ③ about 責任分界 and ⑤ about リスクマネジメント: numbers restart per section,
    so these are not the sections' numbers. Section known, ID not given."""
    cell = _cell(17, [(3, "責任分界に関する取決めを行うこと。"), (4, "証跡を整理すること。"), (5, "リスクマネジメントの状況を報告すること。")],
                 ("1", "2", "6"))
    placed = place([], loose_items(cell), toc=_toc())
    assert placed.rows == []
    assert [(u.code, u.item.section) for u in placed.unplaced] == [("number-run-on", "2"), ("ambiguous-section", ""), ("number-run-on", "6")]
    assert "節ごとの番号ではない" in placed.unplaced[0].reason


# --- the real sample ---------------------------------------------------------------------------------

def test_the_noise_threshold_lies_in_the_gap_measured_on_the_sample():
    """Readings of a truth text in the OCR sample vs different truth texts of one volume: nothing in
    between, and ``NOISE`` in the middle of the gap."""
    edition = load_editions(REPO / "raw")[0]
    got = ingest(edition)
    readings = [(i.source.line, i.text) for r in normalize_rows(got.rows) for i in r.items]
    readings += [(e.item.source.line, e.item.text) for e in loose_items(got.problems)]
    copies, texts = [], {}
    for row in load_truth()["rows"]:
        for volume in ("gov", "mgmt", "ctrl"):
            for raw in row.get(volume, {}).get("items", []):
                truth = clean(strip_item_number(raw))
                texts.setdefault(volume, set()).add(truth)
                copies.append(max(fuzz.ratio(_squeeze(truth), _squeeze(t)) for line, t in readings if line == row["ocr_line"]))
    different = [fuzz.ratio(_squeeze(a), _squeeze(b)) for v in texts.values() for a, b in itertools.combinations(sorted(v), 2)]
    low, high = min(copies), max(d for d in different if d < 90)  # ≥ 90: readings the truth keeps as the table has them
    print(f"readings of one text ≥ {low:.1f}; different texts ≤ {high:.1f}; NOISE = {NOISE}")
    assert len(copies) > 100 and len(different) > 1000
    assert high < NOISE < low and low - high > 20


def test_no_id_holds_two_requirements_and_every_decision_says_why(kb):
    folder = kb / "extracted" / "6.0"
    reqs = [json.loads(line) for line in (folder / "requirements.jsonl").read_text(encoding="utf-8").splitlines()]
    for req in reqs:
        assert all(same_text(req["text"], v["text"]) for v in req["variants"]), req["id"]
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    kinds = {d["kind"] for d in report["placements"]}
    assert {"split", "read-twice", "placed"} <= kinds
    assert all(d["reason"] and d["sources"] for d in report["placements"])
    by_id = {r["id"]: r for r in reqs}
    assert by_id["ctrl-13-11"]["numbers_read"] == [1] and "無線LAN" in by_id["ctrl-13-13"]["text"]
    assert by_id["ctrl-10-3"]["numbers_read"] == [10] and "ctrl-10-10" not in by_id
    assert by_id["mgmt-15-5"]["placement"]["how"] == "sequence"
    # Every reading is a requirement or an unplaced record.
    unplaced = [json.loads(line) for line in (folder / "unplaced.jsonl").read_text(encoding="utf-8").splitlines()]
    assert report["not_placed"]["total"] == sum(len(u["sources"]) for u in unplaced)  # one source a reading
    assert all(u["id"].startswith("unplaced-") and u["text"] and u["reason"] and u["sources"] for u in unplaced)
    assert not {u["id"] for u in unplaced} & set(by_id)


def test_every_requirement_has_a_correlation_or_says_why(kb):
    folder = kb / "extracted" / "6.0"
    linked = {i for line in (folder / "correlations.jsonl").read_text(encoding="utf-8").splitlines()
              for ids in json.loads(line)["members"].values() for i in ids}
    for line in (folder / "requirements.jsonl").read_text(encoding="utf-8").splitlines():
        req = json.loads(line)
        assert (req["id"] in linked) != bool(req.get("correlation_note")), req["id"]


# --- placements.tsv, end to end ------------------------------------------------------------------------

OCR = "correlation-table-v6.0.ocr.txt"


def test_a_maintainer_places_an_item_and_the_report_says_override(tmp_path):
    raw = copy_raw(tmp_path)
    (raw / "6.0" / "placements.tsv").write_text(
        "# ファイル\t行\t番号\tID\tメモ\n"
        f"{OCR}\t37\t④\tmgmt-13-3\t公式の企画管理編 13 で確かめた\n"
        f"{OCR}\t59\t3\tctrl-8-2\t公式のシステム運用編 8 で確かめた\n", encoding="utf-8")
    result = run_cli(tmp_path, "extract", raw=raw)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "extracted" / "6.0"
    reqs = {r["id"]: r for r in map(json.loads, (folder / "requirements.jsonl").read_text(encoding="utf-8").splitlines())}
    assert reqs["mgmt-13-3"]["text"].startswith("医療情報システムの利用権限は")
    assert reqs["mgmt-13-3"]["placement"]["how"] == "override" and "公式の企画管理編" in reqs["mgmt-13-3"]["placement"]["detail"]
    assert reqs["ctrl-8-2"]["text"].startswith("ソフトウェア構築時") and reqs["ctrl-8-3"]["text"].startswith("医療情報システムに接続する")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert [d["id"] for d in report["placements"] if d["kind"] == "override"] == ["mgmt-13-3", "ctrl-8-2"]
    unplaced = (folder / "unplaced.jsonl").read_text(encoding="utf-8")
    assert "医療情報システムの利用権限は" not in unplaced and "ソフトウェア構築時" not in unplaced


def test_a_bad_placement_line_is_one_error_and_nothing_is_lost(kb, tmp_path):
    raw = copy_raw(tmp_path)
    assert run_cli(tmp_path, "build", raw=raw).exit_code == 0
    before = snapshot(tmp_path / "extracted", tmp_path / "site")
    for content, *expected in [
        (f"{OCR}\t36\t④\tmgmt-13-3\tメモ\n", "placements.tsv:1行"),  # no item ④ on line 36
        (f"{OCR}\t37\t④\tmgmt-13-3\t\n{OCR}\t59\t③\tmgmt-13-3\t\n", "2行"),  # one ID twice
        (f"{OCR}\t37\t④\tmgmt-13\t\n", "placements.tsv"),  # not an ID
        (f"{OCR}\t37\t④\tmgmt-13-4\t\n", "mgmt-13-4", "39行"),  # an ID another text holds as read
    ]:
        (raw / "6.0" / "placements.tsv").write_text(content, encoding="utf-8")
        assert_refused(run_cli(tmp_path, "build", raw=raw), *expected)
        assert snapshot(tmp_path / "extracted", tmp_path / "site") == before


# --- properties --------------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

POOL = sorted({clean(strip_item_number(raw)) for row in load_truth()["rows"] for v in ("gov", "mgmt", "ctrl")
               for raw in row.get(v, {}).get("items", [])}, key=len)[:40]
POOL = [t for n, t in enumerate(POOL) if not any(same_text(t, u) for u in POOL[:n])]

reading = st.tuples(st.sampled_from(["1.1", "13", "2.2.1"]), st.integers(1, 14), st.integers(0, len(POOL) - 1),
                    st.sampled_from(["row", "row", "row", "no-section", "outside-table", "ambiguous-section"]))


@settings(max_examples=80, deadline=None)
@given(st.lists(reading, min_size=1, max_size=30))
def test_every_reading_is_kept_and_no_id_holds_two_texts(readings):
    items, problems = [], []
    for line, (section, number, text, kind) in enumerate(readings, 1):
        raw = f"{CIRCLED[number - 1]} {POOL[text]}"
        if kind == "row":
            items.append(_item("ctrl", section, number, POOL[text], line))
        else:
            problems.append(Problem(Source("t.txt", line, column=None if kind == "outside-table" else 1), kind, raw,
                                    None if kind == "outside-table" else "ctrl", number,
                                    sections=("13", "2.2.1") if kind == "ambiguous-section" else ()))
    placed = _place(items, problems)
    kept = [i for row in placed.rows for i in row.items] + [u.item for u in placed.unplaced]
    assert len(kept) == len(readings)
    texts: dict[str, list[str]] = {}
    for item in (i for row in placed.rows for i in row.items):
        texts.setdefault(item.id, []).append(item.text)
    for req_id, held in texts.items():
        assert all(same_text(held[0], t) for t in held), (req_id, held)
    assert not {u.item.id for u in placed.unplaced} & set(texts)
