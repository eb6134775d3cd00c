"""Print build seconds per stage and search milliseconds per query, on the real sample.

    python bench/bench_build.py [--repeat 5]

Builds into a temporary folder (raw/ is only read). Figures vary with the machine's load:
they are for comparing runs on one machine, not assertions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.build import Timings, build  # noqa: E402
from pipeline.index import Searcher  # noqa: E402

QUERIES = ["バックアップ", "電子カルテ", "委託先", "TLS", "TLS1.3", "ユーザ", "アカウント", "バックアップ 世代",
           "重要なファイル", "経営層 報告", "リスク評価", "パスワード", "無線LAN", "保守 リモート", "外部保存"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out, site_dir = Path(tmp) / "extracted", Path(tmp) / "site"
        runs: list[Timings] = []
        for _ in range(args.repeat):
            timings = Timings()
            start = time.perf_counter()
            build(REPO / "raw", out, site_dir, REPO / "mkdocs.yml", timings=timings, force=True)  # a whole build each time
            timings.seconds["total"] = time.perf_counter() - start
            runs.append(timings)
        print(f"build (median of {args.repeat}, real sample, 125 lines):")
        for stage in runs[0].seconds:
            values = [r.seconds[stage] for r in runs]
            print(f"  {stage:<10} {statistics.median(values):8.3f} s")

        with Searcher(out) as searcher:
            for q in QUERIES:  # warm up caches and the Sudachi dictionary
                searcher.search(q)
            samples = []
            for _ in range(20):
                for q in QUERIES:
                    t = time.perf_counter()
                    searcher.search(q)
                    samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        p50 = samples[len(samples) // 2]
        p99 = samples[int(len(samples) * 0.99) - 1]
        print(f"search, warm ({len(samples)} queries): p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {statistics.mean(samples):.2f} ms")

        cold = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pipeline", "--out", str(out), "search", "バックアップ", "--json"],
                           check=True, capture_output=True, cwd=REPO)
            cold.append(time.perf_counter() - t)
        print(f"search, cold process (python -m pipeline search): median {statistics.median(cold):.2f} s")


if __name__ == "__main__":
    main()
