"""The command line from anywhere (issue 11): where the knowledge base is found, IDs as people type
them, ``list``, the newest edition by default, plain text through a pipe, ``search --json`` with whole
records, ``serve``, and a cold start that does not load the readers of PDFs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.model import VOLUME_NAMES, id_key
from pipeline.store import load_requirements, load_unplaced

from .conftest import CONFIG, assert_refused

ANSI = "\x1b["


@pytest.fixture
def nowhere(tmp_path, monkeypatch) -> Path:
    """The current folder is an empty one outside any project; no GUIDELINE_KB_HOME, no config file."""
    folder = tmp_path / "nowhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("GUIDELINE_KB_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return folder


def cli(*args: str, **env: str | None):
    """Run guideline-kb in-process with only the folders the arguments name (and ``env``)."""
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GUIDELINE_KB_HOME", "XDG_CONFIG_HOME")}
    return env | extra


# --- finding the knowledge base --------------------------------------------------------------------

def test_search_from_tmp_with_GUIDELINE_KB_HOME_as_a_real_command(kb, tmp_path):
    """The acceptance case: `cd /tmp && GUIDELINE_KB_HOME=… guideline-kb search バックアップ`."""
    exe = shutil.which("guideline-kb")
    assert exe, "guideline-kb is not installed (pip install -e .)"
    env = clean_env(GUIDELINE_KB_HOME=str(kb), XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = subprocess.run([exe, "search", "バックアップ"], cwd="/tmp", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "【バックアップ】" in done.stdout and "システム運用編" in done.stdout
    assert "**" not in done.stdout and ANSI not in done.stdout and not done.stderr
    # GUIDELINE_KB_HOME may name the extracted/ folder itself; `python3 -m pipeline` is the same command
    env["GUIDELINE_KB_HOME"] = str(kb / "extracted")
    again = subprocess.run([sys.executable, "-m", "pipeline", "search", "バックアップ", "--json"], cwd="/tmp", env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)[0]["volume"] == "ctrl"


@pytest.mark.parametrize("where", ["before", "after"])
def test_out_before_or_after_the_command(kb, nowhere, where):
    out = ["--out", str(kb / "extracted")]
    for command in (["search", "TLS", "--json"], ["show", "ctrl-13-6", "--json"], ["list", "--json"]):
        result = cli(*(out + command if where == "before" else command + out))
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)


def test_out_after_the_command_wins_over_one_before_it(kb, nowhere):
    result = cli("--out", str(nowhere / "missing"), "search", "TLS", "--out", str(kb / "extracted"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["id"] == "ctrl-13-6"


def test_site_dir_after_the_command(tmp_path, nowhere):
    assert_refused(cli("serve", "--site", str(tmp_path / "no-site")), "no-site", "サイトがありません")


@pytest.fixture(scope="module")
def project(kb, tmp_path_factory) -> Path:
    """A guideline-kb project folder (mkdocs.yml beside extracted/) with subfolders to walk up from."""
    folder = tmp_path_factory.mktemp("project")
    shutil.copytree(kb / "extracted", folder / "extracted")
    shutil.copy(CONFIG, folder / "mkdocs.yml")
    (folder / "notes" / "2024").mkdir(parents=True)
    return folder


@pytest.mark.parametrize("sub", ["", "notes/2024", "extracted/6.0"])
def test_found_by_walking_up_from_a_subfolder(project, nowhere, monkeypatch, sub):
    monkeypatch.chdir(project / sub)
    result = cli("search", "TLS", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["id"] == "ctrl-13-6"


def test_not_found_says_where_it_looked_and_how_to_set_it(nowhere):
    for command in (["search", "バックアップ"], ["show", "gov-1.1-1"], ["list"], ["serve"], ["build"]):
        line = assert_refused(cli(*command), "見つかりません", str(nowhere), "GUIDELINE_KB_HOME", "--out",
                              "export GUIDELINE_KB_HOME=", "config.toml")
        assert "guideline-kb index" not in line and "検索インデックスがありません" not in line


def test_config_file_names_the_home(kb, nowhere, tmp_path):
    config = tmp_path / "config" / "guideline-kb" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'home = "{kb}"\n', encoding="utf-8")
    result = cli("search", "TLS", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["id"] == "ctrl-13-6"
    # GUIDELINE_KB_HOME comes before the config file, --out before both
    assert_refused(cli("search", "TLS", GUIDELINE_KB_HOME=str(nowhere / "gone")), "GUIDELINE_KB_HOME=", "フォルダがありません")
    assert cli("--out", str(kb / "extracted"), "search", "TLS", GUIDELINE_KB_HOME=str(nowhere / "gone")).exit_code == 0
    config.write_text("home = \n", encoding="utf-8")
    assert_refused(cli("search", "TLS"), str(config), "TOML")


def test_GUIDELINE_KB_HOME_that_is_not_a_knowledge_base(nowhere):
    assert_refused(cli("list", GUIDELINE_KB_HOME=str(nowhere)), "GUIDELINE_KB_HOME=", "guideline-kb のフォルダではありません")


def test_help_documents_where_the_folders_come_from():
    text = CliRunner().invoke(main, ["--help"]).output
    positions = [text.index(s) for s in ("--out DIR", "GUIDELINE_KB_HOME", "config.toml", "今のフォルダ")]
    assert positions == sorted(positions)  # in the order they are tried


# --- IDs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed,expected", [
    ("GOV-1.1-1", "gov-1.1-1"), ("mgmt-13-4 ", "mgmt-13-4"), ("mgmt - 13 - 4", "mgmt-13-4"),
    ("ｃｔｒｌ－１３－６", "ctrl-13-6"), ("ctrl-13-04", "ctrl-13-4"), ("gov-01.1-1", "gov-1.1-1"), ("ＭＧＭＴ－１３－４", "mgmt-13-4"),
])
def test_show_normalizes_the_id(kb, typed, expected):
    result = cli("--out", str(kb / "extracted"), "show", typed, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == expected


def test_show_normalizes_an_unplaced_id(kb):
    wanted = load_unplaced(kb / "extracted")[0].id  # unplaced-<line>-<n>
    typed = re.sub(r"\d+", lambda m: m.group().zfill(3), wanted.upper()) + " "
    result = cli("--out", str(kb / "extracted"), "show", typed, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == wanted and data["placed"] is False


def test_unknown_id_suggests_the_nearest_of_its_section_first(kb):
    known = {r.id for r in load_requirements(kb / "extracted")}
    assert "mgmt-13-5" not in known and {"mgmt-13-4", "mgmt-13-6"} <= known
    line = assert_refused(cli("--out", str(kb / "extracted"), "show", "MGMT-13-05"), "mgmt-13-5", "もしかして: ")
    suggested = line.split("もしかして: ")[1].split("。")[0].split("、")
    assert suggested[:2] == ["mgmt-13-4", "mgmt-13-6"] and all(s in known for s in suggested)
    same_section = [s for s in suggested if s.startswith("mgmt-13-")]
    assert suggested[:len(same_section)] == same_section
    line = assert_refused(cli("--out", str(kb / "extracted"), "show", "nothing-like-an-id"), "その ID の遵守事項はありません")
    assert "gov-1.1-1" in line  # the form of an ID, where nothing is near


# --- list ------------------------------------------------------------------------------------------

def test_list_one_line_per_requirement_in_order(kb):
    result = cli("--out", str(kb / "extracted"), "list")
    assert result.exit_code == 0, result.output
    requirements = load_requirements(kb / "extracted")
    lines = result.stdout.splitlines()
    assert len(lines) == len(requirements)
    ids = [line.split("\t")[0] for line in lines]
    assert ids == sorted(ids, key=id_key) == sorted((r.id for r in requirements), key=id_key)
    by_id = {r.id: r for r in requirements}
    for line in lines:
        req_id, place, excerpt = line.split("\t")
        req = by_id[req_id]
        assert place == f"{VOLUME_NAMES[req.volume]} {req.section} {req.section_title}".strip()
        assert excerpt and " ".join(req.text.split()).startswith(excerpt.rstrip("…")) and len(excerpt) <= 40  # one line


def test_list_filters_by_volume_and_section_and_section_includes_subsections(kb):
    requirements = load_requirements(kb / "extracted")
    rows = json.loads(cli("--out", str(kb / "extracted"), "list", "--volume", "CTRL", "--section", "１３", "--json").stdout)
    assert [r["id"] for r in rows] == sorted((r.id for r in requirements if r.volume == "ctrl" and r.section == "13"), key=id_key)
    assert rows and all(r["volume"] == "ctrl" for r in rows)
    rows = json.loads(cli("--out", str(kb / "extracted"), "list", "--volume", "gov", "--section", "1", "--json").stdout)
    sections = {r["section"] for r in rows}
    assert {"1.1", "1.3.1"} <= sections and all(s == "1" or s.startswith("1.") for s in sections)
    rows = json.loads(cli("--out", str(kb / "extracted"), "list", "--section", "1", "--json").stdout)
    assert not any(r["section"].startswith(("13", "10", "11")) for r in rows)  # 1 is not 13
    assert_refused(cli("--out", str(kb / "extracted"), "list", "--section", "x"), "--section", "節番号")


def test_list_unplaced_marks_them(kb):
    unplaced = load_unplaced(kb / "extracted")
    lines = cli("--out", str(kb / "extracted"), "list", "--unplaced").stdout.splitlines()
    assert len(lines) == len(load_requirements(kb / "extracted")) + len(unplaced)
    marked = [line for line in lines if "［未配置］" in line]
    assert sorted(line.split("\t")[0] for line in marked) == sorted(u.id for u in unplaced)
    assert all(line.startswith("unplaced-") for line in marked)
    rows = json.loads(cli("--out", str(kb / "extracted"), "list", "--unplaced", "--json").stdout)
    assert {r["id"] for r in rows if r["placed"] is False} == {u.id for u in unplaced}


# --- editions --------------------------------------------------------------------------------------

CHANGED = ("バックアップ", "控えの複製")  # the newer edition's text of the backup requirements
DROPPED = "gov-1.1-2"  # not in the newer edition


@pytest.fixture(scope="module")
def two_editions(kb, tmp_path_factory) -> Path:
    """extracted/ with the sample as 6.0 and a copy as 7.0 (its backup texts changed, one requirement
    dropped), indexed together."""
    base = tmp_path_factory.mktemp("two")
    out = base / "extracted"
    shutil.copytree(kb / "extracted", out)
    shutil.copytree(out / "6.0", out / "7.0")
    for path in (out / "7.0").glob("*.jsonl"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [r | ({"edition": "7.0"} if "edition" in r else {}) for r in rows if r.get("id") != DROPPED]
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
        path.write_text(text.replace(*CHANGED) if path.name == "requirements.jsonl" else text, encoding="utf-8")
    report = json.loads((out / "7.0" / "report.json").read_text(encoding="utf-8"))
    (out / "7.0" / "report.json").write_text(json.dumps(report | {"edition": "7.0"}, ensure_ascii=False), encoding="utf-8")
    result = cli("--out", str(out), "index")
    assert result.exit_code == 0, result.output
    return out


def test_search_defaults_to_the_newest_edition(two_editions):
    newest = json.loads(cli("--out", str(two_editions), "search", "控えの複製", "--json").stdout)
    assert newest and {h["edition"] for h in newest} == {"7.0"}
    hits = json.loads(cli("--out", str(two_editions), "search", "バックアップ", "--json", "--limit", "50").stdout)
    assert all(h["edition"] == "7.0" for h in hits)  # 6.0's backup texts are not searched
    assert not any(CHANGED[0] in h["text"] for h in hits if h["placed"])
    older = json.loads(cli("--out", str(two_editions), "search", "バックアップ", "--edition", "6.0", "--json").stdout)
    assert older and {h["edition"] for h in older} == {"6.0"}
    result = cli("--out", str(two_editions), "search", "バックアップ")
    assert "第7.0版を検索しました" in result.stderr and "--edition all" in result.stderr
    assert "第6.0版" not in result.stdout


def test_search_edition_all_mixes_editions_and_each_hit_shows_its_own(two_editions):
    hits = json.loads(cli("--out", str(two_editions), "search", "ネットワーク", "--edition", "all", "--json", "--limit", "50").stdout)
    assert {h["edition"] for h in hits} == {"6.0", "7.0"}
    text = cli("--out", str(two_editions), "search", "TLS", "--edition", "ALL", "--limit", "4").stdout
    heads = [line for line in text.splitlines() if line.startswith("ctrl-13-6")]
    assert any("第6.0版" in h for h in heads) and any("第7.0版" in h for h in heads)


def test_unknown_edition(two_editions):
    for command in (["search", "TLS"], ["list"], ["show", "gov-1.1-1"]):
        assert_refused(cli("--out", str(two_editions), *command, "--edition", "5.2"), "5.2", "6.0、7.0", "all")


def test_show_and_list_by_edition(two_editions):
    assert json.loads(cli("--out", str(two_editions), "show", DROPPED, "--json").stdout)["edition"] == "6.0"  # newest that has it
    assert json.loads(cli("--out", str(two_editions), "show", "gov-1.1-1", "--json").stdout)["edition"] == "7.0"
    assert_refused(cli("--out", str(two_editions), "show", DROPPED, "--edition", "7.0"), DROPPED, "第7.0版にはありません", "--edition 6.0")
    newest = cli("--out", str(two_editions), "list").stdout.splitlines()
    every = cli("--out", str(two_editions), "list", "--edition", "all").stdout.splitlines()
    assert DROPPED not in {line.split("\t")[0] for line in newest}
    assert len(every) == 2 * len(newest) + 1 and "第6.0版" in every[0] and "第7.0版" in every[-1]


# --- output ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["search", "TLS"], ["search", "苦情"], ["search", "リスク評価の結果", "--expand"],
                                     ["show", "mgmt-6-8"], ["show", "unplaced-7-1"], ["list", "--unplaced"]])
def test_piped_output_is_plain_text(kb, command):
    result = cli("--out", str(kb / "extracted"), *command)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert "**" not in result.output and ANSI not in result.output
    assert not re.search(r"\[/?(bold|dim|cyan|yellow)", result.output)  # no rich markup either
    if command[:2] == ["search", "TLS"]:
        assert "【TLS】" in result.stdout


class _Searcher:
    """Stands in for pipeline.index.Searcher: returns the hits it is given."""

    hits: list = []

    def __init__(self, out_dir):
        pass

    def search(self, text, **kwargs):
        return self.hits

    def close(self):
        pass


def _hit(req_id, *, complete=None, matched=(), missing=()):
    hit = SimpleNamespace(id=req_id, edition="6.0", volume="ctrl", section="13", section_title="ネットワーク", item=1,
                          text=f"{req_id} の本文", score=1.0, highlights=[], matched_by="words", placed=True, reason="")
    if complete is not None:  # a Hit of the search engine before ``complete`` existed has none
        hit.complete, hit.matched, hit.missing = complete, list(matched), list(missing)
    return hit


def test_search_says_which_hits_do_not_have_every_word(kb, monkeypatch):
    import pipeline.index

    monkeypatch.setattr(pipeline.index, "Searcher", _Searcher)
    out = ["--out", str(kb / "extracted")]
    _Searcher.hits = [_hit("ctrl-13-1", complete=True, matched=["ログ", "保存"]),
                      _hit("ctrl-13-2", complete=False, matched=["ログ"], missing=["保存"]),
                      _hit("ctrl-13-3", complete=False, matched=["保存"], missing=["ログ"])]
    lines = cli(*out, "search", "ログ 保存").stdout.splitlines()
    notice = lines.index("以下はすべての語には一致しません")
    assert lines.index("ctrl-13-1  システム運用編 13 ネットワーク") < notice < lines.index("ctrl-13-2  システム運用編 13 ネットワーク")
    assert lines.count("以下はすべての語には一致しません") == 1
    assert "  一致した語: ログ（一致しない語: 保存）" in lines and "  一致した語: 保存（一致しない語: ログ）" in lines
    assert lines.count("  一致した語: ログ（一致しない語: 保存）") == 1  # not on the complete hit
    _Searcher.hits = _Searcher.hits[1:]
    lines = cli(*out, "search", "ログ 保存").stdout.splitlines()
    assert lines[0] == "すべての語に一致する遵守事項はありません" and "以下はすべての語には一致しません" not in lines
    _Searcher.hits = [_hit("ctrl-13-1"), _hit("ctrl-13-2")]  # no ``complete``: nothing said
    text = cli(*out, "search", "ログ 保存").stdout
    assert "一致" not in text and "ctrl-13-2" in text


def test_search_json_carries_the_record_as_show_has_it(kb):
    out = ["--out", str(kb / "extracted")]
    hits = json.loads(cli(*out, "search", "リスク評価の結果", "--json", "--limit", "5").stdout)
    assert hits
    for hit in hits:
        assert {"volume_name", "sources", "variants", "score", "highlights", "matched_by", "placed"} <= set(hit)
        shown = json.loads(cli(*out, "show", hit["id"], "--json").stdout)
        for name in ("id", "edition", "text", "raw_text", "sources", "variants", "volume_name", "section_title"):
            assert hit[name] == shown[name], name
        if hit["placed"]:
            assert hit["placement"] == shown["placement"] and hit["numbers_read"] == shown["numbers_read"]
            assert hit["correlations"] == shown["related"] and hit["notes"] == shown["notes"]
    assert hits[0]["correlations"]  # mgmt-6-8 and the like are correlated
    unplaced = [h for h in json.loads(cli(*out, "search", "苦情", "--json").stdout) if not h["placed"]]
    assert unplaced and all(h["reason"] and h["sources"] and "row" in h for h in unplaced)


# --- serve -----------------------------------------------------------------------------------------

def test_serve_the_site_over_http_and_stop_with_ctrl_c(kb, tmp_path):
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path / "config"))
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", "0", "--site-dir", str(kb / "site")],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
        with urllib.request.urlopen(url + "index.html", timeout=10) as page:
            assert page.status == 200 and "<html" in page.read().decode("utf-8").lower()
        with urllib.request.urlopen(url + "search/search_index.json", timeout=10) as index:
            assert json.loads(index.read())["docs"]
        with urllib.request.urlopen(url, timeout=10) as root:
            assert root.read() == (kb / "site" / "index.html").read_bytes()
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=10)
    assert server.returncode in (0, 130), stderr
    assert "Traceback" not in stderr


def test_serve_refuses_a_taken_port_and_a_missing_site(kb, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_refused(cli("serve", "--port", str(port), "--site-dir", str(kb / "site")), f"ポート {port}", "--port")
    assert_refused(cli("serve", "--site-dir", str(tmp_path)), str(tmp_path), "サイトがありません", "guideline-kb build")


# --- cold start ------------------------------------------------------------------------------------

def test_search_does_not_import_the_build_or_rich(kb, tmp_path):
    """A search loads the index and the store, not the readers of PDFs, the build or rich (issue 11: cold start)."""
    script = (
        "import contextlib, io, sys\n"
        "from pipeline.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    main(['search', 'バックアップ', '--out', {str(kb / 'extracted')!r}], standalone_mode=False)\n"
        "assert '【バックアップ】' in out.getvalue()\n"
        "heavy = ('pipeline.build', 'pipeline.ingest', 'pipeline.correct', 'rich', 'jsonschema', 'pdfplumber', 'fitz', 'cv2', 'mkdocs')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=clean_env(XDG_CONFIG_HOME=str(tmp_path)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_newest_edition_is_the_highest_number(tmp_path):
    from pipeline.cli import choose_edition, edition_names

    for name in ("5.2", "6.2", "6.10"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "requirements.jsonl").write_text("", encoding="utf-8")
    assert edition_names(tmp_path) == ["5.2", "6.2", "6.10"]
    assert choose_edition(None, edition_names(tmp_path)) == "6.10"
