"""Score OCR correction against the hand-checked gold readings, on the tuning half and the held-back half.

    python bench/bench_correct.py [--show]

The gold (``tests/gold/readings-v6.0.tsv``) has one correct text per *reading*: an item as read in one
place of the source, keyed by the source line, the column and the circled number as read, so it does
not depend on requirement IDs. Items that could not be placed are readings too.

Each gold line's ``split_key`` (the section the text was placed in, shared by its copies) decides its
half: ``zlib.crc32(split_key) % 2`` is 0 → tune (rules and thresholds were tuned looking at these), 1 →
held (only reported).

The bench builds the edition as ``guideline-kb build`` does (``read_editions``: ingest, normalize,
place, correct, link, consensus) and finds each gold reading in what it shows: the reading at the
gold's line and column whose text is nearest the gold's (``find``). A reading link chose as its
record's text shows that text (after consensus); a ``variants`` reading shows its own corrected text.
For each half it prints the character error rate before correction (after basic cleaning) and after,
the corrections made and how many were right (each one, applied alone to the text it was made on,
brings it nearer the gold; the steps are replayed one at a time to see that text), the proposals, what
is still missed, and the correct texts the correction damaged. A correction counts once per distinct
reading text. Figures are for one machine; tests/test_correct*.py guard the floors.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rapidfuzz import fuzz  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from pipeline.build import Timings, read_editions  # noqa: E402
from pipeline.correct import OVERRIDES, STEPS, Overrides, correct_text, load_overrides  # noqa: E402
from pipeline.normalize import clean, strip_item_number  # noqa: E402

GOLD = REPO / "tests" / "gold" / "readings-v6.0.tsv"
REPLAYED = ("structural", "lexical", "grammar")  # the steps ``replay`` repeats (by the trail's step names)
HALVES = ("tune", "held")

Key = tuple[int, "int | None", str]  # source line, column (None: no column), circled number as read


@dataclass(frozen=True)
class GoldReading:
    key: Key
    split_key: str
    text: str

    @property
    def half(self) -> str:
        """``tune`` or ``held``: the parity of the CRC-32 of the split key (the reading's section)."""
        return HALVES[zlib.crc32(self.split_key.encode("utf-8")) % 2]


def load_gold(path: Path = GOLD) -> dict[Key, GoldReading]:
    """Given the gold TSV (line, column, item, split_key, text; ``#`` comments; ``\\n`` for a line break),
    return the gold readings by key."""
    gold = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("line\t") or not line.strip():
            continue
        source_line, column, item, split_key, text = line.split("\t")
        key = (int(source_line), None if column == "-" else int(column), item)
        gold[key] = GoldReading(key, split_key, text.replace("\\n", "\n"))
    return gold


@dataclass(frozen=True)
class Shown:
    """One reading as the knowledge base shows it: its circled number as read, its text before
    correction, the text shown for it, and the record (requirement or unplaced record) it is in."""

    circled: str
    before: str
    after: str
    record: str
    chosen: bool  # the record's own text (consensus works on it), not a variant


@dataclass
class Reading:
    """A gold reading as found in the build: its text before correction, after, and the corrections
    made to it (each with the text it was made on)."""

    before: str
    after: str
    corrections: list


def shown_readings(linked) -> dict[tuple, list[Shown]]:
    """Given link's output, return every reading it shows by the place it was read (line, column):
    a record's own text for the sources no variant claims, each variant's text for its sources."""
    found: dict[tuple, list[Shown]] = {}
    for record in [*linked.requirements, *linked.unplaced]:
        claimed = {s for v in record.variants for s in v.sources}
        for raw, text, sources, chosen in [(record.raw_text, record.text, [s for s in record.sources if s not in claimed], True),
                                           *((v.raw_text, v.text, v.sources, False) for v in record.variants)]:
            shown = Shown(raw.strip()[:1], clean(strip_item_number(raw)), text, record.id, chosen)
            for source in sources:
                found.setdefault((source.line, source.column), []).append(shown)
    return found


def find(shown: dict[tuple, list[Shown]], gold: GoldReading) -> Shown | None:
    """The reading of the gold's place (line, column) whose text is nearest the gold text, within the
    OCR noise; of equal texts, the one with the gold's circled number (a record that merged copies read
    under other numbers shows the number of its first reading)."""
    here = [r for r in shown.get(gold.key[:2], []) if fuzz.ratio(_letters(r.before), _letters(gold.text)) >= NEAR]
    return max(here, key=lambda r: (fuzz.ratio(r.before, gold.text), r.circled == gold.key[2]), default=None)


NEAR = 80  # the bench's own "same text within OCR noise", not the reader's ``place.same_text``


def _letters(text: str) -> str:
    """The text without spaces and punctuation, for pairing a gold reading with what was read there."""
    return re.sub(r"[\s、。，．,.・()（）「」]", "", text)


def run(raw_edition: Path, *, overrides: bool = True) -> dict:
    """Build the edition as ``guideline-kb build`` reads it (``read_editions``; without its
    ``corrections.tsv`` unless ``overrides``), and return every gold reading found, before and after
    correction, with the corrections made to it; the whole trail; and the seconds correction took."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        shutil.copytree(raw_edition, raw / raw_edition.name)
        if not overrides:
            (raw / raw_edition.name / OVERRIDES).unlink(missing_ok=True)
        timings = Timings()
        (output,) = read_editions(raw, timings=timings)
        decisions = load_overrides(raw / raw_edition.name)
    shown = shown_readings(output.linked)
    trail = output.corrections
    readings: dict[Key, Reading] = {}
    for key, gold in load_gold().items():
        reading = find(shown, gold)
        if reading is None:
            continue  # listed as not read by ``score``
        text, made = replay(reading.before, STEPS, key=reading.record, overrides=decisions)
        done = {(c.step, c.before, c.after) for _, c in made}
        made += [(text, c) for c in trail  # what the steps alone don't do: headings, consensus, the maintainer's additions
                 if c.id == reading.record and c.field == "text" and c.step.split(".")[0] not in REPLAYED and (c.step, c.before, c.after) not in done
                 and (reading.chosen or c.step != "consensus") and c.before in text]
        readings[key] = Reading(reading.before, reading.after, made)
    return {"readings": readings, "trail": trail, "seconds": timings.seconds.get("correct", 0.0)}


def replay(text: str, steps, *, key: str, overrides: Overrides) -> tuple[str, list]:
    """The steps again, one at a time, to see what each did to one reading: the corrected text and,
    for each correction, the text it was made on (its ``position`` is in that text). The maintainer's
    additions are left to the trail."""
    decisions = Overrides([e for e in overrides.entries if e.action != "add"])
    made = []
    for step in steps:
        corrected, found = correct_text(text, key=key, overrides=decisions, steps=[step])
        made += [(text, c) for c in found]
        text = corrected
    return text, made


def _helps(text: str, c, gold: str) -> bool:
    """Whether correction ``c``, applied alone to the text it was made on, brings that text nearer ``gold``
    (a correction the steps did not make is looked for near its position)."""
    at = c.position if text[c.position:c.position + len(c.before)] == c.before else text.find(c.before, max(0, c.position - 8))
    at = at if at >= 0 else text.find(c.before)
    if at < 0:
        return False
    changed = text[:at] + c.after + text[at + len(c.before):]
    return Levenshtein.distance(changed, gold) < Levenshtein.distance(text, gold)


def score(result: dict, gold: dict[Key, GoldReading], half: str | None = None) -> dict:
    """Given ``run``'s result and the gold, return the figures for one half (None: all readings)."""
    readings = result["readings"]
    keys = [k for k, g in gold.items() if k in readings and (half is None or g.half == half)]
    chars = sum(len(gold[k].text) for k in keys)
    errors_before = sum(Levenshtein.distance(readings[k].before, gold[k].text) for k in keys)
    errors_after = sum(Levenshtein.distance(readings[k].after, gold[k].text) for k in keys)
    right, wrong, proposed, seen = [], [], 0, set()
    for k in keys:
        r = readings[k]
        for text, c in r.corrections:
            if (r.before, text, c.position, c.before, c.after, c.step) in seen:
                continue
            seen.add((r.before, text, c.position, c.before, c.after, c.step))
            if c.status == "proposed":
                proposed += 1
            elif c.status in ("applied", "accepted", "added"):
                (right if _helps(text, c, gold[k].text) else wrong).append((k, c))
    damaged = [k for k in keys if readings[k].before == gold[k].text and readings[k].after != gold[k].text]
    missed = [(k, op) for k in keys for op in Levenshtein.opcodes(readings[k].after, gold[k].text) if op.tag != "equal"]
    return {"readings": len(keys), "chars": chars, "errors_before": errors_before, "errors_after": errors_after,
            "cer_before": errors_before / max(1, chars), "cer_after": errors_after / max(1, chars),
            "right": right, "wrong": wrong, "proposed": proposed, "damaged": damaged, "missed": missed,
            "not_read": [k for k, g in gold.items() if k not in readings and (half is None or g.half == half)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list wrong corrections, damaged texts and missed spans")
    args = parser.parse_args()
    gold = load_gold()
    for overrides in (False, True):
        print("== " + ("with the maintainer's raw/6.0/corrections.tsv" if overrides else "the steps alone"))
        result = run(REPO / "raw" / "6.0", overrides=overrides)
        for half in HALVES:
            report(result, gold, half, show=args.show)
        print(f"correction over the whole sample: {result['seconds']:.2f} s")


def report(result: dict, gold: dict[Key, GoldReading], half: str, *, show: bool) -> None:
    s = score(result, gold, half)
    made = len(s["right"]) + len(s["wrong"])
    label = "tuning half" if half == "tune" else "held-back half"
    print(f"-- {label}: {s['readings']} readings, {s['chars']} characters" + (f" ({len(s['not_read'])} gold readings not read)" if s["not_read"] else ""))
    print(f"   CER before {s['cer_before']:.4%} ({s['errors_before']} edits)  after {s['cer_after']:.4%} ({s['errors_after']} edits)"
          f"  after/before {s['errors_after'] / max(1, s['errors_before']):.0%}")
    print(f"   corrections made {made}: right {len(s['right'])}, wrong {len(s['wrong'])} (precision {len(s['right']) / max(1, made):.1%});"
          f" proposed, not applied {s['proposed']}; missed spans {len(s['missed'])}; correct texts damaged {len(s['damaged'])}")
    if show:
        readings = result["readings"]
        for k, c in s["wrong"]:
            print(f"   wrong   {k}: {c.before!r} → {c.after!r} ({c.step})")
        for k in s["damaged"]:
            print(f"   damaged {k}")
        for k in s["not_read"]:
            print(f"   not read {k}: no reading at that line and column within the noise of the gold text")
        for k, op in s["missed"]:
            print(f"   missed  {k}: {readings[k].after[op.src_start:op.src_end]!r} → {gold[k].text[op.dest_start:op.dest_end]!r}")


if __name__ == "__main__":
    main()
