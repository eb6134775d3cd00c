"""Score search on the relevance sets and time it, on the real sample and on a 100× corpus.

    python bench/bench_search.py [--show] [--scale 100] [--site]

Prints recall@10 and MRR of ``guideline-kb search`` on each set of tests/relevance/ (a query counts
as found when any of its expected requirements is in the first ten); with ``--site``, the same
queries typed into the built site's search box in Chromium: how often an expected requirement is in
its top 5, and how often its top 5 is the command line's top 5 (same IDs, same order). Then: index
build seconds, warm query p50/p99 ms, and the seconds of a cold ``guideline-kb search`` process,
at 1× and at ``--scale``× (synthetic editions copied from the real one). Figures are for one
machine, not assertions.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.build import build, extract  # noqa: E402
from pipeline.index import Searcher, build_index  # noqa: E402
from pipeline.store import load_requirements  # noqa: E402

QUERIES = REPO / "tests" / "relevance" / "queries.tsv"
# The relevance sets, kept apart: the first (written with the first index), the staff set (written
# blind; the synonyms were extended after its first run) and the held-out set (written blind later,
# never tuned on).
SETS = {"queries.tsv": "first set", "staff-queries.tsv": "staff set (tuned on)", "holdout-queries.tsv": "held-out set"}


def load_queries(path: Path = QUERIES) -> list[tuple[str, str, set[str]]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, kind, expected = line.split("\t")
            out.append((text, kind, set(expected.split())))
    return out


def evaluate(searcher: Searcher, queries, *, limit: int = 10) -> dict:
    found, reciprocal, misses = 0, 0.0, []
    for text, kind, expected in queries:
        ids = [h.id for h in searcher.search(text, limit=limit)]
        rank = next((n for n, i in enumerate(ids, 1) if i in expected), None)
        if rank:
            found += 1
            reciprocal += 1 / rank
        if rank != 1:
            misses.append((text, kind, rank, ids[:5]))
    return {"recall": found / len(queries), "mrr": reciprocal / len(queries), "misses": misses, "queries": len(queries)}


class SiteSearch:
    """The built site served on localhost, its search box typed into as a person would (Debian's
    chromium, driven by playwright); ``results`` gives the requirement IDs listed, in order."""

    CHROMIUM = "/usr/bin/chromium"

    def __init__(self, site_dir: Path):
        import functools
        import http.server
        import socketserver
        import threading

        from playwright.sync_api import sync_playwright

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.server = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_dir)))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=self.CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        self.page = self.browser.new_page()
        self.errors: list[str] = []
        self.console: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.goto(self.url + "index.html")
        self.page.wait_for_selector("input.md-search__input", state="attached")

    def state(self) -> tuple[str, list[str]]:
        meta = self.page.inner_text(".md-search-result__meta")
        links = self.page.eval_on_selector_all(".md-search-result__link", "els => els.map(e => e.getAttribute('href'))")
        return meta, links

    def links(self, query: str) -> tuple[str, list[str]]:
        """Type a query and return (the count line, the result links), once the answer stops changing."""
        box = self.page.locator("input.md-search__input")
        box.fill("")
        box.click()
        self.page.keyboard.press("End")
        self.page.wait_for_function("() => !document.querySelector('.md-search-result__link')", timeout=5000)
        empty = self.state()
        self.page.keyboard.type(query)
        self.page.keyboard.press("End")  # after Japanese input the search fires on a key press
        deadline = time.monotonic() + 6
        previous = None
        while time.monotonic() < deadline:  # wait for an answer to this query, then until it stops changing
            time.sleep(0.25)
            state = self.state()
            if state != empty and state == previous:
                break
            previous = state
        return previous or empty

    def results(self, query: str) -> list[str]:
        """The requirement and unplaced IDs the search lists for a query, in order (not other pages)."""
        return [link.split("#", 1)[1] for link in self.links(query)[1] if "?q=" in link and "#" in link]

    def close(self):
        self.browser.close()
        self.playwright.stop()
        self.server.shutdown()
        self.server.server_close()


def site_agreement(searcher: Searcher, site: SiteSearch, queries, *, top: int = 5) -> dict:
    """On the site: how often an expected requirement is in the first ``top``, and how often those
    are the command line's first ``top``, in the same order."""
    found, same, first, misses = 0, 0, 0, []
    for text, _, expected in queries:
        shown = site.results(text)[:top]
        cli = [h.id for h in searcher.search(text, limit=top)]
        found += bool(expected & set(shown))
        same += shown == cli
        first += bool(shown) and bool(cli) and shown[0] == cli[0]
        if shown != cli or not expected & set(shown):
            misses.append((text, shown, cli))
    n = len(queries)
    return {"found": found / n, "same": same / n, "first": first / n, "misses": misses, "queries": n}


def timings(out_dir: Path, queries, *, repeat: int = 3) -> dict:
    shutil.rmtree(out_dir / "index", ignore_errors=True)
    start = time.perf_counter()
    build_index(load_requirements(out_dir), out_dir)
    index_seconds = time.perf_counter() - start
    times = []
    with Searcher(out_dir) as searcher:
        for text, _, _ in queries:  # warm up
            searcher.search(text)
        for _ in range(repeat):
            for text, _, _ in queries:
                t = time.perf_counter()
                searcher.search(text)
                times.append((time.perf_counter() - t) * 1000)
    times.sort()
    cold = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "--out", str(out_dir), "search", "バックアップ"], check=True, capture_output=True)
        cold.append(time.perf_counter() - t)
    return {"index": index_seconds, "p50": statistics.median(times), "p99": times[int(len(times) * 0.99) - 1], "cold": statistics.median(cold)}


def scaled(out_dir: Path, target: Path, factor: int) -> Path:
    """A corpus of ``factor`` editions: the real one and copies of it under other edition names."""
    from pipeline.store import write_edition

    reqs = load_requirements(out_dir)
    for n in range(1, factor):
        edition = f"6.0.{n}"
        write_edition(target / edition, [replace(r, edition=edition) for r in reqs], [], [], {"edition": edition})
    write_edition(target / "6.0", reqs, [], [], {"edition": "6.0"})
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list the queries whose first hit is not expected")
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--site", action="store_true", help="also type every query into the built site in Chromium")
    args = parser.parse_args()
    queries = load_queries()
    sets = {name: load_queries(REPO / "tests" / "relevance" / name) for name in SETS}
    with tempfile.TemporaryDirectory() as tmp:
        out, site_dir = Path(tmp) / "extracted", Path(tmp) / "site"
        if args.site:
            build(REPO / "raw", out, site_dir, REPO / "mkdocs.yml")
        else:
            extract(REPO / "raw", out, site_dir)  # with its index
        with Searcher(out) as searcher:
            for name, label in SETS.items():
                score = evaluate(searcher, sets[name])
                print(f"{label} ({name}, {score['queries']} queries): recall@10 {score['recall']:.3f}, MRR {score['mrr']:.3f}")
                if args.show:
                    for text, kind, rank, ids in score["misses"]:
                        print(f"  {text!r} ({kind}): rank {rank}, top {ids}")
            if args.site:
                site = SiteSearch(site_dir)
                try:
                    for name, label in SETS.items():
                        agree = site_agreement(searcher, site, sets[name])
                        print(f"site, {label} ({agree['queries']} queries): expected in top 5 {agree['found']:.3f}; "
                              f"top 5 = the command line's {agree['same']:.3f}; first result the same {agree['first']:.3f}")
                        if args.show:
                            for text, shown, cli in agree["misses"]:
                                print(f"  {text!r}: site {shown}, cli {cli}")
                finally:
                    site.close()
        for label, folder in (("1×", out), (f"{args.scale}×", scaled(out, Path(tmp) / "scaled", args.scale))):
            t = timings(folder, queries)
            docs = len(load_requirements(folder))
            print(f"{label:>5} ({docs} requirements): index {t['index']:.2f} s; warm query p50 {t['p50']:.2f} ms, "
                  f"p99 {t['p99']:.2f} ms; cold search process {t['cold']:.2f} s")


if __name__ == "__main__":
    main()
