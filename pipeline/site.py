"""The ``site`` stage: extracted/ → Markdown pages → mkdocs-material static site in site/.

Pages: a home page; per edition, one page per chapter of each volume (every requirement has an
anchor equal to its ID, under its own section's heading, and links to each correlated requirement,
both ways, or says why it has none), the whole correlation table, the items read but not placed
(full text, marked 「未配置」, an anchor per ``unplaced-…`` ID), and the run report (what could not
be placed or read, and every placement decision with its reason). Text from sources is escaped: nothing from a
source becomes HTML or Markdown, in pages, nav labels, page titles or search previews. After the
build, every page gets a Content-Security-Policy that lets only the theme's own inline scripts run
and loads nothing from outside the site (``harden_site``).
"""

from __future__ import annotations

import csv
import functools
import html
import json
import logging
import re
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

from .commit import data_stamp
from .errors import SiteError, describe_os_error
from .link import related_map
from .sitediff import diff_page, diff_path, edition_diffs, load_sections, switcher, version_lines
from .sitesearch import OVERRIDES, add_search_terms, copy_scripts, write_search_data
from .siteupdate import (LinkRecord, changed_editions, edition_digests, html_path, make_record, merge_search_index, read_record,
                         start_from, to_render, with_beside, write_record)
from .model import CIRCLED, PLACEMENTS, VOLUME_NAMES, VOLUMES, Correlation, Requirement, Unplaced, section_key
from .store import (CORRECTIONS, REPORT, SECTIONS, edition_folders, load_correlations, load_requirements, load_unplaced,
                    read_jsonl)

# What Python-Markdown (with tables) un-escapes after a backslash; < > & become entities instead.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


def md_escape(text: str) -> str:
    """Escape text for use inside Markdown inline content (headings, table cells, list items).

    >>> md_escape("<b>*重要*</b> | 6.0/x.txt:16行")
    '&lt;b&gt;\\\\*重要\\\\*&lt;/b&gt; \\\\| 6\\\\.0/x\\\\.txt:16行'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def html_block(text: str, css_class: str) -> str:
    """Source text as a raw HTML block: escaped, line breaks kept, never parsed as Markdown."""
    lines = "<br>".join(html.escape(line) for line in text.split("\n"))
    return f'<div class="{css_class}">{lines}</div>'


def nav_label(text: str) -> str:
    """Text as a nav label: mkdocs-material writes nav labels (and page titles) into the page as HTML.

    >>> nav_label('13. 管理<img src=x onerror=alert(1)> & "A"')
    '13. 管理&lt;img src=x onerror=alert(1)&gt; &amp; &quot;A&quot;'
    """
    return html.escape(text, quote=True)


def nav_pages(nav: list) -> dict[str, str]:
    """Every page in a mkdocs nav (nested lists of {label: path or list}): path → label.

    >>> nav_pages([{"ホーム": "index.md"}, {"第6.0版": [{"概要": "6.0/index.md"}]}])
    {'index.md': 'ホーム', '6.0/index.md': '概要'}
    """
    pages = {}
    for entry in nav:
        for label, target in entry.items():
            pages.update(nav_pages(target) if isinstance(target, list) else {target: label})
    return pages


# What PyYAML refuses to read in a document, or reads as a line break: written as escapes instead
# (a lone surrogate, which no file can hold, as U+FFFD).
_YAML_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def front_matter(title_html: str, *, searched: bool = True) -> str:
    r"""YAML front matter giving a page its <title> and header title: mkdocs-material writes
    ``page.meta.title`` as it is (HTML, like the nav label), where ``page.title`` would go through
    ``striptags``, which turns ``&lt;/title&gt;`` back into a tag.

    >>> front_matter('2. 管理&lt;/title&gt; &quot;A&quot;\x85')
    '---\ntitle: "2. 管理&lt;/title&gt; &quot;A&quot;\\u0085"\n---\n\n'
    """
    def escape(match: re.Match) -> str:
        code = ord(match.group())
        return "\\ufffd" if 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}"

    value = _YAML_UNSAFE.sub(escape, json.dumps(title_html, ensure_ascii=False))
    exclude = "" if searched else "search:\n  exclude: true\n"
    return f"---\ntitle: {value}\n{exclude}---\n\n"


def chapter_of(section: str) -> str:
    return section.split(".")[0]


def chapter_label(chapter: str, title: str) -> str:
    """A chapter's label (nav, page title, heading): its own title where the outline gives the chapter
    number one, else its number only — never the title of one of its sections.

    >>> chapter_label("2", "リスク評価を踏まえた管理"), chapter_label("1", "")
    ('2. リスク評価を踏まえた管理', '第1章')
    """
    return f"{chapter}. {title}" if title else f"第{chapter}章"


def circled(number: int) -> str:
    """An item number as printed (① …), or as digits past ㊿."""
    return CIRCLED[number - 1] if 0 < number <= len(CIRCLED) else str(number)


_UNPLACED_ID = re.compile(r"unplaced-(?:\d+-)?p?\d+-\d+")  # unplaced-<line>-<n>, -p<page>-, -<file>-… (several sources)


def unplaced_refs(note: str) -> list[str]:
    """The ``unplaced-…`` IDs a requirement's ``correlation_note`` names (items of its table row that
    could not be placed).

    >>> unplaced_refs("この行の他の編の遵守事項は配置できなかった: unplaced-7-1、unplaced-p3-2、unplaced-2-p3-1")
    ['unplaced-7-1', 'unplaced-p3-2', 'unplaced-2-p3-1']
    """
    return _UNPLACED_ID.findall(note or "")


def placement_notes(req: Requirement) -> list[str]:
    """How a requirement was placed, where not as read, and the other numbers the source gave it
    (plain text: the site escapes it, ``show`` prints it)."""
    notes = []
    how = req.placement.get("how", "read")
    if how != "read":
        detail = req.placement.get("detail")
        notes.append(f"配置: {req.placement.get('reason') or PLACEMENTS.get(how, how)}" + (f"（{detail}）" if detail else ""))
    if req.numbers_read:
        notes.append("読み取り上の番号: " + "、".join(circled(n) for n in req.numbers_read))
    return notes


def page_path(req_id: str, edition: str) -> str:
    """The page (relative to docs/) on which a requirement is."""
    volume, section, _ = req_id.split("-")
    return f"{edition}/{volume}/{chapter_of(section)}.md"


def rel_link(from_page: str, req_id: str, edition: str) -> str:
    """A relative Markdown link from one page to a requirement's anchor."""
    target = page_path(req_id, edition)
    depth = from_page.count("/")
    return f"[{req_id}]({'../' * depth}{target}#{req_id})"


PERMALINKS = "r"  # site/r/<ID>/ (newest edition holding the ID) and site/<edition>/r/<ID>/
_RECORD_ID = re.compile(r"[a-z]+-[0-9]+(?:\.[0-9]+)*-[0-9]+|" + _UNPLACED_ID.pattern)
_EDITION = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){0,3}")


def permalink(record_id: str, edition: str | None = None) -> str:
    """The URL path (relative to the site's root) of a requirement's or unplaced item's permalink:
    for the newest edition that has the ID, or for one edition.

    >>> permalink("gov-1.3.2-1"), permalink("unplaced-7-1", "6.0")
    ('r/gov-1.3.2-1/', '6.0/r/unplaced-7-1/')
    """
    return f"{edition}/{PERMALINKS}/{record_id}/" if edition else f"{PERMALINKS}/{record_id}/"


def permalink_links(from_page: str, record_id: str, edition: str) -> str:
    """The small line under a requirement's (or unplaced item's) heading: its permalinks, as raw HTML
    (mkdocs does not check raw links: the stubs are written after the build, outside docs/), left out
    of the search index."""
    up = "../" * from_page.count("/")
    newest, this = (html.escape(up + permalink(record_id, e), quote=True) for e in (None, edition))
    return (f'<p class="req-permalink" data-search-exclude="true"><a href="{newest}" title="最新の版のこの ID へのリンク">固定リンク</a>'
            f'・<a href="{this}" title="第{html.escape(edition)}版のこの ID へのリンク">第{html.escape(edition)}版の固定リンク</a></p>')


def record_page(record_id: str, edition: str) -> str:
    """The built page (relative to site/) that holds a requirement or an unplaced item.

    >>> record_page("gov-1.3.2-1", "6.0"), record_page("unplaced-p3-2", "6.0")
    ('6.0/gov/1.html', '6.0/unplaced.html')
    """
    if record_id.startswith("unplaced-"):
        return f"{edition}/unplaced.html"
    return page_path(record_id, edition).removesuffix(".md") + ".html"


def permalink_targets(records: list[tuple[str, str]]) -> dict[str, tuple[str, str, str]]:
    """Given (edition, ID) of every requirement and unplaced item, return each permalink stub's file
    (relative to site/) → (the ID, the edition, the built page it leads to): one per edition, and
    ``r/<ID>/`` for the newest edition that has the ID.

    >>> targets = permalink_targets([("6.0", "gov-1.1-1"), ("10.0", "gov-1.1-1")])
    >>> targets["r/gov-1.1-1/index.html"], targets["6.0/r/gov-1.1-1/index.html"]
    (('gov-1.1-1', '10.0', '10.0/gov/1.html'), ('gov-1.1-1', '6.0', '6.0/gov/1.html'))
    """
    targets: dict[str, tuple[str, str, str]] = {}
    for edition, record_id in sorted(records, key=lambda r: (section_key(r[0]), r[1]), reverse=True):
        if not _RECORD_ID.fullmatch(record_id) or not _EDITION.fullmatch(edition):
            raise SiteError(f"{edition}: ID {record_id!r} の固定リンクを作れません（extracted/ を作り直してください）")
        page = record_page(record_id, edition)
        targets[permalink(record_id, edition) + "index.html"] = (record_id, edition, page)
        targets.setdefault(permalink(record_id) + "index.html", (record_id, edition, page))
    return dict(sorted(targets.items()))


def permalink_stub(stub: str, record_id: str, edition: str, page: str) -> str:
    """A permalink stub page: sends the browser on to the record's heading on its page (a meta
    refresh; no script, which the Content-Security-Policy would refuse) and shows the same link.
    The JSON block is data for tools, never run.

    >>> print(permalink_stub("r/gov-1.1-1/index.html", "gov-1.1-1", "6.0", "6.0/gov/1.html"))  # doctest: +ELLIPSIS
    <!doctype html>
    ...<meta http-equiv="refresh" content="0; url=../../6.0/gov/1.html#gov-1.1-1">...
    """
    url = "../" * stub.count("/") + page + "#" + record_id
    href = html.escape(url, quote=True)
    what = f"第{edition}版の{'未配置の遵守事項' if record_id.startswith('unplaced-') else '遵守事項'} {record_id}"
    data = json.dumps({"id": record_id, "edition": edition, "page": page}, ensure_ascii=False).replace("<", "\\u003c")
    return "\n".join([
        "<!doctype html>",
        '<html lang="ja">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(what)}</title>",
        '<meta name="robots" content="noindex">',
        f'<meta http-equiv="refresh" content="0; url={href}">',
        f'<link rel="canonical" href="{href}">',
        f'<script type="application/json" id="permalink">{data}</script>',
        "</head>",
        "<body>",
        f'<main><article><p><a href="{href}">{html.escape(what)} へ移動します</a>（移動しないときはこのリンクを開いてください）</p></article></main>',
        "</body>",
        "</html>",
        "",
    ])


def write_permalinks(out_dir: Path, site_dir: Path) -> dict[str, str]:
    """Write a permalink stub into ``site_dir`` for every requirement and unplaced item in ``out_dir``;
    return stub → the page it leads to (``check_permalinks`` checks them against the built site)."""
    records = [(r.edition, r.id) for r in load_requirements(out_dir)] + [(u.edition, u.id) for u in load_unplaced(out_dir)]
    targets = permalink_targets(records)
    for stub, (record_id, edition, page) in targets.items():
        path = site_dir / stub
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(permalink_stub(stub, record_id, edition, page), encoding="utf-8")
    return {stub: page for stub, (_, _, page) in targets.items()}


def check_permalinks(site_dir: Path, targets: dict[str, str]) -> None:
    """Every permalink's page (stub → page) is in the built site."""
    for stub, page in targets.items():
        if not (site_dir / page).is_file():
            raise SiteError(f"{site_dir / page}: 固定リンク {stub} の行き先のページがありません（サイトを作り直してください）")


def unplaced_link(from_page: str, unplaced_id: str, edition: str) -> str:
    """A relative Markdown link from one page to an unplaced item's anchor on the edition's 未配置 page."""
    return f"[{unplaced_id}]({'../' * from_page.count('/')}{edition}/unplaced.md#{unplaced_id})"


def linked_text(text: str, path: str, edition: str, *, requirements: set[str] = frozenset(), unplaced: set[str] = frozenset()) -> str:
    """Text escaped for Markdown, with the requirement and unplaced IDs it names (and the page holds)
    as links."""
    known = requirements | unplaced
    if not known:
        return md_escape(text)
    pattern = re.compile("|".join(re.escape(i) for i in sorted(known, key=len, reverse=True)) + r"(?![0-9])")
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [md_escape(text[last:match.start()]),
                unplaced_link(path, match.group(), edition) if match.group() in unplaced else rel_link(path, match.group(), edition)]
        last = match.end()
    return "".join(out + [md_escape(text[last:])])


def generate_docs(out_dir: Path, docs_dir: Path) -> list:
    """Write the Markdown pages for every edition in ``out_dir`` into ``docs_dir``; return the mkdocs nav."""
    requirements = load_requirements(out_dir)
    correlations = load_correlations(out_dir)
    by_edition: dict[str, list[Requirement]] = defaultdict(list)
    for req in requirements:
        by_edition[req.edition].append(req)
    unplaced_by_edition: dict[str, list[Unplaced]] = defaultdict(list)
    for record in load_unplaced(out_dir):
        unplaced_by_edition[record.edition].append(record)
    corr_by_edition: dict[str, list[Correlation]] = defaultdict(list)
    for corr in correlations:
        corr_by_edition[corr.edition].append(corr)
    folders = {f.name: f for f in edition_folders(out_dir)}
    reports = {name: json.loads((f / REPORT).read_text(encoding="utf-8")) for name, f in folders.items()}
    outlines = {name: _outline(f) for name, f in folders.items()}
    from mkdocs.utils import get_build_date  # the date mkdocs stamps a build with (SOURCE_DATE_EPOCH if set)

    pages: dict[str, str] = {"index.md": _home(by_edition, reports, outlines, {e: len(u) for e, u in unplaced_by_edition.items()},
                                               built=get_build_date(), stamp=data_stamp(out_dir))}
    nav: list = [{"ホーム": "index.md"}]
    diffs = edition_diffs(by_edition, corr_by_edition, {name: load_sections(f) for name, f in folders.items()})
    versions = version_lines(diffs)
    for edition, reqs in sorted(by_edition.items(), key=lambda kv: section_key(kv[0]), reverse=True):
        corrs = corr_by_edition[edition]
        unplaced = unplaced_by_edition[edition]
        titles = _chapter_titles(folders[edition], reqs)
        texts = {r.id: r.text for r in reqs}
        unplaced_ids = {u.id for u in unplaced}
        pages[f"{edition}/index.md"] = _edition_home(edition, reqs, reports[edition], titles, unplaced, outlines[edition])
        edition_nav: list = [{"概要": f"{edition}/index.md"}]
        linked = related_map(corrs)
        notes = {r.id: r.note_texts() for r in reqs}
        chapters: dict[tuple[str, str], list[Requirement]] = defaultdict(list)
        for req in reqs:
            chapters[(req.volume, chapter_of(req.section))].append(req)
        for volume in VOLUMES:
            volume_nav = []
            for chapter in sorted((c for v, c in chapters if v == volume), key=int):
                path = f"{edition}/{volume}/{chapter}.md"
                label = chapter_label(chapter, titles.get((volume, chapter), ""))
                pages[path] = _chapter(path, edition, volume, label, chapters[(volume, chapter)], corrs, texts, unplaced_ids,
                                       {r.id: versions.get((edition, r.id), []) for r in chapters[(volume, chapter)]},
                                       linked, notes)
                volume_nav.append({nav_label(label): path})
            if volume_nav:
                edition_nav.append({VOLUME_NAMES[volume]: volume_nav})
        pages[f"{edition}/table.md"] = _table(f"{edition}/table.md", edition, corrs, texts)
        pages[f"{edition}/unplaced.md"] = _unplaced(f"{edition}/unplaced.md", edition, unplaced, reqs)
        pages[f"{edition}/report.md"] = _report(f"{edition}/report.md", reports[edition], set(texts), unplaced_ids)
        pages[f"{edition}/corrections.md"] = _corrections(f"{edition}/corrections.md", edition, folders[edition], set(texts))
        edition_nav += [{"各編間相関表": f"{edition}/table.md"}, {"未配置の遵守事項": f"{edition}/unplaced.md"},
                        {"読み取れなかった箇所": f"{edition}/report.md"}, {"OCR の訂正": f"{edition}/corrections.md"}]
        changes = []
        for (old, new), result in diffs.items():
            if edition in (old, new):
                pages[diff_path(old, new)] = diff_page(result)
                other = old if edition == new else new
                changes.append(f"- [第{old}版から第{new}版への変更（新旧対照表）](../{diff_path(old, new)})"
                               f"（第{other}版と比べて{'変わったもの' if result.changed() else '変わったものはありません'}）")
                if edition == new:
                    edition_nav.append({nav_label(f"第{old}版からの変更"): diff_path(old, new)})
        if changes:
            pages[f"{edition}/index.md"] += "\n## ほかの版との違い { #changes }\n\n" + "\n".join(changes) + "\n"
        nav.append({nav_label(f"第{edition}版"): edition_nav})
    editions = sorted(by_edition, key=section_key)
    paths = set(pages)
    for path in paths:
        if path.count("/") == 2:  # a chapter page: the same chapter in the other editions
            line = switcher(path, path.split("/")[0], paths, editions) if len(editions) > 1 else ""
            pages[path] = pages[path].replace(CHAPTER_SWITCHER, line, 1)
    titles = nav_pages(nav)
    newest = editions[-1] if editions else None
    for path, text in pages.items():
        if path != "index.md":  # the home page's <title> is the site name
            text = front_matter(titles[path], searched=lunr_searched(path, newest)) + text
        target = docs_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (docs_dir / "stylesheets").mkdir(exist_ok=True)
    (docs_dir / "stylesheets" / "guideline.css").write_text(_CSS, encoding="utf-8")
    (docs_dir / "javascripts").mkdir(exist_ok=True)
    copy_scripts(docs_dir)
    return nav


def lunr_searched(path: str, newest: str | None) -> bool:
    """Whether mkdocs-material's own search (lunr, one index of every page it is given) indexes a page:
    the home page and the newest edition's pages other than the requirements' (chapters, 未配置),
    which search/kb-<edition>.json holds for every edition. The index so stays the size of one
    edition however many editions the site has.

    >>> [lunr_searched(p, "6.1") for p in ("index.md", "6.1/table.md", "6.1/changes-from-6.0.md", "6.1/gov/1.md", "6.0/table.md")]
    [True, True, True, False, False]
    """
    edition, _, rest = path.partition("/")
    if not rest:
        return True
    return edition == newest and not re.fullmatch(r"(?:gov|mgmt|ctrl)/[0-9]+\.md|unplaced\.md", rest)


def _chapter_titles(folder: Path, reqs: list[Requirement]) -> dict[tuple[str, str], str]:
    """(volume, chapter) → the chapter's own title, where the outline (``sections.jsonl``: the toc and
    the 記載箇所 read) has an entry for the chapter number itself; a chapter without one has no title
    here (``chapter_label`` gives its number only), never the title of one of its sections."""
    known = {(s["volume"], s["section"]): s["title"] for s in read_jsonl(folder / SECTIONS)} if (folder / SECTIONS).exists() else {}
    chapters = {(r.volume, chapter_of(r.section)) for r in reqs}
    return {key: known[key] for key in chapters if known.get(key)}


def _excerpt(text: str, width: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


_KINDS = {"ocr-text": "OCR テキスト", "pdf": "PDF"}


def _outline(folder: Path) -> list[dict]:
    """An edition's outline (``sections.jsonl``: the toc and the 記載箇所 read, with requirement counts)."""
    return read_jsonl(folder / SECTIONS) if (folder / SECTIONS).exists() else []


def unread_sections(outline: list[dict]) -> list[dict]:
    """The sections of an outline under which no requirement was read, neither in the section itself nor
    in any of its subsections (the parts of the guideline the source did not cover, or that could not be read).

    >>> unread_sections([{"volume": "gov", "section": "1", "requirements": 0}, {"volume": "gov", "section": "1.1", "requirements": 2},
    ...                  {"volume": "gov", "section": "2", "requirements": 0}])
    [{'volume': 'gov', 'section': '2', 'requirements': 0}]
    """
    read = [(s["volume"], s["section"]) for s in outline if s.get("requirements")]
    return [s for s in outline
            if not any(v == s["volume"] and (r == s["section"] or r.startswith(s["section"] + ".")) for v, r in read)]


def _edition_facts(edition: str, report: dict, outline: list[dict], unplaced: int, *, base: str) -> list[str]:
    """What an edition is and how much of it the site holds, as Markdown list items: title, publication,
    the MHLW page, the source files, the rows of the table read, the requirements per volume, the items
    not placed. Links are relative to the page (``base``: the way from it into the edition's folder)."""
    counts = report["requirements"]
    lines = [f"- 題: {md_escape(report.get('title') or '（manifest.toml に title がありません）')}",
             f"- 公表: {md_escape(report['published'])}" if report.get("published") else "- 公表: （manifest.toml に published がありません）"]
    if report.get("url"):  # http(s) only (the manifest's schema); shown as raw HTML: a link outside the site
        lines.append(f'- 厚生労働省のページ: <a href="{html.escape(report["url"], quote=True)}">{md_escape(report["url"])}</a>')
    for source in report.get("sources", []):
        note = f": {md_escape(source['note'])}" if source.get("note") else ""
        lines.append(f"- 元資料: {md_escape(source['file'])}（{md_escape(_KINDS.get(source['kind'], source['kind']))}）{note}")
    unread = unread_sections(outline)
    where = "、".join(md_escape(f"{VOLUME_NAMES.get(s['volume'], s['volume'])} {s['section']} {s.get('title') or ''}".strip())
                     for s in unread[:10]) + (f" ほか {len(unread) - 10} 節" if len(unread) > 10 else "")
    coverage = (f"目次（`toc.tsv` と読み取った記載箇所）の {len(outline)} 節のうち {len(unread)} 節では遵守事項を一つも読み取れていません"
                f"（元資料がその部分を含まないか、読み取れなかったもの: {where}）。" if unread else
                f"目次（`toc.tsv` と読み取った記載箇所）の {len(outline)} 節のどれにも遵守事項があります。")
    per_volume = "、".join(f"{VOLUME_NAMES[v]} {counts.get(v, 0)} 件" for v in VOLUMES)
    lines += [
        f"- 範囲: この版の元資料が収めている相関表は {report['rows_read']} 行です（読み取った表の行。相関表の全体とは限りません）。"
        + coverage,
        f"- 遵守事項: {counts['total']} 件（{per_volume}）、編をまたぐ相関 {report['correlations']} 件",
        f"- 未配置: [{unplaced} 件]({base}unplaced.md#unplaced-list)（読めたが編・節・番号を決められず、ID を付けられなかったもの。"
        f"全文は[未配置の遵守事項]({base}unplaced.md#unplaced-list)、理由ごとの件数は[読み取れなかった箇所]({base}report.md#unplaced)）",
    ]
    return lines


def _example_id(reqs: list[Requirement]) -> str:
    """The first requirement of an edition in reading order: the example of a permalink."""
    return min(reqs, key=lambda r: (VOLUMES.index(r.volume), section_key(r.section), r.item)).id


HOME_DETAILED = 3  # the home page gives the facts and downloads of this many editions, newest first (each edition's page has its own)


def _home(by_edition: dict[str, list[Requirement]], reports: dict[str, dict], outlines: dict[str, list[dict]],
          unplaced: dict[str, int], *, built: str, stamp: str) -> str:
    """The home page: what the site is, each edition it holds (what, whence, how much was read and
    what was not), how to search it and link to it, and when it was made from which data."""
    editions = sorted(by_edition, key=section_key, reverse=True)
    example = _example_id(by_edition[editions[0]]) if editions else "gov-1.1-1"
    lines = [
        "# 医療情報システム安全管理ガイドライン 相関ナレッジベース { #home }",
        "",
        "厚生労働省「医療情報システムの安全管理に関するガイドライン」の**各編間相関表**から、",
        "経営管理編・企画管理編・システム運用編の遵守事項を取り出し、編をまたいだ対応関係でつないだものです。",
        "厚生労働省の公表資料そのものではありません。収めているのは元資料から読み取れた範囲だけです（版ごとの「範囲」）。",
        "",
        "## 収録している版 { #editions }",
        "",
        "| 版 | 公表 | 遵守事項 | 経営管理編 | 企画管理編 | システム運用編 | 相関 | 未配置 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for edition in editions:
        counts = reports[edition]["requirements"]
        lines.append(
            f"| [第{edition}版]({edition}/index.md) | {md_escape(reports[edition].get('published', ''))} | {counts['total']} "
            f"| {counts['gov']} | {counts['mgmt']} | {counts['ctrl']} | {reports[edition]['correlations']} "
            f"| [{unplaced.get(edition, 0)}]({edition}/unplaced.md#unplaced-list) |"
        )
    lines.append("")
    detailed = editions[:HOME_DETAILED]
    if len(editions) > len(detailed):
        lines += [f"新しい {len(detailed)} 版の詳細とダウンロードを下に示します。ほかの版のものは、表の版のページにあります。", ""]
    for edition in detailed:
        lines += [f"### 第{edition}版 {{ #edition-{edition} }}", ""]
        lines += _edition_facts(edition, reports[edition], outlines.get(edition, []), unplaced.get(edition, 0), base=f"{edition}/")
        lines += [f"- [第{edition}版の編・章の一覧]({edition}/index.md)、[各編間相関表]({edition}/table.md)", ""]
    from .export import download_links  # the files build_site writes into site/downloads/ after mkdocs

    lines += ["## ダウンロード { #downloads }", "",
              "遵守事項・相関・未配置を、表計算ソフトやほかのツールで使えるファイルにしたものです（`guideline-kb export` と同じ）。"
              "Excel のブックには対応状況・担当・備考（院内）の空の列があり、そのまま点検表に使えます。", ""]
    for edition in detailed:
        lines += [f"第{edition}版:", "", *download_links(edition, correlations=reports[edition]["correlations"]), ""]
    lines += [
        "## 探し方 { #how-to-search }",
        "",
        "- 画面上部の検索欄にキーワード（例: バックアップ、委託先、TLS）を入力します。書き方:",
        "    - `バックアップ 世代`: 空白で区切った語をすべて含むもの",
        "    - `暗号化 OR TLS`: どれかの語を含むもの",
        "    - `バックアップ -世代`: 語の前に `-` を付けると、その語を含むものを除きます",
        "    - `\"電子カルテ システム\"`: 引用符で囲んだ語句をそのままの並びで含むもの",
        "- 検索はサイトを HTTP で開いたときに動きます（ファイルを直接開いたときは動きません）。手元では "
        "`guideline-kb serve` を実行し、ブラウザで <http://127.0.0.1:8000/> を開きます。",
        "- 遵守事項の見出し（例: `ctrl-13-6`）の ID がアンカーです。見出しの下の「固定リンク」は、ブラウザで開けば"
        "その遵守事項の見出しに着くリンク（`r/ID/`）です。最新の版のものと、版を決めたもの（`6.0/r/ID/` のように版の番号から）"
        f'があります。例: <a href="{html.escape(permalink(example), quote=True)}">{md_escape(permalink(example))}</a>。'
        "未配置の遵守事項（`unplaced-…`）にも同じ形の固定リンクがあります。",
        "- コマンドラインでは `guideline-kb search バックアップ`、`guideline-kb show ctrl-13-6` で同じ内容を引けます。",
        "",
        "## このサイトについて { #about }",
        "",
        f"- 作成日: {built}（このサイトを作った日。`guideline-kb build` は元資料の読み取りとサイトの作成を続けて行うので、"
        "そのときは読み取った日でもあります）",
        f"- データの版: `{stamp}`（抽出結果 `extracted/` の内容から求めた値で、同じ元資料からは同じ値になります）",
        "- 読み取った元資料は OCR の結果を含みます。原文は必ず厚生労働省の公表資料で確かめてください。",
        "",
    ]
    return "\n".join(lines)


def _edition_home(edition: str, reqs: list[Requirement], report: dict, titles: dict[tuple[str, str], str],
                  unplaced: list[Unplaced], outline: list[dict]) -> str:
    lines = [f"# 第{edition}版 {{ #edition-{edition} }}", ""]
    lines += _edition_facts(edition, report, outline, len(unplaced), base="") + [""]
    for volume in VOLUMES:
        chapters = sorted({chapter_of(r.section) for r in reqs if r.volume == volume}, key=int)
        if not chapters:
            continue
        lines += [f"## {VOLUME_NAMES[volume]}（{sum(r.volume == volume for r in reqs)} 件） {{ #{volume} }}", ""]
        for chapter in chapters:
            in_chapter = [r for r in reqs if r.volume == volume and chapter_of(r.section) == chapter]
            label = md_escape(chapter_label(chapter, titles.get((volume, chapter), "")))
            lines.append(f"- [{label}]({volume}/{chapter}.md)（{len(in_chapter)} 件）")
            sections = _sections(in_chapter)
            if [section for section, _, _ in sections] != [chapter]:  # sections under the chapter: list them
                for section, title, count in sections:
                    lines.append(f"    - [{md_escape(section)} {md_escape(title)}]({volume}/{chapter}.md#{section_anchor(section)})（{count} 件）")
        lines.append("")
    from .export import download_links  # the files build_site writes into site/downloads/ after mkdocs

    lines += ["## ダウンロード { #downloads }", "",
              "この版の遵守事項・相関・未配置のファイルです（Excel のブックは対応状況・担当・備考（院内）の列つきの点検表）。", "",
              *download_links(edition, up="../", correlations=report["correlations"]), ""]
    not_placed = report.get("not_placed", {})
    lines += [
        "## 一覧 { #lists }", "",
        "- [各編間相関表](table.md)",
        f"- [未配置の遵守事項](unplaced.md)（{len(unplaced)} 件: 読めたが編・節・番号を決められず、ID を付けられなかったもの）",
        f"- [読み取れなかった箇所](report.md)（配置できなかった読み取り {not_placed.get('total', 0)} 件、"
        f"配置の判断 {len(report.get('placements', []))} 件、"
        f"そのほかの問題 {len(report.get('problems', []))} 件）",
        "- [OCR の訂正](corrections.md)",
        "",
    ]
    return "\n".join(lines)


def section_anchor(section: str) -> str:
    """The anchor of a section's heading on its chapter page.

    >>> section_anchor("1.3.2")
    'section-1.3.2'
    """
    return f"section-{section}"


def _sections(reqs: list[Requirement]) -> list[tuple[str, str, int]]:
    """The sections of some requirements in order: (section, its title, how many requirements)."""
    found: dict[str, list] = {}
    for req in sorted(reqs, key=lambda r: (section_key(r.section), r.item)):
        found.setdefault(req.section, [req.section_title, 0])[1] += 1
    return [(section, title, count) for section, (title, count) in found.items()]


CHAPTER_SWITCHER = "<!-- editions -->"  # where generate_docs puts the links to the other editions' pages


def _chapter(path: str, edition: str, volume: str, label: str, reqs: list[Requirement],
             corrs: list[Correlation], texts: dict[str, str], unplaced_ids: set[str],
             versions: dict[str, list[str]] | None = None, linked: dict | None = None, notes: dict | None = None) -> str:
    reqs = sorted(reqs, key=lambda r: (section_key(r.section), r.item))
    chapter = chapter_of(reqs[0].section)
    lines = [f"# {VOLUME_NAMES[volume]} {md_escape(label)} {{ #chapter-{chapter} }}", "",
             f"第{edition}版。見出しの ID は各遵守事項のアンカーです。見出しの下の「固定リンク」（最新の版）と"
             f"「第{edition}版の固定リンク」は、開けばその遵守事項の見出しに着く、共有できるリンクです。", "",
             CHAPTER_SWITCHER, ""]
    if notes is None:  # the edition's, computed once by generate_docs
        notes = {r.id: r.note_texts() for r in reqs}
    if linked is None:
        linked = related_map(corrs)
    versions = versions or {}
    section = None
    for req in reqs:
        if req.section != section:
            section = req.section
            lines += [f"## {md_escape(req.section)} {md_escape(req.section_title)} {{ #{section_anchor(req.section)} }}", ""]
        lines += [f"### {circled(req.item)} {req.id} {{ #{req.id} }}", "", permalink_links(path, req.id, edition), "",
                  html_block(req.text, "req-text"), ""]
        links = linked.get(req.id, {})
        if links:
            lines += ["相関する遵守事項:", ""]
            for other, ids in links.items():
                for other_id in ids:
                    lines.append(f"- {VOLUME_NAMES[other]} {rel_link(path, other_id, edition)} {md_escape(_excerpt(texts.get(other_id, '')))}")
            lines.append("")
        else:
            why = req.correlation_note or "相関表の行で他の編と並んでいません"
            lines += [f"相関する遵守事項: なし（{linked_text(why, path, edition, unplaced=unplaced_ids & set(unplaced_refs(why)))}）"
                      "\n{: .req-no-correlation }", ""]
        if notes.get(req.id):
            lines += [f'<p class="kb-notes">備考（第5.2版との対応）: {" / ".join(html.escape(n) for n in notes[req.id])}</p>', ""]
        for line in versions.get(req.id, []):  # its counterparts in the previous and next editions (sitediff)
            lines += [line + "\n{: .req-versions }", ""]
        if req.variants:
            lines += ["??? note \"別の読み取り\"", ""]
            for variant in req.variants:
                lines += ["    " + html_block(variant.text, "req-variant"), ""]
        sources = "、".join(html.escape(str(s)) for s in req.sources)
        placement = "".join(f"<br>{html.escape(note)}" for note in placement_notes(req))
        lines += [f'<p class="req-source">出典: {sources}{placement}</p>', ""]
    return "\n".join(lines)


def _table(path: str, edition: str, corrs: list[Correlation], texts: dict[str, str]) -> str:
    lines = [
        f"# 各編間相関表（第{edition}版） {{ #correlation-table }}",
        "",
        "表の 1 行が 1 つの対応です。同じ内容の行は 1 行にまとめています。",
        "",
        "| 経営管理編 | 企画管理編 | システム運用編 | 備考 | 出典 |",
        "|---|---|---|---|---|",
    ]
    for corr in corrs:
        cells = ["<br>".join(f"{rel_link(path, i, edition)} {md_escape(_excerpt(texts.get(i, ''), 24))}" for i in corr.members.get(v, []))
                 for v in VOLUMES]
        notes = "<br>".join(md_escape(n["text"]).replace("\n", "<br>") for n in corr.notes)
        sources = "<br>".join(md_escape(str(s)) for s in corr.sources)
        lines.append(f"| {' | '.join(cells)} | {notes} | {sources} |")
    lines.append("")
    return "\n".join(lines)


UNPLACED_MARK = "未配置"


def _unplaced(path: str, edition: str, unplaced: list[Unplaced], reqs: list[Requirement]) -> str:
    """The items read but not placed, by volume as far as known: each under its ``unplaced-…`` anchor,
    marked 「未配置」, with its full text, the reason, its source and the requirements of its row."""
    ids = {r.id for r in reqs}
    row = {u.id: u.row for u in unplaced}  # unplaced ID → placed requirements of its table row
    lines = [
        f"# 未配置の遵守事項（第{edition}版） {{ #unplaced-list }}",
        "",
        f"相関表で読めたものの、編・節・番号を決められず、遵守事項の ID を付けられなかったもの（{len(unplaced)} 件）です。"
        "本文は読み取ったままの全文です。見出しの `unplaced-…` は読み取った行（PDF ではページ）から付けた仮の ID で、"
        "配置できるようになると遵守事項の ID に替わります。理由ごとの件数は[読み取れなかった箇所](report.md)にあります。",
        "",
    ]
    if not unplaced:
        lines += ["この版には未配置の遵守事項はありません。", ""]
    groups = [(VOLUME_NAMES[v], v, [u for u in unplaced if u.volume == v]) for v in VOLUMES]
    groups.append(("編が分からないもの", "unknown", [u for u in unplaced if u.volume not in VOLUMES]))
    for heading, anchor, records in groups:
        if not records:
            continue
        lines += [f"## {heading}（{len(records)} 件） {{ #volume-{anchor} }}", ""]
        for record in records:
            where = [VOLUME_NAMES.get(record.volume or "", "編は不明")]
            where.append(f"{record.section} {record.section_title}".strip() if record.section else "節は不明")
            if record.item:
                where.append(f"番号 {circled(record.item)}（読み取りのまま）")
            lines += [
                f"### {UNPLACED_MARK} {record.id} {{ #{record.id} }}",
                "",
                permalink_links(path, record.id, edition),
                "",
                f'<p class="unplaced-where"><span class="unplaced-mark">{UNPLACED_MARK}</span> {html.escape("・".join(where))}</p>',
                "",
                html_block(record.text, "req-text"),
                "",
                f'<p class="unplaced-reason">配置できなかった理由: {html.escape(record.reason)}</p>',
                "",
            ]
            if row.get(record.id):
                lines += ["相関表で同じ行にある遵守事項: " + "、".join(rel_link(path, i, edition) for i in row[record.id] if i in ids), ""]
            if record.variants:
                lines += ["??? note \"別の読み取り\"", ""]
                for variant in record.variants:
                    lines += ["    " + html_block(variant.text, "req-variant"), ""]
            sources = "、".join(html.escape(str(s)) for s in record.sources)
            lines += [f'<p class="req-source">出典: {sources}</p>', ""]
    return "\n".join(lines)


def _where(source: dict) -> str:
    """A source of the report (a dict) as 「file:N行」 or 「file:Nページ」."""
    if source.get("page"):
        return f"{source['file']}:{source['page']}ページ"
    return f"{source['file']}:{source.get('line', '')}行"


def _cell(text: str) -> str:
    """Source text, whole, as a Markdown table cell."""
    return md_escape(text).replace("\n", "<br>")


_DECISIONS = {"placed": "配置した", "split": "別の遵守事項に分けた", "read-twice": "同じ遵守事項を二度読んだ", "override": "メンテナーの指定",
              "same-text-elsewhere": "同じ本文を別の節でも読んだ"}


def _decision_result(decision: dict, path: str, edition: str, ids: set[str], unplaced_ids: set[str]) -> str:
    """What a placement decision did, in a table cell: how it was placed, the ID it split off, the
    numbers or IDs it was also read as."""
    def ref(value) -> str:
        value = str(value)
        return linked_text(value, path, edition, requirements=ids & {value}, unplaced=unplaced_ids & {value})

    parts = []
    if decision.get("how"):
        parts.append(md_escape(PLACEMENTS.get(decision["how"], decision["how"])))
    if decision.get("to"):
        parts.append("→ " + ("未配置" if decision["to"] == "unplaced" else ref(decision["to"])))
    if decision.get("read_as"):
        read_as = decision["read_as"] if isinstance(decision["read_as"], list) else [decision["read_as"]]
        parts.append("読み取り: " + "、".join(md_escape(str(r)) for r in read_as))
    return "<br>".join(parts)


def _report(path: str, report: dict, ids: set[str], unplaced_ids: set[str]) -> str:
    """The run report of one edition: the items not placed (full text), every placement decision
    other than 「read as written」 with its reason and source, and what else could not be read."""
    edition = report["edition"]
    not_placed = report["not_placed"]
    unplaced = report.get("unplaced", [])
    placements = report.get("placements", [])
    lines = [
        f"# 読み取れなかった箇所（第{edition}版） {{ #report }}",
        "",
        f"読んだ行: {report['lines_read']}、表の行: {report['rows_read']}、遵守事項: {report['requirements']['total']}、"
        f"配置できなかった読み取り: {not_placed['total']}（未配置の遵守事項 {len(unplaced)} 件）",
        "",
        f"## 配置できなかった遵守事項（{len(unplaced)} 件） {{ #unplaced }}",
        "",
        "本文は読み取ったままの全文です。それぞれ[未配置の遵守事項](unplaced.md)のページにもあり、検索で見つかります。",
        "",
    ]
    if not_placed.get("by_code"):
        lines += ["、".join(f"{md_escape(v['reason'])}: {v['count']}" for v in not_placed["by_code"].values()), ""]
    if unplaced:
        lines += ["| ID | 出典 | 編 | 節 | 番号 | 理由 | 本文 |", "|---|---|---|---|---|---|---|"]
        for u in unplaced:
            sources = "<br>".join(md_escape(_where(src)) for src in u["sources"])
            link = unplaced_link(path, u["id"], edition) if u["id"] in unplaced_ids else md_escape(u["id"])
            section = md_escape(f"{u['section']} {u.get('section_title') or ''}".strip()) if u.get("section") else ""
            lines.append(f"| {link} | {sources} | {VOLUME_NAMES.get(u.get('volume') or '', '')} | {section} "
                         f"| {circled(u['item']) if u.get('item') else ''} | {_cell(u['reason'])} | {_cell(u['text'])} |")
        lines.append("")
    lines += [
        f"## 配置の判断（{len(placements)} 件） {{ #placements }}",
        "",
        "記載箇所と番号をそのまま読んだもの以外の判断です: 前後の並びや同じ本文から配置したもの、一つの ID の別の本文を"
        "分けたもの（番号の振り直しを含む）、同じ遵守事項を二度読んだもの、メンテナーの指定（`placements.tsv`）。",
        "",
    ]
    if placements:
        lines += ["| 判断 | 遵守事項 | 結果 | 理由 | 出典 |", "|---|---|---|---|---|"]
        for d in placements:
            kind = md_escape(_DECISIONS.get(d.get("kind", ""), d.get("kind", "")))
            target = linked_text(d["id"], path, edition, requirements=ids & {d["id"]}) if d.get("id") else ""
            sources = "<br>".join(md_escape(str(src)) for src in d.get("sources", []))
            reason = linked_text(d.get("reason", ""), path, edition, requirements=ids).replace("\n", "<br>")
            lines.append(f"| {kind} | {target} | {_decision_result(d, path, edition, ids, unplaced_ids)} | {reason} | {sources} |")
        lines.append("")
    problems = report.get("problems", [])
    lines += [f"## そのほかの読み取りの問題（{len(problems)} 件） {{ #problems }}", "",
              "遵守事項ではなかったもの（番号付きの見出しなど）と、知らせておくこと（見出しの編名・節番号の読み直し）です。", ""]
    if problems:
        lines += ["| 出典 | 編 | 番号 | 理由 | 本文 |", "|---|---|---|---|---|"]
        for problem in problems:
            lines.append(
                f"| {md_escape(_where(problem['source']))} | {VOLUME_NAMES.get(problem.get('volume') or '', '')} "
                f"| {problem.get('item', '')} | {_cell(problem['reason'])} | {_cell(problem.get('text', ''))} |"
            )
        lines.append("")
    return "\n".join(lines)


_STATUS = {"applied": "直した", "accepted": "直した（メンテナーが採用）", "added": "直した（メンテナーが追加）",
           "rejected": "直さない（メンテナーが却下）", "proposed": "提案だけ（確信度が低い）", "reported": "報告だけ"}


def _corrections(path: str, edition: str, folder: Path, ids: set[str]) -> str:
    """The review trail of ``corrections.tsv`` as a page: what was changed, proposed or reported, and why."""
    with (folder / CORRECTIONS).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    counts = Counter(r["status"] for r in rows)
    lines = [
        f"# OCR の訂正（第{edition}版） {{ #corrections }}",
        "",
        "本文（`text`）に対する訂正の記録です。元の読み（`raw_text`）はそのまま残ります。直すか直さないかは "
        f"`raw/{edition}/corrections.tsv` で変えられます（README の「訂正のレビュー」）。",
        "",
        "、".join(f"{_STATUS[s]} {n} 件" for s, n in sorted(counts.items())),
        "",
        "| 遵守事項 | 前 | 後 | 段階 | 確信度 | 根拠 | 状態 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        where = rel_link(path, r["id"], edition) if r["id"] in ids else md_escape(r["id"])
        cells = [md_escape(r[k]).replace("\n", " ") for k in ("before", "after", "step", "confidence", "evidence")]
        lines.append(f"| {where} | {' | '.join(cells)} | {_STATUS.get(r['status'], md_escape(r['status']))} |")
    lines.append("")
    return "\n".join(lines)




_CSS = """
.req-text { margin: 0 0 .6em 0; line-height: 1.8; }
.req-variant { color: var(--md-default-fg-color--light); }
.req-source { font-size: .7rem; color: var(--md-default-fg-color--light); }
.req-no-correlation { font-size: .75rem; color: var(--md-default-fg-color--light); }
.unplaced-mark { display: inline-block; padding: 0 .5em; border-radius: .2em; font-weight: bold;
  color: var(--md-warning-fg-color, #000); background: var(--md-warning-bg-color, #ff9); border: 1px solid #c90; }
.unplaced-where, .unplaced-reason { margin: .3em 0; }
.req-permalink { margin: -.6em 0 .4em 0; font-size: .7rem; }
/* The requirement (or unplaced item, or section) a URL lands on: #gov-1.3.2-1, from a permalink. */
.md-typeset h2:target, .md-typeset h3:target { border-left: .3rem solid var(--md-accent-fg-color, #526cfe);
  background: var(--md-accent-fg-color--transparent, rgba(82, 108, 254, .1)); padding-left: .5rem; }
.md-typeset .req-landed { background: var(--md-accent-fg-color--transparent, rgba(82, 108, 254, .1)); }
"""


# ---------------------------------------------------------------------------------------------
# After mkdocs: a Content-Security-Policy in every page, and search previews that stay text.

# Where scripts, styles, images (the theme's icons are data: URLs in its CSS), fonts, the search
# worker and its index may come from: the site itself, nothing from outside. Inline scripts only by
# hash (``theme_inline_scripts``): an inline <script> or an on…= attribute in content never runs.
_POLICY = ("default-src 'self'", "script-src 'self' {hashes}", "style-src 'self'", "img-src 'self' data:",
           "font-src 'self'", "connect-src 'self'", "worker-src 'self'", "object-src 'none'", "base-uri 'self'",
           "form-action 'self'")
_TEMPLATE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_TEMPLATE_VALUE = re.compile(r"\{\{.*?\}\}")
_PAGE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
_SCRIPT_SRC = re.compile(r"\bsrc\s*=", re.I)
_CHARSET_META = re.compile(r"<meta charset=[^>]*>", re.I)


def page_base_url(rel_path: str) -> str:
    """mkdocs' ``base_url`` of a built page (``use_directory_urls: false``): the way back to the
    site's root. The error page is served at any path, so its links start at the root.

    >>> [page_base_url(p) for p in ("index.html", "6.0/index.html", "6.0/gov/2.html", "404.html")]
    ['.', '..', '../..', '/']
    """
    if rel_path == "404.html":
        return "/"
    return "/".join([".."] * rel_path.count("/")) or "."


@functools.lru_cache(maxsize=None)
def theme_inline_scripts(base_url: str) -> tuple[str, ...]:
    """The inline scripts that mkdocs-material's own templates (``partials/javascripts/*.html``) write
    into a page with this ``base_url``, the only template value in them. Read from the installed
    theme, never from a built page: what a page's content holds cannot add to them."""
    from material import templates

    scripts = []
    for template in sorted((Path(templates.__file__).parent / "partials" / "javascripts").glob("*.html")):
        for body in _TEMPLATE_SCRIPT.findall(template.read_text(encoding="utf-8")):
            scripts.append(_TEMPLATE_VALUE.sub(lambda _: base_url, body))
    return tuple(scripts)


def script_hash(script: str) -> str:
    """A CSP source expression allowing exactly this inline script.

    >>> script_hash("alert(1)")
    "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
    """
    import base64
    import hashlib

    return f"'sha256-{base64.b64encode(hashlib.sha256(script.encode('utf-8')).digest()).decode('ascii')}'"


def content_security_policy(rel_path: str) -> str:
    """The policy of one built page: the site's own files, and the theme's inline scripts for its place."""
    hashes = sorted({script_hash(s) for s in theme_inline_scripts(page_base_url(rel_path))})
    return "; ".join(_POLICY).format(hashes=" ".join(hashes))


def with_policy(page: str, policy: str) -> str:
    """A page with the policy as a <meta> right after <meta charset> (it covers only what follows it),
    replacing one already there.

    >>> with_policy('<head><meta charset="utf-8"><title>x</title>', "default-src 'self'")
    '<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src \\'self\\'"><title>x</title>'
    """
    page = _without_policy(page)
    content = html.escape(policy, quote=False).replace('"', "&quot;")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{content}">'
    charset = _CHARSET_META.search(page)
    at = charset.end() if charset else page.find("<head>") + len("<head>") if "<head>" in page else 0
    return page[:at] + meta + page[at:]


def _without_policy(page: str) -> str:
    r"""A page without its policy <meta> (and the space before it): a plain search, not a pattern
    starting with ``\s*``, which the regular expression engine tries at every character.

    >>> _without_policy('<head>\n  <meta http-equiv="Content-Security-Policy" content="x"><title>')
    '<head><title>'
    """
    at = page.find(_CSP_START)
    while at >= 0:
        end = page.find(">", at)
        if end < 0:
            break
        start = at
        while start and page[start - 1].isspace():
            start -= 1
        page = page[:start] + page[end + 1:]
        at = page.find(_CSP_START, start)
    return page


_CSP_START = '<meta http-equiv="Content-Security-Policy"'


def blocked_scripts(page: str, policy: str) -> list[str]:
    """The inline scripts of a page that the policy does not let run (JSON data blocks are not scripts).

    >>> blocked_scripts('<script>alert(1)</script><script src="a.js"></script><script type="application/json">{}</script>',
    ...                 "script-src 'self'")
    ['alert(1)']
    """
    return [body for attrs, body in _PAGE_SCRIPT.findall(page)
            if not _SCRIPT_SRC.search(attrs) and "application/json" not in attrs and script_hash(body) not in policy]


# mkdocs-material keeps these tags (without attributes) in its search index and shows a result's
# title and text as HTML; anything else that looks like a tag is shown as text.
_PREVIEW_TAG = re.compile(r"(</?(?:p|code|pre|li|ol|ul|sub|sup)>)")


def literal_preview(text: str) -> str:
    """A search-index title or text that the theme's innerHTML shows as text: the theme's own
    attribute-less tags stay, every other < and > becomes an entity (entities stay as they are).

    >>> literal_preview('<p>窓口<img src=x onerror=alert(1)> &lt;b&gt; &amp;</p>')
    '<p>窓口&lt;img src=x onerror=alert(1)&gt; &lt;b&gt; &amp;</p>'
    """
    parts = _PREVIEW_TAG.split(text)
    return "".join(part if i % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for i, part in enumerate(parts))


def harden_site(site_dir: Path, *, only: set[str] | None = None) -> dict[str, int]:
    """Give every built page (or those in ``only``, site paths: the others have theirs) its
    Content-Security-Policy <meta> and make the search previews literal. Returns page → number of
    inline scripts the policy blocks there (none when every source string was escaped); those are also logged."""
    blocked = {}
    pages = (sorted(site_dir.rglob("*.html")) if only is None
             else [site_dir / page for page in sorted(only) if page.endswith(".html") and (site_dir / page).is_file()])
    for path in pages:
        rel_path = path.relative_to(site_dir).as_posix()
        policy = content_security_policy(rel_path)
        page = path.read_text(encoding="utf-8")
        path.write_text(with_policy(page, policy), encoding="utf-8")
        if scripts := blocked_scripts(page, policy):
            blocked[rel_path] = len(scripts)
            logging.getLogger(__name__).warning("%s: Content-Security-Policy が止めるインラインスクリプト %d 個",
                                                rel_path, len(scripts))
    index_path = site_dir / "search" / "search_index.json"
    if index_path.exists():
        index = json.loads(index_path.read_text(encoding="utf-8"))
        for doc in index["docs"]:
            for field in ("title", "text"):
                if field in doc:
                    doc[field] = literal_preview(doc[field])
        index_path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return blocked


class _CollectWarnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def build_site(out_dir: Path, site_dir: Path, *, config: Path, previous: Path | None = None) -> list[str] | None:
    """Generate the pages and build them with mkdocs (strict) into ``site_dir``, a new empty folder
    that the caller swaps into place (``commit``); the Markdown goes to a sibling folder, removed after.

    What does not come from mkdocs (search data, permalink stubs, downloads: ``build_beside``) is
    made by another Python process, started before the pages are generated, into a second sibling
    folder, and moved in after.

    With ``previous`` (the last site, made by the same code and mkdocs.yml), where the navigation is
    the same, only the pages whose Markdown changed are rendered and only the changed editions'
    downloads made; the rest is taken from it (``siteupdate``). Returns the pages rendered (Markdown
    paths) then, else None (the site was built whole)."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException
    from mkdocs.structure.files import get_files

    if not config.is_file():
        raise SiteError(f"{config}: mkdocs の設定ファイルがありません（--config で mkdocs.yml を指定してください）")
    handler = _CollectWarnings()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    quiet = _DirtyBuildNotice()
    logging.getLogger("mkdocs.commands.build").addFilter(quiet)
    docs = site_dir.with_name(site_dir.name + ".docs")
    beside = site_dir.with_name(site_dir.name + ".beside")
    side = None
    try:
        for folder in (docs, beside):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        last = read_record(previous) if previous is not None else None
        last_index = previous / "search" / "search_index.json" if previous is not None else None
        editions = edition_digests(out_dir)
        may_update = last is not None and last_index.is_file()
        # the search data, permalinks and downloads (of the editions changed, if the last site is updated) are
        # made from here on by another process, while the pages are generated and built
        side = Beside(out_dir, beside, downloads=changed_editions(last.editions, editions) if may_update else None)
        nav = generate_docs(out_dir, docs)
        record = make_record(docs, nav, editions)
        update = may_update and last.nav == record.nav
        if may_update and not update:  # the navigation changed: the site is built whole, with every edition's downloads
            side.stop()
            shutil.rmtree(beside, ignore_errors=True)
            beside.mkdir(parents=True)
            side = Beside(out_dir, beside)
        if update:
            start_from(previous, site_dir, docs, last, record)
            pages = to_render(site_dir, last, record)
        try:
            cfg = load_config(str(config), docs_dir=str(docs), site_dir=str(site_dir), nav=nav, strict=True)
            cfg.theme.dirs.insert(0, str(OVERRIDES))  # the search scripts before the theme's bundle
        except (MkDocsException, SystemExit) as exc:
            detail = handler.messages[-1] if handler.messages else str(exc)
            raise SiteError(f"{config}: mkdocs の設定が読めません: {detail}") from None
        links = cfg.plugins["guideline-kb/links"] = LinkRecord(last if update else None)
        rendered = {html_path(page) for page in pages} | set(cfg.theme.static_templates) if update else None
        try:
            mkdocs_build(cfg, dirty=update)
        except (MkDocsException, SystemExit) as exc:
            detail = handler.messages[-1] if handler.messages else str(exc)
            raise SiteError(f"{site_dir}: サイトを作れませんでした: {detail}") from None
        index = site_dir / "search" / "search_index.json"
        add_search_terms(index)
        if update:
            merge_search_index(index, last_index, [f.url for f in get_files(cfg).documentation_pages()], rendered)
        harden_site(site_dir, only=rendered)
        permalinks = side.result()
        check_permalinks(site_dir, permalinks)
        record = links.into(with_beside(record, beside))
        move_into(beside, site_dir)
        write_record(site_dir, record)
    finally:
        if side is not None:  # before its folder is removed
            side.stop()
        logger.removeHandler(handler)
        logging.getLogger("mkdocs.commands.build").removeFilter(quiet)
        shutil.rmtree(docs, ignore_errors=True)
        shutil.rmtree(beside, ignore_errors=True)
    return pages if update else None


class _DirtyBuildNotice(logging.Filter):
    """mkdocs warns that a dirty build may leave links stale, which strict mode counts as a failure:
    ``build_site`` updates only where the navigation, and so every link, is as in the last build."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


def build_beside(out_dir: Path, folder: Path, downloads: list[str] | None = None) -> dict[str, str]:
    """What the site has besides mkdocs's pages, into ``folder`` (laid out as the site): the search
    data, the permalink stubs (with their Content-Security-Policy) and the downloads of every edition
    (or of those in ``downloads``) into ``site/downloads/<edition>/`` (what the ダウンロード lists
    link). Returns stub → the page it leads to."""
    from .export import write_downloads

    write_search_data(out_dir, folder)
    permalinks = write_permalinks(out_dir, folder)
    write_downloads(out_dir, folder, editions=downloads)
    harden_site(folder)
    return permalinks


def _beside_main(argv: list[str]) -> int:
    """``python -m pipeline.site OUT FOLDER [--downloads EDITION …]``: ``build_beside`` (with
    ``--downloads``, the downloads of those editions only); stub → page into FOLDER/.permalinks.json.
    A failure is one line on stderr (what ``Beside.result`` raises), exit 2."""
    from .errors import GuidelineKBError

    out_dir, folder = Path(argv[0]), Path(argv[1])
    downloads = argv[3:] if argv[2:3] == ["--downloads"] else None
    try:
        permalinks = build_beside(out_dir, folder, downloads)
    except GuidelineKBError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(describe_os_error(exc, folder), file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug: still one line for the build to report
        print(f"{out_dir}: 検索データ・固定リンク・ダウンロードを作れませんでした（{type(exc).__name__}: {exc}）。"
              "もう一度実行し、続くときは報告してください", file=sys.stderr)
        return 2
    (folder / BESIDE_RESULT).write_text(json.dumps(permalinks, ensure_ascii=False), encoding="utf-8")
    return 0


class Beside:
    """``build_beside`` in a child Python process (``python -m pipeline.site OUT FOLDER``), started at
    once; ``result()`` waits for it. A child, not a thread: its work (openpyxl, JSON) holds the GIL."""

    def __init__(self, out_dir: Path, folder: Path, downloads: list[str] | None = None):
        import os
        import subprocess

        self.folder = folder
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        only = [] if downloads is None else ["--downloads", *downloads]
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline.site", str(out_dir), str(folder), *only], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def result(self) -> dict[str, str]:
        """Stub → page of the permalinks written; the child's own one-line error as a ``SiteError``."""
        _, err = self.proc.communicate()
        if self.proc.returncode != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise SiteError(lines[-1] if lines else f"{self.folder}: 検索データ・固定リンク・ダウンロードを作る子プロセスが止まりました"
                                                    f"（終了コード {self.proc.returncode}。もう一度実行してください）")
        marker = self.folder / BESIDE_RESULT
        permalinks = json.loads(marker.read_text(encoding="utf-8"))
        marker.unlink()
        return permalinks

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


BESIDE_RESULT = ".permalinks.json"


def move_into(source: Path, target: Path) -> None:
    """Move every file of ``source`` to the same place under ``target``: a folder that ``target`` does
    not have goes over whole, in one rename.

    Before: source/{r/a.html, search/kb.json}, target/search/x.json → after: target/{r/a.html, search/kb.json, search/x.json}.
    """
    for entry in sorted(source.iterdir()):
        there = target / entry.name
        if entry.is_dir() and there.is_dir():
            move_into(entry, there)
        else:
            entry.replace(there)


if __name__ == "__main__":
    sys.exit(_beside_main(sys.argv[1:]))
