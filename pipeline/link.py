"""The ``link`` stage: rows of items → one ``Requirement`` per ID and the ``Correlation`` rows between them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .correct import references
from .model import PLACEMENTS, VOLUMES, Correlation, Item, Requirement, Source, TableRow, Unplaced, Variant, id_key, section_key
from .place import HOW_RANK


@dataclass
class Linked:
    requirements: list[Requirement]
    correlations: list[Correlation]
    conflicts: list[dict] = field(default_factory=list)  # IDs read with more than one text
    unplaced: list[Unplaced] = field(default_factory=list)


def link(rows: list[TableRow], *, edition: str, unplaced: list | None = None) -> Linked:
    """Given placed rows (and the readings ``place`` left unplaced), return requirements (one per ID),
    correlations (one per distinct row) and the unplaced records (one per text)."""
    requirements, conflicts = _requirements(rows, edition=edition)
    _notes(requirements, rows)
    correlations = _correlations(rows, edition=edition)
    records = _unplaced(unplaced or [], edition=edition)
    _explain_uncorrelated(requirements, correlations, rows, records)
    return Linked(requirements, correlations, conflicts, records)


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
        decided = max(items, key=lambda i: HOW_RANK[i.how])  # the strongest way one of its readings was placed
        placement = {"how": decided.how, "reason": PLACEMENTS[decided.how], **({"detail": decided.detail} if decided.detail else {})}
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
            placement=placement,
            numbers_read=sorted({i.number_read for i in items if i.number_read}),
        )
        requirements.append(requirement)
        if requirement.variants:
            conflicts.append({"id": req_id, "readings": len(ranked), "sources": [str(g[0].source) for g in ranked]})
    return requirements, conflicts


def _notes(requirements: list[Requirement], rows: list[TableRow]) -> None:
    """Give each requirement the 備考 of every row that annotates it (a row of one volume too), each once."""
    found: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)
    for row in rows:
        for note in row.notes:
            for req_id in note.annotates:
                found[req_id][(note.text, note.raw_text)] = None
    for req in requirements:
        req.notes = [{"text": text, "raw_text": raw} for text, raw in found.get(req.id, {})]


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


def _unplaced(loose: list, *, edition: str) -> list[Unplaced]:
    """One record per unplaced ID (``place`` gave readings of one text one ID), with its readings."""
    by_id: dict[str, list] = defaultdict(list)
    for entry in loose:
        by_id[entry.item.id].append(entry)
    records = []
    for key, entries in by_id.items():
        items = [e.item for e in entries]
        readings: dict[str, list[Item]] = {}
        for item in items:
            readings.setdefault(item.text, []).append(item)
        ranked = sorted(readings.values(), key=lambda group: -len(group))
        first = ranked[0][0]
        head = next((e for e in entries if e.item.section), None) or next((e for e in entries if e.item.volume), entries[0])  # knows most
        records.append(Unplaced(
            id=key, edition=edition, text=first.text, raw_text=first.raw_text, sources=_sources(i.source for i in items),
            code=head.code, reason=head.reason, volume=head.item.volume or None, section=head.item.section or None,
            section_title=head.item.section_title, item=head.item.number_read or head.item.item,
            variants=[Variant(g[0].text, g[0].raw_text, _sources(i.source for i in g)) for g in ranked[1:]]))
    return sorted(records, key=lambda r: (r.sources[0].file, r.sources[0].page or 0, r.sources[0].line or 0, r.id))


def _explain_uncorrelated(requirements: list[Requirement], correlations: list[Correlation], rows: list[TableRow],
                          unplaced: list[Unplaced]) -> None:
    """A requirement with no correlation says why: its rows' other cells could not be placed, or hold none."""
    linked = {i for c in correlations for i in c.ids()}
    row_key = lambda s: (s.file, s.page, s.line)  # noqa: E731
    unplaced_at: dict[tuple, list[str]] = defaultdict(list)
    for record in unplaced:
        for s in record.sources:
            unplaced_at[row_key(s)].append(record.id)
    rows_of: dict[str, list[TableRow]] = defaultdict(list)
    placed_at: dict[tuple, set[str]] = defaultdict(set)
    for row in rows:
        for item in row.items:
            rows_of[item.id].append(row)
            placed_at[row_key(row.source)].add(item.id)
    for record in unplaced:
        record.row = sorted({i for s in record.sources for i in placed_at.get(row_key(s), ())}, key=id_key)
    for req in requirements:
        if req.id in linked:
            continue
        beside = sorted({u for row in rows_of[req.id] for u in unplaced_at.get(row_key(row.source), [])})
        if beside:
            req.correlation_note = f"この行の他の編の遵守事項は配置できなかった: {'、'.join(beside)}"
        else:
            req.correlation_note = "相関表のこの行に他の編の遵守事項が読めない。サンプルが表の一部のため、またはその編に対応する事項がないため"


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


def related_map(correlations: list[Correlation]) -> dict[str, dict[str, list[str]]]:
    """Every ID of the correlations → its correlated IDs of the other volumes ({volume: [ids]}), in
    one pass over the table (look an ID up; don't scan the table per ID)."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for correlation in correlations:
        for req_id in correlation.ids():
            own = req_id.split("-")[0]
            for volume, ids in correlation.members.items():
                if volume != own:
                    found[req_id][volume].update(ids)
    return {req_id: {v: sorted(by[v], key=id_key) for v in VOLUMES if by.get(v)} for req_id, by in found.items()}


def related(correlations: list[Correlation], req_id: str) -> dict[str, list[str]]:
    """Given correlations and an ID, return the correlated IDs of the other volumes: {volume: [ids]}
    (for one ID; many IDs: ``related_map``)."""
    return related_map([c for c in correlations if req_id in c.ids()]).get(req_id, {})


def _sources(sources) -> list[Source]:
    return sorted(set(sources), key=lambda s: (s.file, s.page or 0, s.line or 0, s.column or 0))
