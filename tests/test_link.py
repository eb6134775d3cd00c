"""Linking rows into requirements (one per ID) and correlations (both directions)."""

from pipeline.link import link, related
from pipeline.model import Item, Note, Source, TableRow
from pipeline.normalize import normalize_rows
from pipeline.store import load_correlations, load_requirements


def _item(volume, section, number, text, line):
    return Item(volume, section, number, f"{'①②③'[number - 1]} {text}", Source("t.txt", line, column=1), section_title="題")


def _rows():
    return normalize_rows([
        TableRow(Source("t.txt", 1), [_item("gov", "1.1", 1, "遵守すること。", 1), _item("mgmt", "6", 2, "報告すること。", 1)],
                 [Note("gov", "6.2C4", Source("t.txt", 1, column=2), ("gov-1.1-1",))]),
        TableRow(Source("t.txt", 2), [_item("gov", "1.1", 1, "遵守すること。", 2), _item("ctrl", "13", 3, "設定すること。", 2)]),
        TableRow(Source("t.txt", 3), [_item("gov", "1.1", 1, "遵 守すること。", 3), _item("mgmt", "6", 2, "報告すること。", 3)],
                 [Note("gov", "6.2C4", Source("t.txt", 3, column=2), ("gov-1.1-1",))]),
        TableRow(Source("t.txt", 4), [_item("mgmt", "6", 2, "報告をすること。", 4)]),
    ])


def test_a_requirement_in_many_rows_is_one_record_with_every_source():
    linked = link(_rows(), edition="6.0")
    by_id = {r.id: r for r in linked.requirements}
    assert [r.id for r in linked.requirements] == ["gov-1.1-1", "mgmt-6-2", "ctrl-13-3"]
    assert [s.line for s in by_id["gov-1.1-1"].sources] == [1, 2, 3]
    assert by_id["gov-1.1-1"].text == "遵守すること。"  # spaces between Japanese removed: 3 readings agree


def test_disagreeing_readings_keep_the_majority_and_record_the_others():
    linked = link(_rows(), edition="6.0")
    req = {r.id: r for r in linked.requirements}["mgmt-6-2"]
    assert req.text == "報告すること。"
    assert [(v.text, [s.line for s in v.sources]) for v in req.variants] == [("報告をすること。", [4])]
    assert linked.conflicts == [{"id": "mgmt-6-2", "readings": 2, "sources": ["t.txt:1行", "t.txt:4行"]}]


def test_identical_rows_are_one_correlation_and_notes_stay_attached():
    linked = link(_rows(), edition="6.0")
    assert [c.id for c in linked.correlations] == ["gov-1.1-1+mgmt-6-2", "gov-1.1-1+ctrl-13-3"]
    first = linked.correlations[0]
    assert [s.line for s in first.sources] == [1, 3]
    assert first.notes == [{"annotates": ["gov-1.1-1"], "text": "6.2C4", "raw_text": "6.2C4",
                            "refs": [{"edition": "5.2", "section": "6.2", "part": "C", "item": "4", "text": "6.2C4"}]}]


def test_related_goes_both_ways():
    corrs = link(_rows(), edition="6.0").correlations
    assert related(corrs, "gov-1.1-1") == {"mgmt": ["mgmt-6-2"], "ctrl": ["ctrl-13-3"]}
    assert related(corrs, "ctrl-13-3") == {"gov": ["gov-1.1-1"]}


def test_every_link_in_the_built_sample_is_symmetric_and_resolves(kb):
    reqs = {r.id for r in load_requirements(kb / "extracted")}
    corrs = load_correlations(kb / "extracted")
    assert len(corrs) >= 20
    for req_id in reqs:
        for ids in related(corrs, req_id).values():
            for other in ids:
                assert other in reqs
                assert req_id in [i for v in related(corrs, other).values() for i in v]
