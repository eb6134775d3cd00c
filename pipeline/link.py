"""The ``link`` stage: rows of items → one ``Requirement`` per ID and the ``Correlation`` rows between them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .correct import references
from .model import VOLUMES, Correlation, Item, Requirement, Source, TableRow, Variant, id_key, section_key


@dataclass
class Linked:
    requirements: list[Requirement]
    correlations: list[Correlation]
    conflicts: list[dict] = field(default_factory=list)  # IDs read with more than one text


def link(rows: list[TableRow], *, edition: str) -> Linked:
    """Given normalized rows, return requirements (one per ID) and correlations (one per distinct row)."""
    requirements, conflicts = _requirements(rows, edition=edition)
    return Linked(requirements, _correlations(rows, edition=edition), conflicts)


def _requirements(rows: list[TableRow], *, edition: str) -> tuple[list[Requirement], list[dict]]:
    """One requirement per ID; where rows disagree on the text, the most frequent reading wins
    (the first one on a tie) and the others are kept as ``variants``."""
    by_id: dict[str, list[Item]] = defaultdict(list)
    for row in rows:
        for item in row.items:
            by_id[item.id].append(item)
    requirements, conflicts = [], []
    for req_id in sorted(by_id, key=id_key):
        items = by_id[req_id]
        readings: dict[str, list[Item]] = {}
        for item in items:
            readings.setdefault(item.text, []).append(item)
        ranked = sorted(readings.values(), key=lambda group: -len(group))  # stable: first seen wins ties
        chosen = ranked[0]
        titles = Counter(item.section_title for item in items)
        first = chosen[0]
        requirement = Requirement(
            id=req_id,
            edition=edition,
            volume=first.volume,
            section=first.section,
            section_title=titles.most_common(1)[0][0],
            item=first.item,
            text=first.text,
            raw_text=first.raw_text,
            sources=_sources(item.source for item in items),
            variants=[Variant(g[0].text, g[0].raw_text, _sources(i.source for i in g)) for g in ranked[1:]],
        )
        requirements.append(requirement)
        if requirement.variants:
            conflicts.append({"id": req_id, "readings": len(ranked), "sources": [str(g[0].source) for g in ranked]})
    return requirements, conflicts


def _correlations(rows: list[TableRow], *, edition: str) -> list[Correlation]:
    """A row that places items of two or more volumes is a correlation; identical rows are one."""
    merged: dict[str, Correlation] = {}
    for row in rows:
        members = {v: sorted({i.id for i in row.items if i.volume == v}, key=id_key) for v in VOLUMES}
        members = {v: ids for v, ids in members.items() if ids}
        if len(members) < 2:
            continue
        corr_id = "+".join(i for v in VOLUMES for i in members.get(v, []))
        correlation = merged.setdefault(corr_id, Correlation(corr_id, edition, members, [], []))
        correlation.sources = _sources([*correlation.sources, row.source])
        for note in row.notes:
            entry = {"annotates": list(note.annotates), "text": note.text, "raw_text": note.raw_text, "refs": references(note.text)}
            if entry not in correlation.notes:
                correlation.notes.append(entry)
    return [merged[k] for k in sorted(merged, key=lambda k: [id_key(i) for i in k.split("+")])]


def sections(requirements: list[Requirement], toc: list[tuple[str, str, str]]) -> list[dict]:
    """Given requirements and the table of contents (volume, section, title), return every section
    either names, with its title and how many requirements it holds, sorted."""
    found: dict[tuple[str, str], dict] = {}
    for volume, section, title in toc:
        found[(volume, section)] = {"volume": volume, "section": section, "title": title, "requirements": 0}
    for req in requirements:
        entry = found.setdefault((req.volume, req.section), {"volume": req.volume, "section": req.section, "title": req.section_title, "requirements": 0})
        entry["requirements"] += 1
    return [found[k] for k in sorted(found, key=lambda k: (VOLUMES.index(k[0]), section_key(k[1])))]


def related(correlations: list[Correlation], req_id: str) -> dict[str, list[str]]:
    """Given correlations and an ID, return the correlated IDs of the other volumes: {volume: [ids]}."""
    found: dict[str, set[str]] = defaultdict(set)
    own = req_id.split("-")[0]
    for correlation in correlations:
        if req_id in correlation.ids():
            for volume, ids in correlation.members.items():
                if volume != own:
                    found[volume].update(ids)
    return {v: sorted(found[v], key=id_key) for v in VOLUMES if found.get(v)}


def _sources(sources) -> list[Source]:
    return sorted(set(sources), key=lambda s: (s.file, s.page or 0, s.line or 0, s.column or 0))
