"""How ``guideline-kb diff`` does on edition pairs with known changes (tests/editions.py).

    python bench/bench_diff.py [--seeds 1-40] [--pdf]

For the acceptance pair and each seed's random pair (3–8 edits drawn from nine kinds), both editions
are written (as OCR text, or as PDFs with ``--pdf``), extracted by the CLI and compared by
``guideline-kb diff --json``; the facts it states (unchanged, changed, renumbered, moved, added,
removed, section titles, 備考, correlations) are scored against the edit script's: right, wrong (stated
but not so), missed. Prints per pair the misses, then the totals and the seconds per pair.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import run_cli  # noqa: E402
from tests.diffcheck import score  # noqa: E402
from tests.editions import pair, write_pair  # noqa: E402
from seeds import parse_seeds  # noqa: E402 - bench/seeds.py, beside this script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-40")
    parser.add_argument("--pdf", action="store_true", help="write the editions as PDFs (tests.corpus.render), not OCR text")
    args = parser.parse_args()
    sources = ("pdf",) if args.pdf else ("text",)
    totals = {"right": 0, "wrong": 0, "missed": 0, "total": 0}
    start = time.perf_counter()
    runs = [("acceptance", pair(acceptance=True))] + [(str(s), pair(s)) for s in parse_seeds(args.seeds)]
    for name, made in runs:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            raw = write_pair(made, folder, sources=sources)
            result = run_cli(folder, "extract", raw=raw)
            if result.exit_code != 0:
                print(f"{name}: extract failed: {result.output.strip()[:200]}")
                continue
            out = run_cli(folder, "diff", made.old.name, made.new.name, "--json", raw=raw)
            found = score(made.expected(), json.loads(out.output))
        for key in ("right", "total"):
            totals[key] += found[key]
        totals["wrong"] += len(found["wrong"])
        totals["missed"] += len(found["missed"])
        if found["wrong"] or found["missed"]:
            print(f"{name}: wrong {found['wrong']}, missed {found['missed']}")
    seconds = (time.perf_counter() - start) / len(runs)
    print(f"{len(runs)} pairs ({'PDF' if args.pdf else 'OCR text'}): facts right {totals['right']}/{totals['total']}, "
          f"wrong {totals['wrong']}, missed {totals['missed']}; {seconds:.1f} s per pair (write, extract both, diff)")


if __name__ == "__main__":
    main()
