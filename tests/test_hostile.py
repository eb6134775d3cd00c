"""Hostile inputs and faults around the sources: manifests, tables of contents, output folders, the
environment, the index and queries. Every case is refused with one line that names the file and says
what to do, exit 2, no traceback, and every file of raw/, extracted/ and site/ byte-identical.

(The source files themselves, PDFs and text dumps, are in ``test_hostile_sources.py``.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import CONFIG, assert_refused, run_cli, snapshot

SAMPLE = "correlation-table-v6.0.ocr.txt"
GOOD_MANIFEST = f'edition = "6.0"\ntitle = "第6.0版"\n\n[[sources]]\nfile = "{SAMPLE}"\nkind = "ocr-text"\n'


@pytest.fixture
def world(kb, tmp_path) -> Path:
    """A copy of a whole built knowledge base (raw/, extracted/, site/) to break."""
    for name in ("raw", "extracted", "site"):
        shutil.copytree(kb / name, tmp_path / name, symlinks=True)
    return tmp_path


def all_files(world: Path) -> dict[str, bytes]:
    return snapshot(world / "raw", world / "extracted", world / "site")


def manifest(world: Path, text: str) -> None:
    (world / "raw" / "6.0" / "manifest.toml").write_text(text, encoding="utf-8")


def source_entry(file: str, kind: str = "ocr-text") -> str:
    return GOOD_MANIFEST + f'\n[[sources]]\nfile = {file}\nkind = "{kind}"\n'


# Each case: (mutation of the world, the strings the message must hold). The mutation may return
# extra CLI arguments (placed before the command).
MANIFEST_CASES = {
    "file-is-a-number": (lambda w: manifest(w, source_entry("123")), ["manifest.toml", "sources[2].file は文字列"]),
    "absolute-path": (lambda w: manifest(w, source_entry('"/etc/passwd"')), ["manifest.toml", "相対パス"]),
    "dot-dot-path": (lambda w: manifest(w, source_entry('"../../etc/passwd"')), ["manifest.toml", "相対パス"]),
    "backslash-path": (lambda w: manifest(w, source_entry('"..\\\\..\\\\x.txt"')), ["manifest.toml", "相対パス"]),
    "symlink-out": (lambda w: ((w / "raw" / "6.0" / "link.txt").symlink_to("/etc/hostname"), manifest(w, source_entry('"link.txt"'))),
                    ["manifest.toml", "外を指して"]),
    "source-is-a-folder": (lambda w: ((w / "raw" / "6.0" / "d").mkdir(), manifest(w, source_entry('"d"'))), ["manifest.toml", "フォルダです"]),
    "source-missing": (lambda w: manifest(w, source_entry('"nothing.txt"')), ["manifest.toml", "がありません"]),
    "file-with-control-char": (lambda w: manifest(w, source_entry('"a\\u0007.txt"')), ["manifest.toml", "sources[2].file"]),
    "edition-is-a-number": (lambda w: manifest(w, GOOD_MANIFEST.replace('"6.0"', "6.0")), ["manifest.toml", "edition は文字列"]),
    "edition-is-a-path": (lambda w: manifest(w, GOOD_MANIFEST.replace('"6.0"', '"../x"')), ["manifest.toml", "edition は版の番号"]),
    "edition-missing": (lambda w: manifest(w, GOOD_MANIFEST.replace('edition = "6.0"\n', "")), ["manifest.toml", "edition がありません"]),
    "sources-empty": (lambda w: manifest(w, 'edition = "6.0"\nsources = []\n'), ["manifest.toml", "sources が空です"]),
    "sources-missing": (lambda w: manifest(w, 'edition = "6.0"\n'), ["manifest.toml", "sources がありません"]),
    "sources-not-a-list": (lambda w: manifest(w, 'edition = "6.0"\nsources = "x.txt"\n'), ["manifest.toml", "sources は配列"]),
    "unknown-key": (lambda w: manifest(w, GOOD_MANIFEST.replace("title", "titel")), ["manifest.toml", "知らない項目 titel"]),
    "unknown-kind": (lambda w: manifest(w, source_entry(f'"{SAMPLE}"', "scan")), ["manifest.toml", "ocr-text、pdf のどれか", "scan"]),
    "title-200kb": (lambda w: manifest(w, GOOD_MANIFEST.replace('"第6.0版"', '"' + "長" * 200_000 + '"')), ["manifest.toml", "title が長すぎます"]),
    "published-as-toml-date": (lambda w: manifest(w, "published = 2023-05-01\n" + GOOD_MANIFEST), ["manifest.toml", "published は文字列"]),
    "limits-zero": (lambda w: manifest(w, GOOD_MANIFEST.replace("\n[[sources]]", "\n[limits]\nmax_pdf_pages = 0\n\n[[sources]]", 1)),
                    ["manifest.toml", "limits.max_pdf_pages", "1 以上"]),
    "limits-unknown": (lambda w: manifest(w, GOOD_MANIFEST.replace("\n[[sources]]", "\n[limits]\npages = 5\n\n[[sources]]", 1)),
                       ["manifest.toml", "知らない項目 pages"]),
    "toml-syntax": (lambda w: manifest(w, "edition = \n"), ["manifest.toml", "TOML として読めません"]),
    "manifest-is-a-folder": (lambda w: ((w / "raw" / "6.0" / "manifest.toml").unlink(), (w / "raw" / "6.0" / "manifest.toml").mkdir()),
                             ["manifest.toml", "フォルダです"]),
    "manifest-bad-utf8": (lambda w: (w / "raw" / "6.0" / "manifest.toml").write_bytes(b'edition = "6.0"\ntitle = "\xff\xfe\xfa"\n'),
                          ["manifest.toml", "2行"]),
    "manifest-nul": (lambda w: (w / "raw" / "6.0" / "manifest.toml").write_bytes(GOOD_MANIFEST.encode() + b"\x00\n"), ["manifest.toml", "NUL"]),
    "two-folders-one-edition": (lambda w: shutil.copytree(w / "raw" / "6.0", w / "raw" / "6.0-copy"), ["6.0-copy", "manifest.toml", "同じです"]),
    "no-edition-folder": (lambda w: [shutil.rmtree(p) for p in (w / "raw").iterdir()], ["raw", "manifest.toml のある版のフォルダがありません"]),
}


def toc(world: Path, data: bytes) -> None:
    (world / "raw" / "6.0" / "toc.tsv").write_bytes(data)


TOC_CASES = {
    "toc-is-a-folder": (lambda w: ((w / "raw" / "6.0" / "toc.tsv").unlink(), (w / "raw" / "6.0" / "toc.tsv").mkdir()), ["toc.tsv", "フォルダです"]),
    "toc-bad-line": (lambda w: toc(w, "gov\t1.1\t見出し\nctrl\tx\t見出し\n".encode()), ["toc.tsv:2行", "編<TAB>節番号<TAB>見出し"]),
    "toc-200kb-title": (lambda w: toc(w, ("gov\t1.1\t" + "長" * 200_000 + "\n").encode()), ["toc.tsv:1行", "長すぎます"]),
    "toc-bad-utf8": (lambda w: toc(w, "gov\t1.1\t見出し\n".encode() + b"gov\t1.2\t\xff\xfe\xfa\xfb\n"), ["toc.tsv", "2行"]),
    "toc-nul": (lambda w: toc(w, "gov\t1.1\t見出し\n".encode() + b"\x00"), ["toc.tsv", "NUL"]),
}


def _file_at(path: Path) -> list[str]:
    shutil.rmtree(path)
    path.write_text("大事なファイル", encoding="utf-8")
    return []


def _foreign(path: Path) -> list[str]:
    shutil.rmtree(path)
    path.mkdir()
    (path / "手紙.txt").write_text("大事なファイル", encoding="utf-8")
    return []


FOLDER_CASES = {
    "out-is-raw": (lambda w: ["--out", str(w / "raw")], ["--raw と --out が同じフォルダです"]),
    "out-inside-raw": (lambda w: ["--out", str(w / "raw" / "6.0")], ["--out が --raw", "の中にあります"]),
    "site-is-raw": (lambda w: ["--site-dir", str(w / "raw")], ["--raw と --site-dir が同じフォルダです"]),
    "site-is-raw-edition": (lambda w: ["--site-dir", str(w / "raw" / "6.0")], ["--site-dir が --raw", "の中にあります"]),
    "site-is-out": (lambda w: ["--site-dir", str(w / "extracted")], ["が同じフォルダです"]),
    "site-inside-out": (lambda w: ["--site-dir", str(w / "extracted" / "site")], ["--site-dir が --out", "の中にあります"]),
    "out-contains-raw": (lambda w: ["--out", str(w)], ["--raw が --out", "の中にあります"]),
    "raw-relative-dot-dot": (lambda w: ["--out", str(w / "raw" / ".." / "raw")], ["同じフォルダです"]),
    "site-path-is-a-file": (lambda w: _file_at(w / "site"), ["site", "フォルダではなくファイルです"]),
    "out-path-is-a-file": (lambda w: _file_at(w / "extracted"), ["extracted", "フォルダではなくファイルです"]),
    "site-is-someone-elses-folder": (lambda w: _foreign(w / "site"), ["site", "guideline-kb のサイトではないもの", "手紙.txt"]),
    "out-is-someone-elses-folder": (lambda w: _foreign(w / "extracted"), ["extracted", "guideline-kb の抽出結果ではないもの"]),
    "config-missing": (lambda w: ["--config", str(w / "nothing.yml")], ["nothing.yml", "mkdocs の設定ファイルがありません"]),
    "config-inside-site": (lambda w: (shutil.copy(CONFIG, w / "site" / "mkdocs.yml"), ["--config", str(w / "site" / "mkdocs.yml")])[1],
                           ["mkdocs.yml", "--site-dir", "出力の外に置いて"]),
    "raw-missing": (lambda w: ["--raw", str(w / "nothing")], ["nothing", "raw フォルダがありません"]),
}


@pytest.mark.parametrize("case", [*MANIFEST_CASES, *TOC_CASES, *FOLDER_CASES])
def test_a_bad_input_is_one_line_exit_2_and_nothing_is_lost(world, case):
    mutate, expected = {**MANIFEST_CASES, **TOC_CASES, **FOLDER_CASES}[case]
    extra = mutate(world)
    before = all_files(world)
    extra = extra if isinstance(extra, list) and all(isinstance(a, str) for a in extra) else []
    result = run_cli(world, *extra, "build")
    assert_refused(result, *expected)
    assert all_files(world) == before
    assert not [p.name for p in world.iterdir() if ".staging-" in p.name]


def test_a_shift_jis_manifest_and_toc_are_read(world):
    folder = world / "raw" / "6.0"
    for name in ("manifest.toml", "toc.tsv"):
        (folder / name).write_bytes((folder / name).read_text(encoding="utf-8").encode("cp932"))
    result = run_cli(world, "build")
    assert result.exit_code == 0, result.output


def test_an_edition_may_raise_a_limit(world):
    manifest(world, GOOD_MANIFEST.replace("\n[[sources]]", "\n[limits]\nmax_cell_chars = 50000\n\n[[sources]]", 1))
    assert run_cli(world, "build").exit_code == 0


# --- the environment and the operating system ------------------------------------------------------

def run_process(world: Path, *args: str, env: dict | None = None, preexec=None, **kwargs) -> subprocess.CompletedProcess:
    base = ["--raw", str(world / "raw"), "--out", str(world / "extracted"), "--site-dir", str(world / "site"), "--config", str(CONFIG)]
    return subprocess.run([sys.executable, "-m", "pipeline", *base, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, preexec_fn=preexec, **kwargs)


def assert_process_refused(result: subprocess.CompletedProcess, *expected: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("エラー: ") and "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def test_a_file_size_limit_fails_cleanly_and_keeps_the_old_build(world):
    import resource

    before = all_files(world)
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # noqa: E731
    result = run_process(world, "build", "--force", preexec=limit)  # --force: the same raw/ is built again, written
    assert_process_refused(result, "ファイルの大きさの上限", "ulimit")
    assert all_files(world) == before
    assert run_process(world, "build").returncode == 0  # and the next run cleans up
    assert not [p.name for p in world.iterdir() if p.name.startswith(".") and ".staging-" in p.name]


def _immutable(path: Path, on: bool) -> bool:
    return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0


def test_an_output_folder_that_cannot_be_written(world, tmp_path_factory):
    """A folder where nothing can be created (root ignores permission bits, so: the immutable flag)."""
    parent = tmp_path_factory.mktemp("locked")
    out = parent / "extracted"
    shutil.copytree(world / "extracted", out)
    if os.geteuid() != 0 and not _immutable(parent, True):
        parent.chmod(0o555)
    elif not _immutable(parent, True):
        pytest.skip("chattr +i is not available here")
    try:
        before = snapshot(out)
        result = run_process(world, "--out", str(out), "extract", "--force")
        assert_process_refused(result, str(parent), "してください")
        assert snapshot(out) == before
    finally:
        _immutable(parent, False)
        parent.chmod(0o755)


def test_output_that_cannot_be_encoded_is_not_a_traceback(world):
    result = run_process(world, "show", "存在しない-1", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unexpected_failure_is_one_line_and_debug_shows_the_traceback(world, monkeypatch):
    import pipeline.build

    def boom(*args, **kwargs):
        raise ValueError("内部の想定外")

    monkeypatch.setattr(pipeline.build, "read_editions", boom)
    result = run_cli(world, "build", "--force")
    assert_refused(result, "予期しない失敗です", "ValueError", "--debug")
    with pytest.raises(ValueError):
        run_cli(world, "--debug", "build", "--force")


def test_a_second_build_while_one_runs_is_refused(world):
    import fcntl

    from pipeline.commit import lock_path

    with open(lock_path(world / "extracted"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        before = all_files(world)
        assert_refused(run_cli(world, "build"), "別の guideline-kb build が実行中です")
        assert all_files(world) == before


# --- a damaged or missing knowledge base -----------------------------------------------------------

def test_a_damaged_index_says_to_rebuild(world):
    for path in (world / "extracted" / "index").iterdir():
        if path.suffix in (".toc", ".seg"):
            path.write_bytes(b"\x00garbage")
    assert_refused(run_cli(world, "search", "バックアップ"), "検索インデックスが壊れています", "guideline-kb build")


@pytest.mark.parametrize("command", [["search", "バックアップ"], ["show", "gov-1.1-1"], ["site"], ["index"]])
def test_commands_before_any_build_say_what_to_run(tmp_path, command):
    shutil.copytree(Path(__file__).resolve().parent.parent / "raw", tmp_path / "raw")
    line = assert_refused(run_cli(tmp_path, *command), "extracted")
    assert "guideline-kb" in line


# --- queries ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "query,expected",
    [
        ("あ" * 10_000, "検索語が長すぎます"),
        (" ".join(["ログ"] * 1000), "検索語が長すぎます"),
        (" ".join(["ログ"] * 100), "検索語が多すぎます"),
        ("、。！？", "記号しか含まれていません"),
        ("\x00\x01\x1b\x7f\u200b", "記号しか含まれていません"),
        ("\ud800\udfff", "記号しか含まれていません"),
    ],
    ids=["10000-chars", "1000-words", "100-words", "symbols", "control", "lone-surrogates"],
)
def test_a_query_that_cannot_be_searched_is_one_line(world, query, expected):
    assert_refused(run_cli(world, "search", query), expected)


@pytest.mark.parametrize("query", ["をを", "ħ", "バックアップ\udcff"])
def test_particles_and_rare_letters_are_searched_not_called_symbols(world, query):
    result = run_cli(world, "search", query)
    assert result.exit_code == 0, result.output
    assert "記号しか" not in result.output


def test_a_lone_surrogate_from_argv_in_a_real_process(world):
    argv = [sys.executable, "-m", "pipeline", "--out", str(world / "extracted"), "--site-dir", str(world / "site"), "search",
            os.fsdecode(b"\xff\xfe")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr


# --- any query at all ------------------------------------------------------------------------------

SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
CONTROL = st.integers(0, 0x1F).map(chr) | st.sampled_from(["\x7f", "\u200b", "\u202e", "\ufeff", "\ufffd"])
PIECES = st.sampled_from(["ログ", "バックアップ", "AND", "OR", "NOT", "*", "?", '"', "(", ")", "-", "+", "title:", "id:", "\\", "　",
                          "６．１１Ｃ６", "①", "ｶﾀｶﾅ", "をを", "ħ", "𠮷"])
QUERIES = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=60),
    st.lists(PIECES | SURROGATE | CONTROL, max_size=400).map(" ".join),
    st.lists(PIECES | SURROGATE | CONTROL, max_size=60).map("".join),
    st.text(min_size=900, max_size=10_000),
    st.integers(1, 10_000).map(lambda n: "あ" * n),
)


@pytest.fixture(scope="module")
def searcher(kb):
    from pipeline.index import Searcher

    with Searcher(kb / "extracted") as opened:
        yield opened


def _search_any(searcher, text: str) -> None:
    from pipeline.errors import QueryError

    try:
        hits = searcher.search(text)
    except QueryError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert all(h.id and h.text for h in hits)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(QUERIES)
def test_any_query_gives_hits_or_a_query_error(searcher, text):
    _search_any(searcher, text)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(QUERIES)
def test_ten_thousand_queries_give_hits_or_a_query_error(searcher, text):
    _search_any(searcher, text)


def test_a_full_disk_fails_cleanly_and_keeps_the_old_build(world, tmp_path_factory):
    """Outputs on a small tmpfs: the first build fits, the second (written beside the first) does not."""
    mount = tmp_path_factory.mktemp("tinyfs")
    size = sum(p.stat().st_size for p in (*world.joinpath("extracted").rglob("*"), *world.joinpath("site").rglob("*")) if p.is_file())
    blocks = sum(1 for p in (*world.joinpath("extracted").rglob("*"), *world.joinpath("site").rglob("*")))
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(size * 1.5) + blocks * 4096}", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        args = ["--out", str(mount / "extracted"), "--site-dir", str(mount / "site")]
        first = run_process(world, *args, "build")
        assert first.returncode == 0, first.stderr
        before = snapshot(mount / "extracted", mount / "site")
        result = run_process(world, *args, "build", "--force")
        assert_process_refused(result, "ディスクに空きがありません", str(mount))
        assert snapshot(mount / "extracted", mount / "site") == before
        assert sorted(p.name for p in mount.iterdir() if not p.name.endswith(".lock")) == ["extracted", "site"]
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
