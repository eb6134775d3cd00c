"""Hostile text in every kind of source, shown on the site as the text it is (issue 8).

Markup, Markdown, Jinja-looking text and entities go into the real sample: a requirement's text,
a 記載箇所 (section title) cell, a 備考 note, an unplaced item, a raw/6.0/toc.tsv title, the
manifest's title and a maintainer's corrections.tsv ``add`` line. ``guideline-kb build`` makes the
site; Chromium (Debian's /usr/bin/chromium, driven by playwright) visits every page over HTTP and
the site search: no dialog opens, each string reads literally where it belongs, nothing is requested
from anywhere but the site, and the Content-Security-Policy lets only the theme's own scripts run.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import socketserver
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.site import blocked_scripts, content_security_policy, harden_site, literal_preview

from .conftest import copy_raw, run_cli

CHROMIUM = "/usr/bin/chromium"
SITE_NAME = "医療情報システム安全管理ガイドライン 相関ナレッジベース"

# What each source gets (appended to or put in front of real text, so that the rows still parse).
REQ = "<script>alert(1)</script></p>[x](javascript:alert(2))**太字**{{ config }}&amp;"  # gov-2.2-1's text
CELL = "<img src=x onerror=alert(13)></p>{% if %}`code`"  # the 記載箇所 cells of システム運用編 13
NOTE = "# 見出し<img src=x onerror=alert(3)>{% endif %}&amp;"  # 備考 of the gov-2.2-1 row
UNPLACED = "`code`<script>alert(4)</script>**太字**"  # an item that cannot be placed (report and 未配置 pages)
TOC = "</title></p><img src=x onerror=alert(5)>**太字**"  # toc.tsv: 経営管理編 2
MANIFEST = "<script>alert(6)</script>{{ config.site_name }}</p>"  # manifest.toml title
ADD = "<img src=x onerror=alert(7)></p>[y](javascript:alert(8))&amp;"  # corrections.tsv add → gov-1.2-2
MEMO = "`メモ` <b>太字</b> {% raw %}"  # the add line's memo (evidence on the corrections page)

GOV2 = "2. リスク評価を踏まえた管理" + TOC  # chapter title → nav label, <title>, heading
CTRL13 = "13. ネットワークに関する安全管理措置" + CELL
# Page → what its visible text holds literally. Requirement texts are cut to 40 characters
# (39 and …) where linked from another page, to 24 in the correlation table.
EXPECTED = {
    "6.0/index.html": [MANIFEST, GOV2],
    "6.0/gov/1.html": ["窓口" + ADD + "の設置等"],
    "6.0/gov/2.html": ["経営管理編 " + GOV2, REQ],
    "6.0/mgmt/6.html": [REQ[:39] + "…"],
    "6.0/ctrl/13.html": ["システム運用編 " + CTRL13],
    "6.0/table.html": [REQ[:23] + "…", "リスク分析を踏まえた対応について新設" + NOTE],
    "6.0/report.html": [UNPLACED],
    "6.0/unplaced.html": [UNPLACED + "法令上求められる"],
    "6.0/corrections.html": ["窓口" + ADD + "の設置等", MEMO],
}
TITLES = {"6.0/gov/2.html": GOV2, "6.0/ctrl/13.html": CTRL13}  # document.title: label - site name


def inject(raw: Path) -> None:
    """Put the hostile strings into the copy of raw/ (each replacement must hit)."""
    def replace(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, (path, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    folder = raw / "6.0"
    sample = folder / "correlation-table-v6.0.ocr.txt"
    lines = sample.read_text(encoding="utf-8").split("\n")
    row = next(i for i, line in enumerate(lines) if "① リスク評価の結果、医療情報の重要性" in line)  # 2.2 (line 22)
    lines[row] = lines[row].replace("① リスク評価の結果", "① " + REQ + "リスク評価の結果", 1).replace(
        "\tリスク分析を踏まえた対応について新設\t", "\tリスク分析を踏まえた対応について新設" + NOTE + "\t", 1)
    assert lines[row].count(REQ) == lines[row].count(NOTE) == 1
    sample.write_text("\n".join(lines), encoding="utf-8")
    replace(sample, "① 法令上求められる", "① " + UNPLACED + "法令上求められる")
    text = sample.read_text(encoding="utf-8")
    text, cells = re.subn(r"13\. ネットワークに関する ?安全管理措置 ?【", lambda m: m.group(0)[:-1] + CELL + "【", text)
    assert cells >= 10, cells
    sample.write_text(text, encoding="utf-8")
    # Without its toc entry, システム運用編 13 takes its title from the 記載箇所 cells.
    replace(folder / "toc.tsv", "ctrl\t13\tネットワークに関する安全管理措置\n", "")
    replace(folder / "toc.tsv", "gov\t2\tリスク評価を踏まえた管理\n", "gov\t2\tリスク評価を踏まえた管理" + TOC + "\n")
    replace(folder / "manifest.toml", '\ntitle = "', "\ntitle = " + json.dumps(MANIFEST, ensure_ascii=False)[:-1] + "  ")
    corrections = folder / "corrections.tsv"
    corrections.write_text(corrections.read_text(encoding="utf-8")
                           + f"add\tgov-1.2-2\t窓口の設置等\t窓口{ADD}の設置等\t{MEMO}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """The knowledge base built by ``guideline-kb build`` from the sample with hostile strings in it."""
    tmp = tmp_path_factory.mktemp("hostile")
    inject(copy_raw(tmp))
    result = run_cli(tmp, "build")
    assert result.exit_code == 0, result.output
    return tmp


def test_the_hostile_strings_reach_the_extracted_data(hostile):
    """Not vacuous: every string is in what the site is made from."""
    folder = hostile / "extracted" / "6.0"
    reqs = {r["id"]: r for r in map(json.loads, (folder / "requirements.jsonl").read_text(encoding="utf-8").splitlines())}
    assert reqs["gov-2.2-1"]["text"].startswith(REQ)
    assert reqs["gov-2.2-1"]["section_title"] == "リスク評価を踏まえた新設"
    assert ("窓口" + ADD + "の設置等") in reqs["gov-1.2-2"]["text"]
    assert reqs["ctrl-13-1"]["section_title"] == "ネットワークに関する安全管理措置" + CELL
    sections = [json.loads(line) for line in (folder / "sections.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ("gov", "2", "リスク評価を踏まえた管理" + TOC) in {(s["volume"], s["section"], s["title"]) for s in sections}
    notes = [n["text"] for line in (folder / "correlations.jsonl").read_text(encoding="utf-8").splitlines()
             for n in json.loads(line)["notes"]]
    assert "リスク分析を踏まえた対応について新設" + NOTE in notes
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["title"].startswith(MANIFEST)
    assert any(u["raw_text"].startswith("① " + UNPLACED) and u["text"].startswith(UNPLACED) for u in report["unplaced"])
    assert MEMO in (folder / "corrections.tsv").read_text(encoding="utf-8")


def test_every_page_has_the_policy_and_only_the_theme_scripts(hostile):
    """Each built page carries its policy first thing in <head>; every inline script in it is the
    theme's (allowed by hash); a script put into the content would not be."""
    site = hostile / "site"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 20
    for path in pages:
        rel = path.relative_to(site).as_posix()
        page = path.read_text(encoding="utf-8")
        policy = content_security_policy(rel)
        head = page[: page.index("</head>")]
        meta = head.index('<meta http-equiv="Content-Security-Policy"')
        assert page.count('http-equiv="Content-Security-Policy"') == 1, rel
        assert meta < min(head.index("<script"), head.index("<link"), head.index("<title>")), rel
        assert blocked_scripts(page, policy) == [], rel
        assert "script-src 'self' 'sha256-" in policy and "unsafe" not in policy and "object-src 'none'" in policy
        assert "googleapis" not in page and "gstatic" not in page, rel
        injected = page.replace("</article>", "<script>alert(1)</script></article>", 1)
        assert blocked_scripts(injected, policy) == ["alert(1)"], rel


def test_hardening_again_changes_nothing(hostile):
    """One policy per page even if run twice; the search previews keep only the theme's own tags."""
    site = hostile / "site"
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        assert literal_preview(doc["title"]) == doc["title"] and literal_preview(doc["text"]) == doc["text"]
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert harden_site(site) == {}
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


# ---------------------------------------------------------------------------------------------
# In Chromium, over HTTP

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser_page(hostile):
    """A Chromium page that records dialogs, console messages, errors and every request; the site served
    on 127.0.0.1. Skips only when playwright or Chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} がありません（.ci/install が入れます）")
    server = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(hostile / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"])
            page = browser.new_page()
            page.events = {"dialogs": [], "console": [], "errors": [], "outside": []}
            page.on("dialog", lambda d: (page.events["dialogs"].append(d.message), d.dismiss()))
            page.on("console", lambda m: page.events["console"].append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda exc: page.events["errors"].append(str(exc)))

            def only_the_site(route):  # anything else is recorded and never leaves the machine
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:
                    page.events["outside"].append(route.request.url)
                    route.abort()

            page.route("**/*", only_the_site)
            page.context.route("**/*", only_the_site)  # the search worker's requests too
            page.base = base
            yield page
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def test_every_page_shows_source_text_as_text(hostile, browser_page):
    page = browser_page
    site = hostile / "site"
    # Permalink stubs (r/<ID>/index.html) hold no source text and send the browser on as soon as they
    # load; tests/test_permalinks.py follows them.
    rels = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if p.parent.parent.name != "r")
    seen = set()
    for rel in rels:
        page.goto(page.base + rel)
        page.wait_for_load_state("load")
        assert page.evaluate("() => document.querySelectorAll('[onerror], a[href^=\"javascript:\"], img[src=\"x\"]').length") == 0, rel
        assert page.evaluate("() => !!document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]')"), rel
        text = page.inner_text("body")
        for expected in EXPECTED.get(rel, []):
            assert expected in text, (rel, expected)
            seen.add((rel, expected))
        if rel in TITLES:
            assert page.title() == f"{TITLES[rel]} - {SITE_NAME}", rel
            assert page.text_content("[data-md-component=header-topic]").strip() == TITLES[rel], rel
    page.wait_for_timeout(300)  # late console messages
    assert seen == {(rel, e) for rel, strings in EXPECTED.items() for e in strings}
    assert page.events["dialogs"] == []
    assert page.events["outside"] == []
    assert page.events["errors"] == []
    assert [m for m in page.events["console"] if "Content Security Policy" in m or "Refused" in m] == []


def _search(page, query: str) -> str:
    """Type a query into mkdocs-material's search box; the results' visible text once it settles."""
    box = page.locator("input.md-search__input")
    box.click()
    box.fill("")
    page.keyboard.press("End")
    page.wait_for_function("() => !document.querySelector('.md-search-result__item')", timeout=5000)
    empty = page.inner_text(".md-search-result")
    page.keyboard.type(query)
    page.keyboard.press("End")  # after Japanese input the search fires on a key press
    deadline, previous = time.monotonic() + 6, None
    while time.monotonic() < deadline:  # an answer to this query, then until it stops changing
        time.sleep(0.3)
        state = page.inner_text(".md-search-result")
        if state != empty and state == previous:
            break
        previous = state
    return previous or ""


def test_search_previews_show_source_text_as_text(browser_page):
    page = browser_page
    page.goto(page.base + "6.0/index.html")
    page.wait_for_selector("input.md-search__input", state="attached")
    hits = _search(page, "窓口")  # gov-1.2-2, whose text the maintainer's add line changed
    assert "gov-1.2-2" in hits and ("窓口" + ADD) in hits, hits
    _search(page, "<img src=x onerror=alert(10)>")  # a hostile query (nothing holds alert(10))
    hits = _search(page, "<img src=x onerror=alert(")  # one that finds the hostile texts
    assert "<img src=x onerror=alert(13)>" in hits and "<img src=x onerror=alert(7)>" in hits, hits
    hits = _search(page, "config")
    assert "{{ config }}" in hits, hits
    assert page.evaluate("() => document.querySelectorAll('.md-search-result [onerror], .md-search-result script').length") == 0
    page.wait_for_timeout(300)
    assert page.events["dialogs"] == []
    assert page.events["outside"] == []
    assert page.events["errors"] == []
    assert [m for m in page.events["console"] if "Content Security Policy" in m or "Refused" in m] == []
