"""``guideline-kb diff``: requirements matched by text and place, not by ID alone (issue 12).

Synthetic editions here are small hand-made records, and their expected changes come from the edit
script that made them (not from the matcher); tests/editions.py makes whole edition pairs from the
truth for the end-to-end checks."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.diff import DiffSettings, compare, diff_text, marked, to_csv, to_text
from pipeline.model import Correlation, Requirement, Source

from .conftest import CONFIG, run_cli

TEXTS = [
    "医療情報システムの安全管理に関する法令等を遵守すること。",
    "重要なファイルは数世代バックアップを複数の方式で確保すること。",
    "利用者の識別・認証を行い、アクセス権限を適切に管理すること。",
    "無線LANを利用する場合、不正な接続を防止する対策を講じること。",
    "記録媒体の保管及び取扱いについて運用管理規程を作成すること。",
    "サイバー攻撃による被害拡大の防止の観点からネットワークを分離すること。",
    "保守作業の終了後速やかに企画管理者に報告し、確認を求めること。",
    "外部保存の委託先事業者を選定する際は、次に掲げる事項を確認すること。",
    "非常時のユーザアカウントや非常時用機能の手順を整備すること。",
    "電子署名に用いる秘密鍵の管理を認証局の定める方法で行うこと。",
]


def req(volume: str, section: str, item: int, text: str, edition: str = "6.0") -> Requirement:
    return Requirement(f"{volume}-{section}-{item}", edition, volume, section, f"節{section}", item, text, text,
                       [Source("x.txt", line=item)])


def corr(edition: str, *ids: str, notes=()) -> Correlation:
    members: dict[str, list[str]] = {}
    for i in ids:
        members.setdefault(i.split("-")[0], []).append(i)
    return Correlation("+".join(ids), edition, members, [{"annotates": list(ids[:1]), "text": n} for n in notes], [])


def kinds(result) -> dict[str, set[tuple]]:
    out: dict[str, set[tuple]] = {}
    for c in result.requirements:
        out.setdefault(c.kind, set()).add((c.old_id, c.new_id))
    return out


def test_an_inserted_item_renumbers_the_rest_it_does_not_change_them():
    old = [req("ctrl", "13", n + 1, t) for n, t in enumerate(TEXTS[:5])]
    new_texts = TEXTS[:2] + ["新たに追加された遵守事項で、ほかのどれとも似ていない内容を定めること。"] + TEXTS[2:5]
    new = [req("ctrl", "13", n + 1, t, "6.1") for n, t in enumerate(new_texts)]
    result = compare(old, new, [], [], [], [], old="6.0", new="6.1")
    found = kinds(result)
    assert found["added"] == {(None, "ctrl-13-3")}
    assert found["renumbered"] == {("ctrl-13-3", "ctrl-13-4"), ("ctrl-13-4", "ctrl-13-5"), ("ctrl-13-5", "ctrl-13-6")}
    assert found["unchanged"] == {("ctrl-13-1", "ctrl-13-1"), ("ctrl-13-2", "ctrl-13-2")}
    assert "changed" not in found and "removed" not in found


def test_reworded_moved_and_removed_items():
    old = [req("mgmt", "6", 1, TEXTS[0]), req("mgmt", "6", 2, TEXTS[1]), req("mgmt", "7", 1, TEXTS[2]), req("mgmt", "7", 2, TEXTS[3])]
    new = [req("mgmt", "6", 1, TEXTS[0].replace("遵守すること", "適切に遵守すること"), "6.1"),
           req("mgmt", "7", 1, TEXTS[2], "6.1"), req("mgmt", "7", 2, TEXTS[3], "6.1"), req("mgmt", "7", 3, TEXTS[1], "6.1")]
    old.append(req("mgmt", "8", 1, TEXTS[4]))
    found = kinds(compare(old, new, [], [], [], [], old="6.0", new="6.1"))
    assert found["changed"] == {("mgmt-6-1", "mgmt-6-1")}
    assert found["moved"] == {("mgmt-6-2", "mgmt-7-3")}
    assert found["removed"] == {("mgmt-8-1", None)}
    assert found["unchanged"] == {("mgmt-7-1", "mgmt-7-1"), ("mgmt-7-2", "mgmt-7-2")}


def test_sections_correlations_and_notes():
    old = [req("gov", "1.1", 1, TEXTS[0]), req("ctrl", "13", 1, TEXTS[1]), req("ctrl", "13", 2, TEXTS[2])]
    new = [req("gov", "1.1", 1, TEXTS[0], "6.1"), req("ctrl", "13", 1, TEXTS[1], "6.1"), req("ctrl", "13", 2, TEXTS[2], "6.1")]
    old[0].notes, new[0].notes = [{"text": "6.11C6", "raw_text": "6.11C6"}], [{"text": "6.11C7", "raw_text": "6.11C7"}]
    old_corrs = [corr("6.0", "gov-1.1-1", "ctrl-13-1", notes=["6.11C6"])]
    new_corrs = [corr("6.1", "gov-1.1-1", "ctrl-13-1", notes=["6.11C7"]), corr("6.1", "gov-1.1-1", "ctrl-13-2")]
    old_secs = [{"volume": "ctrl", "section": "13", "title": "ネットワークに関する安全管理措置"}, {"volume": "ctrl", "section": "12", "title": "物理的安全管理措置"}]
    new_secs = [{"volume": "ctrl", "section": "13", "title": "ネットワークの安全管理措置"}, {"volume": "ctrl", "section": "14", "title": "認証"}]
    result = compare(old, new, old_corrs, new_corrs, old_secs, new_secs, old="6.0", new="6.1")
    assert [(s.kind, s.section) for s in result.sections] == [("removed", "12"), ("renamed", "13"), ("added", "14")]
    assert [(link.kind, link.ids) for link in result.links] == [("added", ("gov-1.1-1", "ctrl-13-2"))]
    assert [(n.new_id, n.old_notes, n.new_notes) for n in result.notes] == [("gov-1.1-1", ["6.11C6"], ["6.11C7"])]


def test_a_renumbered_and_reworded_item_is_one_change_not_an_add_and_a_remove():
    old = [req("ctrl", "8", 1, TEXTS[0]), req("ctrl", "8", 2, TEXTS[5])]
    new = [req("ctrl", "8", 1, TEXTS[6], "6.1"), req("ctrl", "8", 2, TEXTS[0], "6.1"),
           req("ctrl", "8", 3, TEXTS[5].replace("分離すること", "論理的に分離すること"), "6.1")]
    found = kinds(compare(old, new, [], [], [], [], old="6.0", new="6.1"))
    assert found["renumbered"] == {("ctrl-8-1", "ctrl-8-2"), ("ctrl-8-2", "ctrl-8-3")}
    assert found["added"] == {(None, "ctrl-8-1")}
    changes = compare(old, new, [], [], [], [], old="6.0", new="6.1").requirements
    assert next(c for c in changes if c.new_id == "ctrl-8-3").text_changed


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False))
def test_random_edit_scripts_are_classified_as_the_script_says(rnd):
    """A section of distinct texts, edited at random (reword, insert, remove, move out), is classified
    exactly as the edits were made."""
    texts = rnd.sample(TEXTS, 8)
    old = [req("ctrl", "9", n + 1, t) for n, t in enumerate(texts[:6])]
    spare = texts[6:]
    new_texts = list(texts[:6])
    edits = rnd.sample(["reword", "insert", "remove", "move"], rnd.randint(1, 4))
    moved_text = None
    if "reword" in edits:
        k = rnd.randrange(len(new_texts))
        new_texts[k] = new_texts[k].replace("こと。", "ことを徹底すること。")
    if "remove" in edits:
        new_texts.pop(rnd.randrange(len(new_texts)))
    if "move" in edits and len(new_texts) > 1:
        moved_text = new_texts.pop(rnd.randrange(len(new_texts)))
    if "insert" in edits:
        new_texts.insert(rnd.randrange(len(new_texts) + 1), spare[0])
    new = [req("ctrl", "9", n + 1, t, "6.1") for n, t in enumerate(new_texts)]
    if moved_text:
        new.append(req("ctrl", "10", 1, moved_text, "6.1"))
    result = compare(old, new, [], [], [], [], old="6.0", new="6.1")
    base = {t.replace("ことを徹底すること。", "こと。") for t in new_texts}
    for c in result.requirements:
        old_text = c.old_text
        new_text = c.new_text
        if c.kind == "added":
            assert new_text == spare[0], c
        elif c.kind == "removed":
            assert old_text not in base and old_text != moved_text, c
        elif c.kind == "moved":
            assert new_text == moved_text and c.new_id == "ctrl-10-1", c
        else:
            assert new_text.replace("ことを徹底すること。", "こと。") == old_text, c
            assert (c.kind == "renumbered") == (c.old_id != c.new_id), c
            assert (c.kind == "changed") == (c.old_id == c.new_id and c.text_changed), c


def test_text_diff_marks_what_went_and_what_came():
    ops = diff_text("窓口の設置等の対策を行うこと。", "窓口を設置すること。")
    assert marked(ops, "old") == "窓口[-の-]設置[-等の対策を行う-]こと。"
    assert marked(ops, "new") == "窓口{+を+}設置{+する+}こと。"
    assert "".join(t for op, t in ops if op != "+") == "窓口の設置等の対策を行うこと。"
    assert "".join(t for op, t in ops if op != "-") == "窓口を設置すること。"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="あいう漢字アイ。、", max_size=30), st.text(alphabet="あいう漢字アイ。、", max_size=30))
def test_text_diff_rebuilds_both_texts(a, b):
    ops = diff_text(a, b)
    assert "".join(t for op, t in ops if op != "+") == a
    assert "".join(t for op, t in ops if op != "-") == b


def test_thresholds_are_settings():
    old = [req("gov", "2", 1, TEXTS[0])]
    new = [req("gov", "2", 1, TEXTS[0][:10] + "まったく別の文言に書き換えた。", "6.1")]
    loose = kinds(compare(old, new, [], [], [], [], old="6.0", new="6.1", settings=DiffSettings(similar=30)))
    strict = kinds(compare(old, new, [], [], [], [], old="6.0", new="6.1", settings=DiffSettings(similar=90, same_place=90)))
    assert "changed" in loose and {"added", "removed"} <= set(strict)


def test_outputs_text_json_csv():
    old = [req("gov", "1.2", 1, "窓口の設置等の対策を行うこと。"), req("gov", "1.2", 2, TEXTS[1])]
    new = [req("gov", "1.2", 1, "窓口を設置すること。", "6.1"), req("gov", "1.2", 2, TEXTS[1], "6.1")]
    result = compare(old, new, [], [], [], [], old="6.0", new="6.1")
    assert "変更 gov-1.2-1" in to_text(result) and "新: 窓口{+を+}設置" in to_text(result)
    assert "変更なし" not in to_text(result).split("\n", 2)[2]
    data = to_csv(result)
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][:4] == ["変更", "changed", "gov-1.2-1", "gov-1.2-1"]
    assert json.loads(json.dumps(result.to_dict()))["counts"]["changed"] == 1


def test_cli_diff_of_an_edition_with_itself_reports_no_change(kb):
    result = run_cli(kb, "diff", "6.0", "6.0", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"]["unchanged"] > 90 and sum(v for k, v in data["counts"].items() if k != "unchanged") == 0
    assert data["sections"] == data["correlations"] == data["notes"] == []
    bad = run_cli(kb, "diff", "6.0", "9.9")
    assert bad.exit_code == 2 and "版 9.9 がありません" in bad.output


@pytest.fixture(scope="module")
def two_editions(tmp_path_factory):
    """The sample as 6.0 and, with two requirements reworded, as 6.1: a whole build of both."""
    from .conftest import RAW

    tmp = tmp_path_factory.mktemp("editions")
    shutil.copytree(RAW, tmp / "raw")
    shutil.copytree(RAW / "6.0", tmp / "raw" / "6.1")
    manifest = tmp / "raw" / "6.1" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('edition = "6.0"', 'edition = "6.1"').replace("第6.0版", "第6.1版"), encoding="utf-8")
    source = tmp / "raw" / "6.1" / "correlation-table-v6.0.ocr.txt"
    text = source.read_text(encoding="utf-8").replace("患者等への説明を適切に行うための窓口の設置等の対策を行うこと。", "患者等への説明を適切に行うための窓口を設置すること。")
    source.write_text(text, encoding="utf-8")
    result = run_cli(tmp, "build")
    assert result.exit_code == 0, result.output
    return tmp


def test_the_site_has_a_page_of_changes_linked_from_both_editions(two_editions):
    site = two_editions / "site"
    page = (site / "6.1" / "changes-from-6.0.html").read_text(encoding="utf-8")
    assert "<del>の</del>" in page and "<ins>を</ins>" in page and "gov-1.2-2" in page
    assert "changes-from-6.0.html" in (site / "6.0" / "index.html").read_text(encoding="utf-8")
    assert "changes-from-6.0.html" in (site / "6.1" / "index.html").read_text(encoding="utf-8")
    chapter = (site / "6.0" / "gov" / "1.html").read_text(encoding="utf-8")
    assert "第6.1版では" in chapter and "6.1/gov/1.html#gov-1.2-2" in chapter  # the counterpart, linked
    assert "../../6.1/gov/1.html" in chapter  # the edition switcher: the same chapter in 6.1
    cli = run_cli(two_editions, "diff", "6.0", "6.1")
    assert "変更 gov-1.2-2" in cli.output and "番号の変更 0" in cli.output


def test_config_is_the_repo_one():
    assert CONFIG.name == "mkdocs.yml"
