"""Score OCR correction against the hand-checked gold texts, and time it on the whole sample.

    python bench/bench_correct.py [--show]

Prints the character error rate of requirement texts before and after correction (Levenshtein
edits / gold characters, after basic cleaning), the corrections made and how many were right or
wrong, what is still missed, and the seconds correction takes. ``--show`` lists every wrong or
missed span. Figures are for one machine; they are not assertions (tests/test_correct.py guards
the floors).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rapidfuzz.distance import Levenshtein  # noqa: E402

from pipeline.correct import Overrides, consensus, correct_rows, load_overrides  # noqa: E402
from pipeline.ingest import ingest, load_edition  # noqa: E402
from pipeline.link import link  # noqa: E402
from pipeline.normalize import normalize_rows  # noqa: E402

GOLD = REPO / "tests" / "gold" / "requirements-v6.0.tsv"


def load_gold(path: Path = GOLD) -> dict[str, str]:
    gold = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("id\t") or not line.strip():
            continue
        key, text = line.split("\t", 1)
        gold[key] = text.replace("\\n", "\n")
    return gold


def run(edition_folder: Path, *, overrides: bool = True) -> dict:
    """Texts per ID before and after correction, the trail, and the seconds correction took."""
    edition = load_edition(edition_folder)
    rows = normalize_rows(ingest(edition).rows)
    before = {r.id: r.text for r in link(copy.deepcopy(rows), edition=edition.name).requirements}
    start = time.perf_counter()
    trail = correct_rows(rows, overrides=load_overrides(edition.folder) if overrides else Overrides())
    linked = link(rows, edition=edition.name)
    for requirement in linked.requirements:
        trail += consensus(requirement)
    seconds = time.perf_counter() - start
    return {"before": before, "after": {r.id: r.text for r in linked.requirements}, "trail": trail, "seconds": seconds}


def score(before: dict[str, str], after: dict[str, str], trail, gold: dict[str, str]) -> dict:
    ids = [i for i in gold if i in before]
    chars = sum(len(gold[i]) for i in ids)
    errors_before = sum(Levenshtein.distance(before[i], gold[i]) for i in ids)
    errors_after = sum(Levenshtein.distance(after[i], gold[i]) for i in ids)
    right, wrong = [], []
    for c in trail:
        if c.status not in ("applied", "accepted", "added") or c.field != "text" or c.id not in gold:
            continue
        text = before[c.id]
        at = text.find(c.before, max(0, c.position - 8))
        at = at if at >= 0 else text.find(c.before)
        if at < 0:
            continue
        changed = text[:at] + c.after + text[at + len(c.before):]
        (right if Levenshtein.distance(changed, gold[c.id]) < Levenshtein.distance(text, gold[c.id]) else wrong).append(c)
    damaged = [i for i in ids if before[i] == gold[i] and after[i] != gold[i]]
    missed = [(i, op) for i in ids for op in Levenshtein.opcodes(after[i], gold[i]) if op.tag != "equal"]
    return {"ids": len(ids), "chars": chars, "cer_before": errors_before / chars, "cer_after": errors_after / chars,
            "errors_before": errors_before, "errors_after": errors_after, "right": right, "wrong": wrong,
            "damaged": damaged, "missed": missed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list wrong corrections and missed spans")
    args = parser.parse_args()
    gold = load_gold()
    for overrides in (False, True):
        print("== " + ("with the maintainer's raw/6.0/corrections.tsv" if overrides else "the steps alone"))
        report(run(REPO / "raw" / "6.0", overrides=overrides), gold, show=args.show)


def report(result: dict, gold: dict[str, str], *, show: bool) -> None:
    s = score(result["before"], result["after"], result["trail"], gold)
    made = len(s["right"]) + len(s["wrong"])
    proposed = sum(1 for c in result["trail"] if c.status == "proposed")
    print(f"gold: {s['ids']} requirement texts, {s['chars']} characters")
    print(f"CER before {s['cer_before']:.4%} ({s['errors_before']} edits)  after {s['cer_after']:.4%} ({s['errors_after']} edits)"
          f"  after/before {s['errors_after'] / max(1, s['errors_before']):.0%}")
    print(f"corrections made {made}: right {len(s['right'])}, wrong {len(s['wrong'])}"
          f" (precision {len(s['right']) / max(1, made):.1%}); proposed, not applied {proposed};"
          f" missed spans {len(s['missed'])}; correct texts damaged {len(s['damaged'])}")
    print(f"correction over the whole sample: {result['seconds']:.2f} s")
    if show:
        for c in s["wrong"]:
            print(f"  wrong  {c.id}: {c.before!r} → {c.after!r} ({c.step})")
        for key, op in s["missed"]:
            print(f"  missed {key}: {result['after'][key][op.src_start:op.src_end]!r} → {gold[key][op.dest_start:op.dest_end]!r}")


if __name__ == "__main__":
    main()
