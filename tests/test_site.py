"""The static site built by mkdocs (strict) from the sample: pages, anchors, links, escaping."""

import html
import json
import re
import shutil

import markdown
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.site import front_matter, md_escape, nav_label

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


def test_report_page_lists_what_could_not_be_placed(kb):
    report = json.loads((kb / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    page = (kb / "site" / "6.0" / "report.html").read_text(encoding="utf-8")
    assert report["not_placed"]["total"] > 0
    assert page.count("<tr>") == report["not_placed"]["total"] + 1


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
