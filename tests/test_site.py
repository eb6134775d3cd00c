"""The static site built by mkdocs (strict) from the sample: pages, anchors, links, escaping."""

import html
import json
import re
import shutil

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import ManifestError
from pipeline.ingest.manifest import load_edition
from pipeline.model import CIRCLED, VOLUME_NAMES, VOLUMES
from pipeline.site import front_matter, generate_docs, md_escape, nav_label, unread_sections

from pipeline.store import load_correlations, load_requirements

from .conftest import CONFIG, RAW, run_cli


def test_site_has_home_volume_chapters_table_and_report(kb):
    site = kb / "site"
    assert (site / "index.html").is_file()
    for page in ("6.0/index.html", "6.0/table.html", "6.0/report.html", "6.0/ctrl/13.html", "6.0/gov/2.html", "6.0/mgmt/6.html"):
        assert (site / page).is_file(), page
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'lang="ja"' in home and "検索" in home


def test_every_requirement_has_an_anchor_equal_to_its_id(kb):
    for req in load_requirements(kb / "extracted"):
        chapter = req.section.split(".")[0]
        page = (kb / "site" / req.edition / req.volume / f"{chapter}.html").read_text(encoding="utf-8")
        assert f'id="{req.id}"' in page, req.id


def test_correlated_requirements_link_to_each_other_both_ways(kb):
    page = lambda rel: (kb / "site" / "6.0" / rel).read_text(encoding="utf-8")  # noqa: E731
    assert 'href="../mgmt/6.html#mgmt-6-8"' in page("gov/2.html")
    assert 'href="../gov/2.html#gov-2.2.1-1"' in page("mgmt/6.html")
    assert 'href="../ctrl/4.html#ctrl-4-2"' in page("mgmt/6.html")
    table = page("table.html")
    assert len(re.findall(r"<tr>", table)) == len(load_correlations(kb / "extracted")) + 1


def test_source_text_never_becomes_html(tmp_path):
    """A source cell holding markup shows as text: escaped, not a tag, not Markdown."""
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    sample = raw / "6.0" / "correlation-table-v6.0.ocr.txt"
    text = sample.read_text(encoding="utf-8").replace(
        "ネットワーク利用に関連する具体的な責任分界", "<script>alert(1)</script>**太字**[リンク](http://x) &amp; ネットワーク利用に関連する具体的な責任分界", 1
    )
    sample.write_text(text, encoding="utf-8")
    result = run_cli(tmp_path, "build", raw=raw)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "6.0" / "ctrl" / "13.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;**太字**[リンク](http://x) &amp;amp; ネットワーク" in page
    assert '<a href="http://x"' not in page


def test_report_page_has_a_row_per_unplaced_item_decision_and_problem(kb):
    """Three tables: the unplaced items (one row each, linked to their anchor), the placement
    decisions, the other problems; each with its header row."""
    report = json.loads((kb / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    page = (kb / "site" / "6.0" / "report.html").read_text(encoding="utf-8")
    assert report["not_placed"]["total"] >= len(report["unplaced"]) > 0
    tables = re.findall(r"<table>.*?</table>", page, re.S)
    sizes = [len(report[k]) for k in ("unplaced", "placements", "problems") if report[k]]
    assert [t.count("<tr>") - 1 for t in tables] == sizes
    assert [re.findall(r'href="unplaced\.html#(unplaced-[^"]+)"', row) for row in re.findall(r"<tr>.*?</tr>", tables[0], re.S)[1:]] \
        == [[u["id"]] for u in report["unplaced"]]


def _entries(kb, edition: str = "6.0") -> dict[str, tuple[str, str]]:
    """Requirement ID → (the HTML of its entry on its chapter page, the section heading above it)."""
    found = {}
    for path in sorted((kb / "site" / edition).glob("*/*.html")):
        page = path.read_text(encoding="utf-8")
        heads = [(m.start(), m.group(1)) for m in re.finditer(r"<h2[^>]*>(.*?)</h2>", page, re.S)]
        for match in re.finditer(r'<h3 id="([a-z]+-[0-9.]+-[0-9]+)"', page):
            end = re.compile(r"<h[1-3][ >]").search(page, match.end())
            above = [h for at, h in heads if at < match.start()]
            found[match.group(1)] = (page[match.start():end.start() if end else len(page)], above[-1] if above else "")
    return found


def test_every_requirement_lists_its_correlations_or_says_why_none(kb):
    from pipeline.link import related

    reqs = load_requirements(kb / "extracted")
    corrs = load_correlations(kb / "extracted")
    entries = _entries(kb)
    assert set(entries) == {r.id for r in reqs}
    without = 0
    for req in reqs:
        entry, _ = entries[req.id]
        links = related(corrs, req.id)
        if links:
            assert "相関する遵守事項:" in entry and "相関する遵守事項: なし" not in entry
            for other in (i for ids in links.values() for i in ids):
                assert f'.html#{other}"' in entry, (req.id, other)
        else:
            without += 1
            assert req.correlation_note, f"{req.id} has no correlation and no note saying why"
            text = html.unescape(re.sub(r"<[^>]+>", "", entry))
            assert f"相関する遵守事項: なし（{req.correlation_note}）" in text, req.id
            for ref in re.findall(r"unplaced-p?[0-9]+-[0-9]+", req.correlation_note):
                assert f'href="../unplaced.html#{ref}"' in entry, (req.id, ref)
    assert without, "the sample has requirements without correlations: the check above said nothing"


def test_a_requirement_placed_other_than_as_read_says_how(kb):
    entries = _entries(kb)
    reqs = load_requirements(kb / "extracted")
    shown = [r for r in reqs if r.placement.get("how") != "read" or r.numbers_read]
    assert any(r.numbers_read for r in shown) and any(r.placement.get("how") != "read" for r in shown)
    for req in reqs:
        text = html.unescape(re.sub(r"<[^>]+>", " ", entries[req.id][0]))
        if req.placement.get("how") != "read":
            assert "配置: " + req.placement["reason"] in text and req.placement.get("detail", "") in text, req.id
        else:
            assert "配置: " not in text, req.id
        if req.numbers_read:
            assert "読み取り上の番号: " + "、".join(CIRCLED[n - 1] for n in req.numbers_read) in text, req.id


def test_every_requirement_is_under_its_own_section_heading(kb):
    entries = _entries(kb)
    for req in load_requirements(kb / "extracted"):
        heading = html.unescape(re.sub(r"<[^>]+>", "", entries[req.id][1])).replace("¶", "").strip()
        assert heading == f"{req.section} {req.section_title}".strip(), (req.id, heading)


def test_a_chapter_of_several_sections_is_not_labelled_with_one_of_their_titles(kb):
    """The nav, <title> and heading of a chapter: its own title where the outline has one for the
    chapter number, else the number only (経営管理編 1 spans 1.1–1.3.2)."""
    sections = [json.loads(line) for line in (kb / "extracted" / "6.0" / "sections.jsonl").read_text(encoding="utf-8").splitlines()]
    own = {(s["volume"], s["section"]): s["title"] for s in sections}
    chapters: dict = {}
    for req in load_requirements(kb / "extracted"):
        chapters.setdefault((req.volume, req.section.split(".")[0]), {})[req.section] = req.section_title
    several = {k: v for k, v in chapters.items() if len(v) > 1}
    assert several, "no chapter spans several sections: the check below says nothing"
    for (volume, chapter), titles in chapters.items():
        page = (kb / "site" / "6.0" / volume / f"{chapter}.html").read_text(encoding="utf-8")
        label = html.unescape(re.search(r"<title>(.*?) - ", page).group(1))
        nav = html.unescape(re.search(rf'<a href="{chapter}\.html" class="md-nav__link md-nav__link--active">\s*<span class="md-ellipsis">\s*(.*?)\s*</span>', page, re.S).group(1))
        assert label == nav
        if own.get((volume, chapter)):
            assert label == f"{chapter}. {own[(volume, chapter)]}"
        else:
            assert label == f"第{chapter}章", label
        if (volume, chapter) in several:
            assert not [t for s, t in titles.items() if s != chapter and t and t in label and t != own.get((volume, chapter))], label


def test_mkdocs_config_is_strict_about_links():
    config = CONFIG.read_text(encoding="utf-8")
    assert "anchors: warn" in config and "language: ja" in config


def test_sources_in_the_table_read_as_written(kb):
    table = (kb / "site" / "6.0" / "table.html").read_text(encoding="utf-8")
    assert "6.0/correlation-table-v6.0.ocr.txt:16行" in table
    assert "\\:" not in table and "\\." not in table


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1.#*_-+!|[](){}<>&`\\: 　遵守事項①", min_size=1, max_size=40).map(str.strip).filter(bool))
def test_md_escape_renders_back_to_the_same_text(text):
    """Whatever a source cell holds, Markdown shows exactly that text: no markup, no lost characters."""
    rendered = markdown.markdown(md_escape(text), extensions=["tables", "attr_list"])
    assert re.fullmatch(r"<p>(.*)</p>", rendered, re.S), rendered
    assert html.unescape(rendered[3:-4]) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_a_page_title_reads_back_as_its_escaped_nav_label(text):
    """Whatever a section title holds, mkdocs reads the page's front matter back as the escaped label:
    <title> never falls back to ``page.title | striptags``, which un-escapes."""
    from mkdocs.utils.meta import get_data

    body, meta = get_data(front_matter(nav_label(text)) + "# 見出し\n")
    assert meta == {"title": nav_label(text)} and body == "# 見出し\n"


def test_every_page_has_a_content_security_policy_and_no_outside_fonts(kb):
    pages = sorted((kb / "site").rglob("*.html"))
    for path in pages:
        page = path.read_text(encoding="utf-8")
        assert page.count('<meta http-equiv="Content-Security-Policy" content="default-src \'self\'; script-src \'self\' \'sha256-') == 1, path
        assert "fonts.googleapis.com" not in page and "fonts.gstatic.com" not in page, path


# ---------------------------------------------------------------------------------------------
# The home page: what the reader is looking at (issue 11)

MHLW_PAGE = "https://www.mhlw.go.jp/stf/shingi/0000516275_00006.html"


def _visible(page: str) -> str:
    """The text of a page's article, as a reader sees it (tags dropped, entities read, spaces joined)."""
    article = page[page.index("<article"):page.index("</article>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", article)))


def test_home_page_says_what_each_edition_is_and_how_much_was_read(kb):
    report = json.loads((kb / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    assert report["published"] == "2023-05" and report["url"] == MHLW_PAGE  # carried from raw/6.0/manifest.toml
    assert report["sources"][0]["note"].startswith("各編間相関表の一部")
    page = (kb / "site" / "index.html").read_text(encoding="utf-8")
    text = _visible(page)
    assert "第6.0版" in text and "題: " + report["title"] in text and "公表: 2023-05" in text
    assert f'<a href="{MHLW_PAGE}">{MHLW_PAGE}</a>' in page
    assert f"元資料: correlation-table-v6.0.ocr.txt（OCR テキスト）: {report['sources'][0]['note']}" in text
    assert "&lt;p&gt;" in page and "<p> で囲まれた" not in page  # the note's <p> is text
    counts = report["requirements"]
    per_volume = "、".join(f"{VOLUME_NAMES[v]} {counts[v]} 件" for v in VOLUMES)
    assert f"遵守事項: {counts['total']} 件（{per_volume}）" in text
    assert f"この版の元資料が収めている相関表は {report['rows_read']} 行です" in text
    unplaced = len(report["unplaced"])
    assert unplaced and f'<a href="6.0/unplaced.html#unplaced-list">{unplaced} 件</a>' in page
    assert 'href="6.0/report.html#unplaced"' in page
    sections = [json.loads(line) for line in (kb / "extracted" / "6.0" / "sections.jsonl").read_text(encoding="utf-8").splitlines()]
    unread = unread_sections(sections)
    assert unread and f"{len(sections)} 節のうち {len(unread)} 節では遵守事項を一つも読み取れていません" in text
    for section in unread:
        assert f"{VOLUME_NAMES[section['volume']]} {section['section']} {section['title']}" in text
    stamp = json.loads((kb / "extracted" / "build.json").read_text(encoding="utf-8"))["build"]
    assert re.search(r"作成日: 20[0-9]{2}-[01][0-9]-[0-3][0-9]（", text) and f"データの版: {stamp}（" in text


def test_home_page_tells_how_to_search_serve_and_link(kb):
    text = _visible((kb / "site" / "index.html").read_text(encoding="utf-8"))
    for syntax in ("バックアップ 世代: 空白で区切った語をすべて含むもの", "OR TLS: どれかの語を含むもの",
                   "バックアップ -世代: 語の前に - を付けると", '"電子カルテ システム": 引用符で囲んだ語句'):
        assert syntax in text, syntax
    assert "guideline-kb serve を実行し、ブラウザで http://127.0.0.1:8000/ を開きます" in text
    assert "例: r/gov-1.1-1/" in text and (kb / "site" / "r" / "gov-1.1-1" / "index.html").is_file()


def test_edition_home_has_the_same_facts(kb):
    page = (kb / "site" / "6.0" / "index.html").read_text(encoding="utf-8")
    text = _visible(page)
    assert "公表: 2023-05" in text and f'<a href="{MHLW_PAGE}">' in page and 'href="unplaced.html#unplaced-list"' in page
    counts = json.loads((kb / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))["requirements"]
    for volume in VOLUMES:
        assert f"{VOLUME_NAMES[volume]}（{counts[volume]} 件）" in text


def test_the_build_date_is_the_only_thing_that_changes_and_follows_source_date_epoch(kb, tmp_path, monkeypatch):
    """extracted/ holds no date; the site's date is mkdocs' build date (SOURCE_DATE_EPOCH for reproducible builds)."""
    docs = {}
    for epoch in ("0", "1700000000"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        folder = tmp_path / epoch
        generate_docs(kb / "extracted", folder)
        docs[epoch] = {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.md"))}
    assert "作成日: 1970-01-01" in docs["0"]["index.md"] and "作成日: 2023-11-14" in docs["1700000000"]["index.md"]
    assert [p for p in docs["0"] if docs["0"][p] != docs["1700000000"][p]] == ["index.md"]
    assert docs["0"]["index.md"].replace("1970-01-01", "2023-11-14") == docs["1700000000"]["index.md"]
    data = [p for p in (kb / "extracted").glob("*/*") if p.is_file() and p.parent.name != "index"] + [kb / "extracted" / "build.json"]
    assert not re.search(r"20[0-9]{2}-[01][0-9]-[0-3][0-9]", "".join(p.read_text(encoding="utf-8") for p in data))


def test_manifest_text_on_the_home_pages_stays_text(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    manifest = raw / "6.0" / "manifest.toml"
    title, note = "<script>alert(1)</script>**題**{{ config }}", "<img src=x onerror=alert(2)>[x](javascript:alert(3))"
    text = manifest.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^title = ".*"$', lambda _: "title = " + json.dumps(title, ensure_ascii=False), text)
    text = re.sub(r'(?m)^note = ".*"$', lambda _: "note = " + json.dumps(note, ensure_ascii=False), text)
    manifest.write_text(text, encoding="utf-8")
    result = run_cli(tmp_path, "build", raw=raw)
    assert result.exit_code == 0, result.output
    for rel in ("index.html", "6.0/index.html"):
        page = (tmp_path / "site" / rel).read_text(encoding="utf-8")
        assert "<script>alert" not in page and "<img src=x" not in page and 'href="javascript' not in page, rel
        assert "題: " + title in _visible(page) and note in _visible(page), rel


def test_the_mhlw_page_must_be_an_http_url(tmp_path):
    folder = tmp_path / "6.0"
    shutil.copytree(RAW / "6.0", folder)
    manifest = folder / "manifest.toml"
    original = manifest.read_text(encoding="utf-8")
    for bad in ("javascript:alert(1)", 'https://x"><script>', "https://a b", "ftp://x"):
        manifest.write_text(re.sub(r'(?m)^url = .*$', lambda _: "url = " + json.dumps(bad), original), encoding="utf-8")
        with pytest.raises(ManifestError, match="url は http:// か https:// で始まり"):
            load_edition(folder)
    manifest.write_text(re.sub(r"(?m)^url = .*\n", "", original), encoding="utf-8")
    assert load_edition(folder).url == ""  # optional


def test_each_requirement_shows_the_5_2_notes_of_its_rows(kb):
    """Issue 11: 5.2 references are shown, not only parsed: every note of a correlation row stands
    under each requirement it annotates, escaped, where search can mark it."""
    corrs = load_correlations(kb / "extracted")
    annotated = {(i, n.get("text") or n.get("raw_text")) for c in corrs for n in c.notes for i in n.get("annotates", [])}
    assert any("6.11C6" in text for _, text in annotated)
    for req_id, text in annotated:
        volume, section, _ = req_id.split("-")
        page = (kb / "site" / "6.0" / volume / f"{section.split('.')[0]}.html").read_text(encoding="utf-8")
        block = page[page.index(f'id="{req_id}"'):]
        block = block[: block.find("<h3", 1) if "<h3" in block[1:] else len(block)]
        assert html.escape(text, quote=False) in block, (req_id, text)
