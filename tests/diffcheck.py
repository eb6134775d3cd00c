"""Score ``guideline-kb diff`` against the changes a test edition pair was made with (tests/editions.py).

Both sides are turned into the same set of facts — (kind, old ID, new ID) — from the expected list and
from the diff's JSON, so the scorer knows nothing of how the diff matched. Nothing here imports
``pipeline``: it reads what the CLI printed."""

from __future__ import annotations

# The expected kinds that are facts about requirements, and the one diff JSON section they belong to.
REQUIREMENT_KINDS = {"changed", "added", "removed", "renumbered", "moved"}
SECTION_KINDS = {"section-renamed": "renamed", "section-added": "added", "section-removed": "removed"}


def expected_facts(expected: dict) -> set[tuple]:
    facts = {("unchanged", i, i) for i in expected["unchanged"]}
    for change in expected["changes"]:
        kind, old, new = change["kind"], change["old_id"], change["new_id"]
        if kind in REQUIREMENT_KINDS:
            facts.add((kind, old, new))
        elif kind in SECTION_KINDS:
            facts.add((kind, old or new, old or new))
        elif kind == "note-changed":
            facts.add((kind, old, new))
        elif kind in ("correlation-added", "correlation-removed"):
            ids = tuple(sorted(change["detail"]["pair"]))
            facts.add((kind, *ids))
    return facts


def diff_facts(result: dict) -> set[tuple]:
    """The facts of ``guideline-kb diff --json``."""
    facts = {(c["kind"], c["old_id"], c["new_id"]) for c in result["requirements"]}
    for s in result["sections"]:
        key = f"{s['volume']}-{s['section']}"
        facts.add((f"section-{s['kind']}", key, key))
    facts |= {("note-changed", n["old_id"], n["new_id"]) for n in result["notes"]}
    facts |= {(f"correlation-{link['kind']}", *sorted(link["ids"])) for link in result["correlations"]}
    return facts


def score(expected: dict, result: dict, *, known_gaps: set[tuple] = frozenset()) -> dict:
    """Facts right, wrong (the diff said something that is not so) and missed (it did not say what
    is); ``known_gaps``: expected facts the reader cannot show (they count neither way)."""
    want = expected_facts(expected) - set(known_gaps)
    got = diff_facts(result) - set(known_gaps)
    return {"right": len(want & got), "wrong": sorted(got - want, key=str), "missed": sorted(want - got, key=str),
            "total": len(want)}
