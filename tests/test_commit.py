"""One commit point for a whole build: extracted/, its index and site/ always come from one complete
build, whatever moment a build is killed at; the next run removes what a killed run left.

Two raw folders, A and B, differ in the edition's title (it is in report.json and on the site's
edition page) and in one requirement's text, so every part tells which build it came from.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.commit import STAMP, journal_path, read_stamp

from .conftest import CONFIG, RAW

BUILDS = {"A": "第6.0版（A）", "B": "第6.0版（B）"}
CHANGED = ("バックアップ", "控えの複製")  # B's text of the backup requirements


def make_raws(base: Path) -> dict[str, Path]:
    raws = {}
    for name, title in BUILDS.items():
        raw = base / f"raw-{name}"
        shutil.copytree(RAW, raw)
        manifest = raw / "6.0" / "manifest.toml"
        text = manifest.read_text(encoding="utf-8")
        manifest.write_text(text.replace('title = "医療情報システムの安全管理に関するガイドライン 第6.0版"', f'title = "{title}"'), encoding="utf-8")
        assert title in manifest.read_text(encoding="utf-8")
        if name == "B":
            sample = raw / "6.0" / "correlation-table-v6.0.ocr.txt"
            sample.write_text(sample.read_text(encoding="utf-8").replace(*CHANGED), encoding="utf-8")
        raws[name] = raw
    return raws


def command(base: Path, raw: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "--raw", str(raw), "--out", str(base / "extracted"), "--site-dir", str(base / "site"),
            "--config", str(CONFIG), *args]


def which_build(base: Path) -> dict[str, str]:
    """For each part, the build (A or B) its content comes from, read from the content itself."""
    from whoosh import index as whoosh_index

    report = json.loads((base / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    data = next(name for name, title in BUILDS.items() if report["title"] == title)
    texts = [json.loads(line)["text"] for line in (base / "extracted" / "6.0" / "requirements.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(CHANGED[1] in t for t in texts) == (data == "B")
    texts += [json.loads(line)["text"] for line in (base / "extracted" / "6.0" / "unplaced.jsonl").read_text(encoding="utf-8").splitlines()]
    ix = whoosh_index.open_dir(base / "extracted" / "index")
    with ix.searcher() as searcher:
        indexed = sorted(doc["doc"]["shown"] for doc in searcher.documents())
    index = "B" if any(CHANGED[1] in t for t in indexed) else "A"
    assert index != data or indexed == sorted(texts)
    page = (base / "site" / "6.0" / "index.html").read_text(encoding="utf-8")
    site = next(name for name, title in BUILDS.items() if title in page)
    return {"data": data, "index": index, "site": site}


def leftovers(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir() if ".staging-" in p.name or p.name.endswith((".commit", ".commit.tmp", ".swap")))


def assert_one_build(base: Path) -> str:
    """All three parts complete and from one build; the stamps agree with the content."""
    assert (base / "site" / "index.html").is_file() and (base / "site" / "search" / "search_index.json").is_file()
    parts = which_build(base)
    assert len(set(parts.values())) == 1, parts
    assert read_stamp(base / "extracted") == read_stamp(base / "site")
    return parts["data"]


@pytest.fixture
def built(tmp_path) -> tuple[Path, dict[str, Path], float]:
    raws = make_raws(tmp_path)
    start = time.perf_counter()
    subprocess.run(command(tmp_path, raws["A"], "build"), check=True, capture_output=True, timeout=300)
    return tmp_path, raws, time.perf_counter() - start


def kill_at_random(base: Path, raws: dict[str, Path], seconds: float, kills: int, seed: int) -> list[tuple[str, float, str]]:
    """Start builds alternately from A and B and SIGKILL each at a random moment; check after each kill."""
    rng = random.Random(seed)
    seen = []
    for n in range(kills):
        target = "B" if n % 2 == 0 else "A"
        at = rng.uniform(seconds * 0.2, seconds * 1.5)
        process = subprocess.Popen(command(base, raws[target], "build"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(at)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        journal = journal_path(base / "extracted").exists()
        if journal:  # killed inside the commit: the next command that opens the knowledge base finishes it
            subprocess.run(command(base, raws[target], "show", "gov-1.1-1"), capture_output=True, timeout=120)
        seen.append((target, round(at, 2), assert_one_build(base) + (" (rolled forward)" if journal else "")))
    return seen


@pytest.mark.slow  # 18 s; the default run crashes the commit at each of its steps (below)
def test_a_build_killed_at_random_moments_leaves_one_complete_build(built):
    base, raws, seconds = built
    seen = kill_at_random(base, raws, seconds, kills=10, seed=8)
    print(seen)
    assert any(left[0] != target for target, _, left in seen), "no kill landed before the commit"
    subprocess.run(command(base, raws["A"], "build"), check=True, capture_output=True, timeout=300)
    assert assert_one_build(base) == "A"
    assert leftovers(base) == []


CRASH = textwrap.dedent("""
    import os, sys
    import pipeline.commit as commit
    step, at, calls = sys.argv[1], int(sys.argv[2]), {"n": 0}
    real = getattr(commit, step)
    def crash(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at:
            os._exit(9)
        return real(*args, **kwargs)
    setattr(commit, step, crash)
    from pipeline.cli import main
    sys.argv = ["guideline-kb", *sys.argv[3:]]
    main()
""")


@pytest.mark.parametrize("step,call", [("_write_journal", 1), ("exchange", 1), ("exchange", 2), ("_finish", 1), ("write_stamp", 2)],
                         ids=["before-journal", "before-first-swap", "between-swaps", "after-swaps", "while-stamping"])
def test_a_crash_at_each_step_of_the_commit(built, step, call):
    """Crash (os._exit) at each step of the commit: before the journal the old build stays; after it
    the next command rolls the new build forward; in between a part is never missing."""
    base, raws, _ = built
    result = subprocess.run([sys.executable, "-c", CRASH, step, str(call), *command(base, raws["B"], "build")[3:]],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 9, result.stderr
    assert (base / "extracted" / "6.0" / "requirements.jsonl").is_file() and (base / "site" / "index.html").is_file()
    committed = journal_path(base / "extracted").exists()
    subprocess.run(command(base, raws["B"], "search", "バックアップ"), capture_output=True, timeout=120)
    assert assert_one_build(base) == ("B" if committed else "A")
    assert committed == (step not in ("_write_journal", "write_stamp"))
    assert leftovers(base) == []


def test_outputs_have_normal_permissions(built):
    base, _, _ = built
    for path in (base / "extracted", base / "extracted" / "6.0", base / "extracted" / "index", base / "site", base / "site" / "6.0"):
        assert path.stat().st_mode & 0o755 == 0o755, path
    assert (base / "extracted" / STAMP).stat().st_mode & 0o644 == 0o644


def test_a_failed_build_leaves_everything_as_it_was(built):
    base, raws, _ = built
    (raws["B"] / "6.0" / "toc.tsv").write_text("gov\tx\t見出し\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file() and "raw-" not in str(p)}
    result = subprocess.run(command(base, raws["B"], "build"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "toc.tsv:1行" in result.stderr
    assert {p: p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file() and "raw-" not in str(p)} == before


def test_a_rebuild_of_the_same_data_still_installs_a_new_site_and_index(built, tmp_path):
    """The data's stamp names the build; it cannot tell the site of a new version (or config) from the
    old one. A rebuild with the same data and another mkdocs.yml must install the new site."""
    base, raws, _ = built
    stamp = read_stamp(base / "extracted")
    config = tmp_path / "mkdocs-other.yml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace("site_name:", "site_name: 別の名前 ", 1), encoding="utf-8")
    args = command(base, raws["A"], "build")
    args[args.index("--config") + 1] = str(config)
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    assert read_stamp(base / "extracted") == stamp  # the same data, the same build name (no diff in extracted/)
    assert "別の名前" in (base / "site" / "index.html").read_text(encoding="utf-8")
    assert_one_build(base)
