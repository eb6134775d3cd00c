"""Score search on the relevance set and time it, on the real sample and on a 100× corpus.

    python bench/bench_search.py [--show] [--scale 100]

Prints recall@10 and MRR over tests/relevance/queries.tsv (a query counts as found when any of
its expected requirements is in the first ten), then: index build seconds, warm query p50/p99 ms,
and the seconds of a cold ``guideline-kb search`` process, at 1× and at ``--scale``× (synthetic
editions copied from the real one). Figures are for one machine, not assertions.
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

from pipeline.build import extract  # noqa: E402
from pipeline.index import Searcher, build_index  # noqa: E402
from pipeline.store import load_requirements  # noqa: E402

QUERIES = REPO / "tests" / "relevance" / "queries.tsv"


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
    args = parser.parse_args()
    queries = load_queries()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "extracted"
        extract(REPO / "raw", out, Path(tmp) / "site")  # with its index
        with Searcher(out) as searcher:
            score = evaluate(searcher, queries)
        print(f"relevance ({score['queries']} queries): recall@10 {score['recall']:.3f}, MRR {score['mrr']:.3f}")
        if args.show:
            for text, kind, rank, ids in score["misses"]:
                print(f"  {text!r} ({kind}): rank {rank}, top {ids}")
        for label, folder in (("1×", out), (f"{args.scale}×", scaled(out, Path(tmp) / "scaled", args.scale))):
            t = timings(folder, queries)
            docs = len(load_requirements(folder))
            print(f"{label:>5} ({docs} requirements): index {t['index']:.2f} s; warm query p50 {t['p50']:.2f} ms, "
                  f"p99 {t['p99']:.2f} ms; cold search process {t['cold']:.2f} s")


if __name__ == "__main__":
    main()
