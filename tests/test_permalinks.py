"""Permalinks (issue 11): every requirement and unplaced item has a URL that lands on its heading.

``site/r/<ID>/`` (the newest edition that has the ID) and ``site/<edition>/r/<ID>/`` are static stubs
that send the browser on with a meta refresh (no script: the Content-Security-Policy forbids inline
ones) to ``<page>#<ID>``; each heading links to its two permalinks; no two headings of a page share an
id and none is a bare number. In Chromium (Debian's /usr/bin/chromium, driven by playwright), a fresh
browser opening ``/r/gov-1.3.2-1/`` over HTTP ends on the chapter page with that heading as ``:target``.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from pipeline.errors import SiteError
from pipeline.site import blocked_scripts, content_security_policy, permalink_stub, permalink_targets
from pipeline.store import load_requirements, load_unplaced

CHROMIUM = "/usr/bin/chromium"
SITE = "http://site.invalid/"  # a base to resolve the site's relative URLs against


class _Page(HTMLParser):
    """What a built page holds: every element id (and its tag), the meta refresh, the links."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, list[str]] = {}
        self.refresh: str | None = None
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.setdefault(attrs["id"], []).append(tag)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            self.refresh = attrs.get("content")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> _Page:
    return _Page(path.read_text(encoding="utf-8"))


def _records(kb) -> list[tuple[str, str, str]]:
    """(edition, ID, the built page that holds it) of every requirement and unplaced item."""
    out = kb / "extracted"
    reqs = [(r.edition, r.id, f"{r.edition}/{r.volume}/{r.section.split('.')[0]}.html") for r in load_requirements(out)]
    return reqs + [(u.edition, u.id, f"{u.edition}/unplaced.html") for u in load_unplaced(out)]


def _refresh_target(stub: str, content: str) -> str:
    """The URL (relative to the site's root, with its fragment) a stub's meta refresh sends the browser to."""
    match = re.fullmatch(r"\s*0\s*;\s*url=(.+)", content, re.I)
    assert match, content
    target = urljoin(SITE + stub, match.group(1).strip())
    assert target.startswith(SITE), (stub, target)
    return target[len(SITE):]


def test_every_requirement_and_unplaced_item_has_stubs_that_land_on_its_heading(kb):
    site = kb / "site"
    records = _records(kb)
    assert any("." in i.split("-")[1] for _, i, _ in records) and any(i.startswith("unplaced-") for _, i, _ in records)
    stubs = sorted(p.relative_to(site).as_posix() for p in site.rglob("r/*/index.html"))
    assert len(stubs) == 2 * len(records)  # one edition: r/<ID>/ and 6.0/r/<ID>/
    for edition, record_id, page in records:
        for stub in (f"r/{record_id}/index.html", f"{edition}/r/{record_id}/index.html"):
            assert stub in stubs, stub
            parsed = _parsed(site / stub)
            assert parsed.refresh, stub
            target = _refresh_target(stub, parsed.refresh)
            path, _, fragment = target.partition("#")
            assert (path, fragment) == (page, record_id), (stub, target)
            assert parsed.ids == {"permalink": ["script"]}, stub  # the JSON data block only
            assert [urljoin(SITE + stub, href)[len(SITE):] for href in parsed.links] == [target], stub  # the visible link
            landed = _parsed(site / path)
            assert landed.ids.get(fragment) == ["h3"], (stub, fragment, landed.ids.get(fragment))
            text = (site / stub).read_text(encoding="utf-8")
            assert "<script>" not in text and blocked_scripts(text, content_security_policy(stub)) == [], stub


def test_every_stub_has_the_content_security_policy(kb):
    site = kb / "site"
    for path in sorted(site.rglob("r/*/index.html")):
        text = path.read_text(encoding="utf-8")
        head = text[: text.index("</head>")]
        meta = head.index('<meta http-equiv="Content-Security-Policy"')
        assert meta < head.index('http-equiv="refresh"') and text.count("Content-Security-Policy") == 1, path
        assert f'content="{content_security_policy(path.relative_to(site).as_posix())}"' in head, path


def test_every_heading_links_to_its_two_permalinks(kb):
    """The small line under each requirement's (and unplaced item's) heading: 固定リンク (newest edition)
    and 第6.0版の固定リンク, each a stub that exists."""
    site = kb / "site"
    for edition, record_id, page in _records(kb):
        text = (site / page).read_text(encoding="utf-8")
        heading = re.search(rf'<h3 id="{re.escape(record_id)}">', text)
        assert heading, record_id
        line = re.compile(r'<p class="req-permalink">(.*?)</p>', re.S).search(text, heading.end())
        assert line and not re.search(r"<h[1-6]", text[heading.end():line.start()]), record_id  # right under it
        hrefs = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', line.group(1))
        resolved = [(urljoin(SITE + page, href)[len(SITE):], label) for href, label in hrefs]
        assert resolved == [(f"r/{record_id}/", "固定リンク"), (f"{edition}/r/{record_id}/", f"第{edition}版の固定リンク")], resolved
        for url, _ in resolved:
            assert (site / url / "index.html").is_file(), url


def test_no_heading_id_is_a_bare_number_or_shared(kb):
    """Heading ids are words (home, chapter-13, section-1.3.2, edition-6.0) or record IDs: no toc slug of a
    Japanese or numbered heading (#13, #131, #_1) that another heading could also get."""
    site = kb / "site"
    ids = {r[1] for r in _records(kb)}
    pages = [p for p in sorted(site.rglob("*.html")) if p.parent.parent.name != "r" and p.name != "404.html"]
    assert len(pages) >= 20
    for path in pages:
        parsed = _parsed(path)
        for element_id, tags in parsed.ids.items():
            headings = [t for t in tags if re.fullmatch(r"h[1-6]", t)]
            if not headings:
                continue
            assert len(tags) == 1, (path, element_id, tags)
            assert re.fullmatch(r"[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*", element_id), (path, element_id)
            if element_id in ids:
                assert headings == ["h3"], (path, element_id)
            elif element_id.startswith("section-"):
                assert re.fullmatch(r"section-[0-9]+(\.[0-9]+)*", element_id) and headings == ["h2"], (path, element_id)
    chapter = _parsed(site / "6.0" / "gov" / "1.html").ids
    assert {"chapter-1", "section-1.3.2", "gov-1.3.2-1"} <= set(chapter) and "1" not in chapter and "13" not in chapter


def test_the_permalink_of_an_id_goes_to_the_newest_edition_that_has_it():
    targets = permalink_targets([("6.0", "gov-1.3.2-1"), ("10.0", "gov-1.3.2-1"), ("6.0", "unplaced-7-1"), ("6.0", "ctrl-2-1")])
    assert targets == {
        "10.0/r/gov-1.3.2-1/index.html": ("gov-1.3.2-1", "10.0", "10.0/gov/1.html"),
        "6.0/r/ctrl-2-1/index.html": ("ctrl-2-1", "6.0", "6.0/ctrl/2.html"),
        "6.0/r/gov-1.3.2-1/index.html": ("gov-1.3.2-1", "6.0", "6.0/gov/1.html"),
        "6.0/r/unplaced-7-1/index.html": ("unplaced-7-1", "6.0", "6.0/unplaced.html"),
        "r/ctrl-2-1/index.html": ("ctrl-2-1", "6.0", "6.0/ctrl/2.html"),  # only in 6.0: still a newest permalink
        "r/gov-1.3.2-1/index.html": ("gov-1.3.2-1", "10.0", "10.0/gov/1.html"),
        "r/unplaced-7-1/index.html": ("unplaced-7-1", "6.0", "6.0/unplaced.html"),
    }


@pytest.mark.parametrize("record_id, page", [("gov-1.3.2-1", "6.0/gov/1.html"), ("mgmt-13-4", "6.0/mgmt/13.html"),
                                             ("unplaced-7-1", "6.0/unplaced.html"), ("unplaced-p3-2", "6.0/unplaced.html"),
                                             ("unplaced-2-p3-1", "6.0/unplaced.html")])  # the last: an edition of several sources
def test_every_kind_of_id_gets_its_stubs(record_id, page):
    assert permalink_targets([("6.0", record_id)]) == {f"{where}r/{record_id}/index.html": (record_id, "6.0", page)
                                                       for where in ("6.0/", "")}


@pytest.mark.parametrize("record", [("6.0", "../../etc"), ("6.0", "gov-1.1-1/x"), ("../6.0", "gov-1.1-1"), ("6.0", 'gov-1"-1')])
def test_an_id_that_is_no_id_gets_no_stub(record):
    with pytest.raises(SiteError, match="固定リンクを作れません"):
        permalink_targets([record])


def test_a_stub_is_html_with_no_markup_from_its_data():
    stub = permalink_stub("6.0/r/unplaced-p3-2/index.html", "unplaced-p3-2", "6.0", "6.0/unplaced.html")
    assert '<meta http-equiv="refresh" content="0; url=../../../6.0/unplaced.html#unplaced-p3-2">' in stub
    assert '<a href="../../../6.0/unplaced.html#unplaced-p3-2">第6.0版の未配置の遵守事項 unplaced-p3-2 へ移動します</a>' in stub
    assert blocked_scripts(stub, "script-src 'self'") == []


def test_the_landed_heading_is_marked_by_css(kb):
    css = (kb / "site" / "stylesheets" / "guideline.css").read_text(encoding="utf-8")
    rule = re.search(r"h3:target\s*(?:,[^{]*)?\{([^}]*)\}", css)
    assert rule and "border-left:" in rule.group(1) and "background:" in rule.group(1), css
    landed = re.search(r"\.req-landed\s*\{([^}]*)\}", css)
    target_background = re.search(r"background:[^;]*;", rule.group(1)).group(0)
    assert landed and target_background in landed.group(1)


# ---------------------------------------------------------------------------------------------
# In Chromium, over HTTP, from a fresh browser

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(kb):
    """Chromium, and the site served on 127.0.0.1 (``browser.base``). Skips only when playwright or
    Chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} がありません（.ci/install が入れます）")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(kb / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"])
            chromium.base = f"http://127.0.0.1:{server.server_address[1]}/"
            yield chromium
            chromium.close()
    finally:
        server.shutdown()
        server.server_close()


def _land(browser, path: str) -> dict:
    """Open ``path`` in a fresh context (no history, no cache); where the browser ends, once it settles."""
    context = browser.new_context()
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.goto(browser.base + path)
        page.wait_for_url(lambda url: "/r/" not in urlsplit(url).path, timeout=5000)
        page.wait_for_load_state("load")
        state = page.evaluate("""() => {
            const t = document.querySelector(':target');
            const style = t && getComputedStyle(t);
            return {path: location.pathname, hash: location.hash, target: t && t.id, tag: t && t.tagName,
                    border: style && style.borderLeftWidth, top: t && Math.round(t.getBoundingClientRect().top)};
        }""")
        state["console"] = console
        return state
    finally:
        context.close()


def test_a_permalink_lands_on_the_requirement_in_a_fresh_browser(browser):
    state = _land(browser, "r/gov-1.3.2-1/")
    assert state["path"] == "/6.0/gov/1.html" and state["hash"] == "#gov-1.3.2-1", state
    assert state["target"] == "gov-1.3.2-1" and state["tag"] == "H3", state
    assert state["border"] not in (None, "0px"), state  # the :target style marks it
    assert 0 <= state["top"] < 400, state  # scrolled to it, under the header
    assert [m for m in state["console"] if "Content Security Policy" in m or "Refused" in m] == [], state


@pytest.mark.parametrize("path, page, fragment", [
    ("6.0/r/gov-1.3.2-1/", "/6.0/gov/1.html", "gov-1.3.2-1"),
    ("r/ctrl-13-6/", "/6.0/ctrl/13.html", "ctrl-13-6"),
    ("6.0/r/unplaced-7-1/", "/6.0/unplaced.html", "unplaced-7-1"),
])
def test_edition_and_unplaced_permalinks_land_too(browser, kb, path, page, fragment):
    assert (kb / "site" / path / "index.html").is_file()
    state = _land(browser, path)
    assert (state["path"], state["hash"], state["target"]) == (page, "#" + fragment, fragment), state


def test_the_permalink_link_under_a_heading_is_followed_to_the_heading(browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(browser.base + "6.0/mgmt/6.html")
        page.click('#mgmt-6-8 ~ p.req-permalink >> text=固定リンク >> nth=0')
        page.wait_for_url(lambda url: urlsplit(url).path == "/6.0/mgmt/6.html" and urlsplit(url).fragment == "mgmt-6-8", timeout=5000)
        assert page.evaluate("() => document.querySelector(':target').id") == "mgmt-6-8"
    finally:
        context.close()
