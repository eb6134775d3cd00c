"""Editions on the site: a 新旧対照表 page per pair of consecutive editions, and on every requirement
a line saying in which other editions it is and how it changed there.

Pages are Markdown for mkdocs; every source text is escaped (``html.escape``), the changes marked
with ``<del>`` and ``<ins>``.
"""

from __future__ import annotations

import html
from pathlib import Path

from .diff import KIND_NAMES, EditionDiff, compare
from .model import VOLUME_NAMES, Correlation, Requirement, section_key
from .query import fold


def diff_path(old: str, new: str) -> str:
    """The page (under docs/) of the changes from ``old`` to ``new``.

    >>> diff_path("6.0", "6.1")
    '6.1/changes-from-6.0.md'
    """
    return f"{new}/changes-from-{old}.md"


def edition_diffs(by_edition: dict[str, list[Requirement]], corrs: dict[str, list[Correlation]],
                  sections: dict[str, list[dict]]) -> dict[tuple[str, str], EditionDiff]:
    """Each pair of consecutive editions (oldest first) → what changed. Each edition's texts are folded
    once, for both the diffs it is in."""
    editions = sorted(by_edition, key=section_key)
    folded = {edition: {r.text: fold(r.text) for r in by_edition[edition]} for edition in editions}
    return {(old, new): compare(by_edition[old], by_edition[new], corrs.get(old, []), corrs.get(new, []),
                                sections.get(old, []), sections.get(new, []), old=old, new=new, folded={**folded[old], **folded[new]})
            for old, new in zip(editions, editions[1:])}


def _anchor(from_page: str, edition: str, req_id: str) -> str:
    volume, section, _ = req_id.split("-")
    return f"{'../' * from_page.count('/')}{edition}/{volume}/{section.split('.')[0]}.md#{req_id}"


def _link(from_page: str, edition: str, req_id: str | None) -> str:
    return f"[{req_id}]({_anchor(from_page, edition, req_id)})" if req_id else "—"


def _marked(ops: list[tuple[str, str]], side: str) -> str:
    out = []
    for op, text in ops:
        text = html.escape(text).replace("\n", "<br>")
        if op == "=":
            out.append(text)
        elif op == "-" and side == "old":
            out.append(f"<del>{text}</del>")
        elif op == "+" and side == "new":
            out.append(f"<ins>{text}</ins>")
    return "".join(out)


def _cell(text: str) -> str:
    return html.escape(text).replace("\n", "<br>").replace("|", "&#124;")


def diff_page(result: EditionDiff) -> str:
    """The 新旧対照表 of two editions: every requirement that changed, old and new side by side."""
    path = diff_path(result.old, result.new)
    counts = result.counts()
    lines = [f"# 第{result.old}版から第{result.new}版への変更（新旧対照表） {{ #changes }}", "",
             "遵守事項は ID ではなく本文の近さと位置で対応づけています（`guideline-kb diff "
             f"{result.old} {result.new}`）。削除は <del>取り消し線</del>、追加は <ins>下線</ins> です。", "",
             "- 遵守事項: " + "、".join(f"{KIND_NAMES[k]} {n}" for k, n in counts.items()),
             f"- 節の見出しの変更・追加・削除: {len(result.sections)}、相関の追加・削除: {len(result.links)}、備考の変更: {len(result.notes)}",
             "", "## 遵守事項 { #requirements }", ""]
    shown = [c for c in result.requirements if c.kind != "unchanged"]
    if shown:
        lines += [f"| 種類 | 第{result.old}版 | 第{result.new}版 |", "|---|---|---|"]
        for c in shown:
            kind = KIND_NAMES[c.kind] + ("（本文も変更）" if c.kind in ("renumbered", "moved") and c.text_changed else "")
            old = f"{_link(path, result.old, c.old_id)}<br>" + (_marked(c.diff, "old") if c.text_changed else _cell(c.old_text)) if c.old_id else "—"
            new = f"{_link(path, result.new, c.new_id)}<br>" + (_marked(c.diff, "new") if c.text_changed else _cell(c.new_text)) if c.new_id else "—"
            lines.append(f'| <span id="change-{html.escape(c.new_id or c.old_id)}">{kind}</span> | {old} | {new} |')
    else:
        lines.append("変わった遵守事項はありません。")
    lines += ["", "## 節の見出し { #sections }", ""]
    if result.sections:
        lines += ["| 種類 | 編 | 節 | 旧 | 新 |", "|---|---|---|---|---|"]
        names = {"renamed": "見出しの変更", "added": "追加", "removed": "削除"}
        lines += [f"| {names[s.kind]} | {VOLUME_NAMES[s.volume]} | {_cell(s.section)} | {_cell(s.old_title) or '—'} | {_cell(s.new_title) or '—'} |"
                  for s in result.sections]
    else:
        lines.append("変わった見出しはありません。")
    lines += ["", "## 相関 { #correlations }", ""]
    if result.links:
        lines += ["| 種類 | 遵守事項 | 遵守事項 |", "|---|---|---|"]
        for link in result.links:
            edition = result.new if link.kind == "added" else result.old
            lines.append(f"| {'追加' if link.kind == 'added' else '削除'}（第{edition}版） | {_link(path, edition, link.ids[0])} "
                         f"| {_link(path, edition, link.ids[1])} |")
    else:
        lines.append("変わった相関はありません。")
    lines += ["", "## 備考 { #notes }", ""]
    if result.notes:
        lines += [f"| 遵守事項 | 第{result.old}版の備考 | 第{result.new}版の備考 |", "|---|---|---|"]
        lines += [f"| {_link(path, result.new, n.new_id)} | {_cell(' / '.join(n.old_notes)) or '—'} | {_cell(' / '.join(n.new_notes)) or '—'} |"
                  for n in result.notes]
    else:
        lines.append("変わった備考はありません。")
    return "\n".join(lines) + "\n"


def version_lines(diffs: dict[tuple[str, str], EditionDiff]) -> dict[tuple[str, str], list[str]]:
    """(edition, ID) → Markdown lines (for the requirement's block on its chapter page) naming its
    counterpart in the previous and the next edition and how it changed, linking both and the 新旧対照表."""
    lines: dict[tuple[str, str], list[str]] = {}
    for (old, new), result in diffs.items():
        table = diff_path(old, new)
        for c in result.requirements:
            if c.new_id:
                page = f"{new}/volume/chapter.md"  # linked from a chapter page
                where = f"[新旧対照表]({'../' * page.count('/')}{table}#change-{c.new_id})"
                text = (f"第{old}版では {_link(page, old, c.old_id)}（{KIND_NAMES[c.kind]}{'、' + where if c.kind != 'unchanged' else ''}）"
                        if c.old_id else f"第{new}版で追加（第{old}版にはない。{where}）")
                lines.setdefault((new, c.new_id), []).append(text)
            if c.old_id:
                page = f"{old}/volume/chapter.md"
                where = f"[新旧対照表]({'../' * page.count('/')}{table}#change-{c.new_id or c.old_id})"
                text = (f"第{new}版では {_link(page, new, c.new_id)}（{KIND_NAMES[c.kind]}{'、' + where if c.kind != 'unchanged' else ''}）"
                        if c.new_id else f"第{new}版で削除（{where}）")
                lines.setdefault((old, c.old_id), []).append(text)
    return lines


SWITCHER_ALL = 9  # up to this many editions, the switcher names every one


def switcher(path: str, edition: str, pages: set[str], editions: list[str]) -> str:
    """A line of links to the same page in the other editions (``editions``, oldest first; their home
    where they have no such page). With more than ``SWITCHER_ALL`` editions, the line names the
    oldest, the newest and the two on either side of this one, and the home page lists them all:
    a page's size does not grow with the number of editions.

    >>> switcher("6.1/ctrl/13.md", "6.1", {"6.0/ctrl/13.md", "6.0/index.md", "6.1/ctrl/13.md", "6.1/index.md"}, ["6.0", "6.1"])
    '版: [第6.0版](../../6.0/ctrl/13.md) | **第6.1版**'
    >>> switcher("1.5/gov/1.md", "1.5", set(), [f"1.{n}" for n in range(12)]).replace("../../", "")  # doctest: +NORMALIZE_WHITESPACE
    '版: [第1.0版](1.0/index.md) | … | [第1.3版](1.3/index.md) | [第1.4版](1.4/index.md) | **第1.5版** | [第1.6版](1.6/index.md) |
     [第1.7版](1.7/index.md) | … | [第1.11版](1.11/index.md) | [すべての版](index.md#editions)'
    """
    rest = path.split("/", 1)[1]
    up = "../" * path.count("/")
    here = editions.index(edition)
    shown = range(len(editions))
    if len(editions) > SWITCHER_ALL:
        shown = sorted({0, len(editions) - 1, *range(max(0, here - 2), min(len(editions), here + 3))})
    links, last = [], -1
    for n in shown:
        if n > last + 1:
            links.append("…")
        last = n
        other = editions[n]
        if other == edition:
            links.append(f"**第{other}版**")
        else:
            target = f"{other}/{rest}" if f"{other}/{rest}" in pages else f"{other}/index.md"
            links.append(f"[第{other}版]({up}{target})")
    if len(editions) > SWITCHER_ALL:
        links.append(f"[すべての版]({up}index.md#editions)")
    return "版: " + " | ".join(links)


def load_sections(folder: Path) -> list[dict]:
    from .store import SECTIONS, read_jsonl

    return read_jsonl(folder / SECTIONS) if (folder / SECTIONS).exists() else []
