"""The command line end to end: every command, its JSON, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.link import related
from pipeline.model import CIRCLED
from pipeline.store import load_correlations, load_requirements, load_unplaced

from .conftest import REPO, assert_refused, copy_raw, run_cli

COMMANDS = ["build", "extract", "index", "list", "search", "serve", "show", "site"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) >= 3


def test_search_json(kb):
    result = run_cli(kb, "search", "バックアップ", "--json")
    assert result.exit_code == 0
    hits = json.loads(result.output)
    assert hits and hits[0]["volume"] == "ctrl"
    assert set(hits[0]) >= {"id", "volume", "section", "item", "text", "score"}


def test_search_text_output_shows_id_place_and_highlight(kb):
    result = run_cli(kb, "search", "TLS", "--limit", "1")
    assert result.exit_code == 0
    assert "ctrl-13-6" in result.output and "ネットワークに関する安全管理措置" in result.output
    assert "【TLS】" in result.output  # not a terminal: plain text, the hit words between 【】
    assert "**" not in result.output and "\x1b[" not in result.output


def test_search_options(kb):
    result = run_cli(kb, "search", "委託先", "--volume", "mgmt", "--limit", "2", "--json")
    hits = json.loads(result.output)
    assert len(hits) == 2 and {h["volume"] for h in hits} == {"mgmt"}


@pytest.mark.parametrize("query", ["、。", '"', "((("])
def test_search_of_nothing_gives_one_clear_line(kb, query):
    result = run_cli(kb, "search", query)
    assert result.exit_code == 2
    assert result.output.strip().startswith("エラー: 検索語がありません")
    assert "Traceback" not in result.output


def test_show_json_has_correlations_in_other_volumes(kb):
    result = run_cli(kb, "show", "gov-2.2.1-1", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) >= {"id", "text", "raw_text", "related", "sources"}
    assert data["related"] == {"mgmt": ["mgmt-6-8"], "ctrl": ["ctrl-4-2"]}
    assert data["raw_text"].startswith("①")
    assert data["sources"][0]["line"] == 21


def test_show_text(kb):
    result = run_cli(kb, "show", "mgmt-6-8")
    assert result.exit_code == 0
    assert "gov-2.2.1-1" in result.output and "ctrl-4-2" in result.output and "出典" in result.output


def test_show_lists_correlations_or_says_why_none_for_every_requirement(kb):
    corrs = load_correlations(kb / "extracted")
    without = 0
    for req in load_requirements(kb / "extracted"):
        out = run_cli(kb, "show", req.id).output
        links = related(corrs, req.id)
        if links:
            assert "相関する遵守事項\n" in out and all(i in out for ids in links.values() for i in ids), req.id
        else:
            without += 1
            assert req.correlation_note and f"相関する遵守事項: なし（{req.correlation_note}）" in out, req.id
    assert without


def test_show_says_how_a_requirement_was_placed_and_the_numbers_read(kb):
    reqs = [r for r in load_requirements(kb / "extracted") if r.placement.get("how") != "read" or r.numbers_read]
    assert any(r.numbers_read for r in reqs) and any(r.placement.get("how") != "read" for r in reqs)
    for req in reqs:
        out = run_cli(kb, "show", req.id).output
        if req.placement.get("how") != "read":
            assert f"配置: {req.placement['reason']}（{req.placement['detail']}）" in out, req.id
        if req.numbers_read:
            assert "読み取り上の番号: " + "、".join(CIRCLED[n - 1] for n in req.numbers_read) in out, req.id
        data = json.loads(run_cli(kb, "show", req.id, "--json").output)
        assert data["placed"] is True and data["placement"] == req.placement and data["numbers_read"] == req.numbers_read
    plain = run_cli(kb, "show", next(r.id for r in load_requirements(kb / "extracted") if r.placement.get("how") == "read" and not r.numbers_read)).output
    assert "配置: " not in plain and "読み取り上の番号" not in plain


def test_show_unknown_id(kb):
    line = assert_refused(run_cli(kb, "show", "ctrl-99-1"), "ctrl-99-1", "もしかして: ctrl-9-1")
    assert "Traceback" not in line


def test_build_is_deterministic(tmp_path, kb):
    copy_raw(tmp_path)
    assert run_cli(tmp_path, "extract").exit_code == 0
    for name in ("requirements.jsonl", "correlations.jsonl", "report.json"):
        assert (tmp_path / "extracted" / "6.0" / name).read_bytes() == (kb / "extracted" / "6.0" / name).read_bytes()


def test_committed_extracted_matches_a_fresh_build(kb):
    """extracted/ in the repo is what the pipeline makes from raw/ (regenerate with guideline-kb extract)."""
    for name in ("requirements.jsonl", "correlations.jsonl"):
        assert (REPO / "extracted" / "6.0" / name).read_bytes() == (kb / "extracted" / "6.0" / name).read_bytes()


def _bad(tmp_path, mutate):
    """Build once, break raw/, extract again: return the result and whether outputs survived."""
    raw = copy_raw(tmp_path)
    assert run_cli(tmp_path, "extract").exit_code == 0
    before = (tmp_path / "extracted" / "6.0" / "requirements.jsonl").read_bytes()
    mutate(raw / "6.0")
    result = run_cli(tmp_path, "extract")
    after = (tmp_path / "extracted" / "6.0" / "requirements.jsonl").read_bytes()
    return result, before == after


SAMPLE_NAME = "correlation-table-v6.0.ocr.txt"


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda d: (d / SAMPLE_NAME).write_bytes(b""), "空のファイル"),
        (lambda d: (d / SAMPLE_NAME).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), "バイナリ"),
        (lambda d: (d / SAMPLE_NAME).write_bytes((d / SAMPLE_NAME).read_bytes()[:500] + b"\xff\xfe"), "UTF-8 として読めません"),
        (lambda d: (d / SAMPLE_NAME).write_text("ただの文章です。\n", encoding="utf-8"), "相関表の行が一つも読めません"),
        (lambda d: (d / "manifest.toml").write_text("edition = ", encoding="utf-8"), "TOML として読めません"),
        (lambda d: (d / "manifest.toml").write_text('edition = "6.0"\n[[sources]]\nfile = "x.pdf"\nkind = "pdf"\n', encoding="utf-8"), "ファイル"),
        (lambda d: (d / "manifest.toml").write_text(f'edition = "6.0"\n[[sources]]\nfile = "{SAMPLE_NAME}"\nkind = "scan"\n', encoding="utf-8"), "ocr-text、pdf のどれかにしてください"),
        (lambda d: (d / "toc.tsv").write_text("gov\tx\t見出し\n", encoding="utf-8"), "toc.tsv:1行"),
    ],
    ids=["empty", "binary", "not-utf8", "no-table", "bad-toml", "missing-file", "unknown-kind", "bad-toc"],
)
def test_bad_input_one_line_exit_2_outputs_kept(tmp_path, mutate, expected):
    result, kept = _bad(tmp_path, mutate)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("エラー: ") and expected in lines[0]
    assert "raw" in lines[0] or "6.0" in lines[0]
    assert kept


def test_missing_raw_folder(tmp_path):
    result = run_cli(tmp_path, "extract", raw=tmp_path / "nothing")
    assert result.exit_code == 2 and "raw フォルダがありません" in result.output


def test_search_before_index(tmp_path):
    result = run_cli(tmp_path, "search", "バックアップ")
    assert result.exit_code == 2 and "検索インデックスがありません" in result.output


def test_console_script_and_module_entry_points(kb):
    base = ["--out", str(kb / "extracted")]
    for argv in (["guideline-kb"], [sys.executable, "-m", "pipeline"]):
        exe = shutil.which(argv[0]) if argv[0] == "guideline-kb" else argv[0]
        assert exe, "guideline-kb is not installed (pip install -e .)"
        out = subprocess.run([exe, *argv[1:], *base, "search", "電子カルテ", "--json"], capture_output=True, text=True, check=True)
        assert json.loads(out.stdout)[0]["id"] == "mgmt-13-8"
    bad = subprocess.run([exe, *argv[1:], *base, "show", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_build_writes_every_stage(kb):
    assert (kb / "extracted" / "6.0" / "requirements.jsonl").is_file()
    assert (kb / "extracted" / "index").is_dir()
    assert (kb / "site" / "index.html").is_file()
    assert len(load_requirements(kb / "extracted")) >= 90  # the sample's items, duplicates merged (issue 10)


def test_report_counts_per_volume_and_problems_by_code(kb):
    report = json.loads((kb / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    counts = report["requirements"]
    assert counts["total"] == counts["gov"] + counts["mgmt"] + counts["ctrl"] == len(load_requirements(kb / "extracted"))
    assert report["lines_read"] == 125 and report["rows_read"] > 50
    # not_placed counts the readings that could not be placed, by code; they are kept as the records
    # of unplaced.jsonl (a reading repeated in several rows is one record), listed in full in the report.
    not_placed = report["not_placed"]
    unplaced = load_unplaced(kb / "extracted")
    assert sum(v["count"] for v in not_placed["by_code"].values()) == not_placed["total"] >= not_placed["records"]
    assert not_placed["records"] == len(unplaced) == len(report["unplaced"]) > 0
    assert [u["id"] for u in report["unplaced"]] == [u.id for u in unplaced]
    assert {u.code for u in unplaced} <= set(not_placed["by_code"])
    assert all(u["text"] and u["reason"] and u["sources"] for u in report["unplaced"])
    # problems: only what is not an item (headings read as items, header labels, misnesting …)
    assert all(p["source"]["line"] and p["reason"] for p in report["problems"])
    assert not {p["code"] for p in report["problems"]} & {"no-section", "ambiguous-section", "no-volume", "outside-table"}
    assert report["placements"] and all(d["kind"] and d["reason"] and d["sources"] for d in report["placements"])


def test_search_finds_and_shows_the_5_2_notes(kb):
    result = run_cli(kb, "search", "6.11C6", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("gov-1.3.2-")
    assert "備考: 6.11C6" in result.output
