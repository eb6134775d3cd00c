"""Updating the last site instead of building it whole, when only some pages' Markdown changed.

mkdocs has no partial build, but it has a "dirty" one: into a folder holding the last build, it renders
only the pages whose Markdown is newer than their HTML. ``site.build_site`` uses it when the last site
was made by the same code and mkdocs.yml (``build.build`` checks) and has the same navigation: a page
then shows nothing that changed but its own Markdown, so every other page would come out of a whole
build byte for byte as it is. The steps here:

- ``make_record``: each page's Markdown digest, the navigation's, each edition's data digest and the
  files made beside mkdocs (search data, permalink stubs); kept in the site as ``pages.json``.
- ``start_from``: the last site put into the new folder (the last site stays as it is until the commit:
  its pages are linked, never written into); the Markdown of the pages that did not change dated back,
  so mkdocs passes them by; the pages it renders again, and what is gone or made again, removed.
- ``merge_search_index``: the dirty build's search index holds only the pages it rendered; the other
  pages' entries come from the last site's index, in the order a whole build gives them.
- ``LinkRecord``: a dirty build checks the links to anchors only between the pages it renders; the
  pages it does not render are given their anchors and links from the last build (kept in the record),
  so mkdocs checks every link from and to a page it renders, and strict mode fails as in a whole build.

Before: site/ of editions 6.0 and 6.1; a requirement of 6.1 read otherwise → after: its chapter in 6.1
and in 6.0 (which shows how it changed), the two editions' overviews and their 新旧対照表, the home
page (it shows the data's stamp) and 6.1's downloads made again; the other pages taken as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from .export import DOWNLOADS_DIR
from .inputs import edition_hash
from .store import edition_folders

RECORD = "pages.json"


@dataclass(frozen=True)
class SiteRecord:
    """What a site was made from, page by page: ``pages`` Markdown path (under docs/) → digest; ``nav``
    the navigation's digest; ``editions`` edition → digest of its extracted files; ``beside`` the files
    made beside mkdocs other than downloads (site paths); ``anchors`` page → the anchors mkdocs found on
    it; ``links`` page → other page → anchor → the link as written (``LinkRecord``)."""

    nav: str
    pages: dict[str, str]
    editions: dict[str, str]
    beside: tuple[str, ...] = ()
    anchors: dict[str, list[str]] = field(default_factory=dict)
    links: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"nav": self.nav, "pages": dict(sorted(self.pages.items())), "editions": dict(sorted(self.editions.items())),
                "beside": sorted(self.beside), "anchors": {page: sorted(ids) for page, ids in sorted(self.anchors.items())},
                "links": {page: {target: dict(sorted(links.items())) for target, links in sorted(targets.items())}
                          for page, targets in sorted(self.links.items())}}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def html_path(markdown: str) -> str:
    """The page mkdocs makes of a Markdown file (``use_directory_urls: false``).

    >>> html_path("6.0/gov/1.md"), html_path("index.md")
    ('6.0/gov/1.html', 'index.html')
    """
    return markdown[: -len(".md")] + ".html"


def edition_digests(out_dir: Path) -> dict[str, str]:
    """Edition → the digest of its extracted files in ``out_dir``."""
    return {folder.name: edition_hash(folder) for folder in edition_folders(out_dir)}


def make_record(docs: Path, nav: list, editions: dict[str, str]) -> SiteRecord:
    """The record of the pages in ``docs``, the ``nav`` given to mkdocs and the editions' digests."""
    pages = {p.relative_to(docs).as_posix(): _digest(p.read_bytes()) for p in docs.rglob("*.md")}
    return SiteRecord(_digest(json.dumps(nav, ensure_ascii=False, sort_keys=True).encode()), pages, editions)


def with_beside(record: SiteRecord, beside: Path) -> SiteRecord:
    """``record`` with the files of ``beside`` (the folder made beside mkdocs), its downloads left out."""
    return replace(record, beside=tuple(sorted(path for path in _files(beside) if not path.startswith(DOWNLOADS_DIR + "/"))))


def _files(folder: Path) -> list[str]:
    """Every file under ``folder``, as a path relative to it (os.walk: a site has tens of thousands)."""
    found = []
    for root, _, names in os.walk(folder):
        here = Path(root).relative_to(folder).as_posix()
        found += [name if here == "." else f"{here}/{name}" for name in names]
    return found


def read_record(site_dir: Path) -> SiteRecord | None:
    try:
        raw = json.loads((site_dir / RECORD).read_text(encoding="utf-8"))
        return SiteRecord(raw["nav"], dict(raw["pages"]), dict(raw["editions"]), tuple(raw["beside"]), dict(raw["anchors"]),
                          dict(raw["links"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(site_dir: Path, record: SiteRecord) -> None:
    (site_dir / RECORD).write_text(json.dumps(record.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


class LinkRecord:
    """A mkdocs plugin (its events only, added to the config at build time) that notes, after the build,
    the anchors of every page and each page's links to other pages' anchors (``SiteRecord.anchors``,
    ``links``). Given the ``last`` build's record (an update), it first gives each page mkdocs will not
    render what the page had then: mkdocs then checks every link to an anchor from or to a page it
    renders, as a whole build does, where a dirty build alone checks only those between the pages it
    renders. (Between two pages it does not render, the links are those the last build checked.)

    Before: 6.1/mgmt/13.md not rendered, linking to 6.1/ctrl/13.md#ctrl-13-4; 6.1/ctrl/13.md rendered
    without that anchor → after: mkdocs warns of the link, and strict mode fails the build.
    """

    def __init__(self, last: SiteRecord | None = None):
        self.last = last
        self.anchors: dict[str, list[str]] = {}
        self.links: dict[str, dict[str, dict[str, str]]] = {}
        self._files = None

    def on_env(self, env, *, config, files):
        self._files = files
        if self.last is not None:
            for file in files.documentation_pages():
                if file.page is not None and not file.is_modified():  # what mkdocs's dirty build passes by
                    file.page.present_anchor_ids = set(self.last.anchors.get(file.src_uri, ()))
                    file.page.links_to_anchors = {target: dict(links) for uri, links in self.last.links.get(file.src_uri, {}).items()
                                                  if (target := files.get_file_from_path(uri)) is not None}
        return env

    def on_post_build(self, *, config):
        for file in self._files.documentation_pages():
            page = file.page
            if page is None or page.present_anchor_ids is None:
                continue
            self.anchors[file.src_uri] = sorted(page.present_anchor_ids)
            targets = {target.src_uri: dict(links) for target, links in (page.links_to_anchors or {}).items() if target is not file}
            if targets:
                self.links[file.src_uri] = targets

    def into(self, record: SiteRecord) -> SiteRecord:
        """``record`` with the anchors and links noted."""
        return replace(record, anchors=self.anchors, links=self.links)


def changed_pages(old: SiteRecord, new: SiteRecord) -> list[str]:
    """The Markdown pages of ``new`` that ``old`` did not have or had otherwise.

    >>> changed_pages(SiteRecord("n", {"a.md": "1", "b.md": "2"}, {}), SiteRecord("n", {"a.md": "1", "b.md": "3", "c.md": "4"}, {}))
    ['b.md', 'c.md']
    """
    return sorted(page for page, digest in new.pages.items() if old.pages.get(page) != digest)


def to_render(site_dir: Path, old: SiteRecord, new: SiteRecord) -> list[str]:
    """The Markdown pages mkdocs will render into ``site_dir`` after ``start_from``: the changed ones, and
    any other whose HTML the last site did not have."""
    changed = set(changed_pages(old, new))
    return sorted(page for page in new.pages if page in changed or not (site_dir / html_path(page)).is_file())


def changed_editions(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """The editions of ``new`` (edition → digest) that ``old`` did not have or had otherwise.

    >>> changed_editions({"6.0": "a", "6.1": "b"}, {"6.0": "a", "6.1": "c", "6.2": "d"})
    ['6.1', '6.2']
    """
    return sorted(name for name, digest in new.items() if old.get(name) != digest)


def start_from(previous: Path, site_dir: Path, docs: Path, old: SiteRecord, new: SiteRecord) -> None:
    """Make ``site_dir`` the last site (``previous``) ready for a dirty build of the pages in ``docs``:
    its files with their times, but those made beside mkdocs (made again); each unchanged page's
    Markdown dated back (mkdocs renders a page only if its Markdown is newer than its HTML); the pages
    rendered again or no longer made, and the downloads of the editions changed or gone, removed.

    The editions' pages and downloads (nearly all of the site) are hard links to the last site's files
    where the file system has them: nothing writes into those files in place, for the pages mkdocs
    renders again are removed here first (mkdocs then writes new files), and new downloads are moved
    in whole. Every other file is copied."""
    linked = {*old.editions, DOWNLOADS_DIR}
    made_beside = set(old.beside)  # made again: not copied, and a folder holding only such files not made
    elsewhere = {str(parent) for path in _files(previous) if path not in made_beside for parent in PurePosixPath(path).parents}

    def link_or_copy(source: str, target: str) -> None:
        if Path(source).relative_to(previous).parts[0] in linked:
            try:
                os.link(source, target)
                return
            except OSError:
                pass
        shutil.copy2(source, target)

    def made_again(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).relative_to(previous).as_posix()
        paths = {name: name if here == "." else f"{here}/{name}" for name in names}
        return {name for name, path in paths.items() if path in made_beside or (path not in elsewhere and (Path(folder) / name).is_dir())}

    shutil.copytree(previous, site_dir, dirs_exist_ok=True, copy_function=link_or_copy, ignore=made_again)
    for page, digest in new.pages.items():
        if old.pages.get(page) == digest:
            os.utime(docs / page, (0, 0))
        else:
            (site_dir / html_path(page)).unlink(missing_ok=True)
    for page in old.pages.keys() - new.pages.keys():
        (site_dir / html_path(page)).unlink(missing_ok=True)
    for edition in old.editions:
        if old.editions[edition] != new.editions.get(edition):
            shutil.rmtree(site_dir / DOWNLOADS_DIR / edition, ignore_errors=True)


def merge_search_index(index: Path, previous: Path, order: list[str], rendered: set[str]) -> None:
    """Complete the dirty build's search ``index`` (entries of the pages it ``rendered`` only) with the
    other pages' entries from the last site's index (``previous``); pages in ``order`` (page URLs in
    the order mkdocs builds them, which is the order of a whole build's index).

    Before: index = [b.html], previous = [a.html, a.html#x, b.html (old)], order = [a.html, b.html] →
    after: index = [a.html, a.html#x, b.html].
    """
    new = json.loads(index.read_text(encoding="utf-8"))
    old = json.loads(previous.read_text(encoding="utf-8"))

    def by_page(docs: list[dict]) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {}
        for doc in docs:
            grouped.setdefault(doc["location"].split("#", 1)[0], []).append(doc)
        return grouped

    made, kept = by_page(new["docs"]), by_page(old["docs"])
    new["docs"] = [doc for url in order for doc in (made.get(url, []) if url in rendered else kept.get(url, []))]
    index.write_text(json.dumps(new, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
