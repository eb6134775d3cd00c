"""SIGKILL ``guideline-kb build`` at many random moments and check, after each kill, that extracted/,
its index and site/ come from one complete build (rolled forward by the next command where the kill
fell inside the commit), and that nothing is left over after the next build.

    python bench/bench_kill.py [--kills 50] [--seed 1]

The test suite does the same with 10 kills (tests/test_commit.py). Prints where each kill fell.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.test_commit import command, kill_at_random, leftovers, make_raws, assert_one_build  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        raws = make_raws(base)
        start = time.perf_counter()
        subprocess.run(command(base, raws["A"], "build"), check=True, capture_output=True)
        seconds = time.perf_counter() - start
        seen = kill_at_random(base, raws, seconds, args.kills, args.seed)
        outcomes = Counter("new build" if left[0] == target else "old build" for target, _, left in seen)
        rolled = sum("rolled forward" in left for _, _, left in seen)
        subprocess.run(command(base, raws["A"], "build"), check=True, capture_output=True)
        assert_one_build(base)
        print(f"build {seconds:.2f} s; {args.kills} kills between 0.2× and 1.5× of it (seed {args.seed})")
        print(f"  after each kill all three parts came from one build: {args.kills}/{args.kills}")
        print(f"  left the old build: {outcomes['old build']}, the new build: {outcomes['new build']}, of which rolled forward by the next command: {rolled}")
        print(f"  leftovers after the next build: {leftovers(base) or 'none'}")


if __name__ == "__main__":
    main()
