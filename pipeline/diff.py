"""What changed between two editions: the ``diff`` of the knowledge base, as a 新旧対照表.

Requirements are matched by their text, not by ID alone: an inserted item renumbers the items after
it, so ``ctrl-13-5`` of the new edition may be ``ctrl-13-4`` of the old. Within each volume, every
old and new requirement are compared (rapidfuzz ratio of their folded texts, ``query.fold``); pairs
are taken best first, and among equally similar pairs the one that keeps its ID, then its section,
then its place wins; then an old and a new left over with the same ID are paired if they are still
somewhat alike (``DiffSettings.same_place``). A matched pair is

    unchanged    the same ID and the same text
    changed      the same ID, the text reworded (``DiffSettings.similar`` ≤ similarity)
    renumbered   the same section, another number (its text the same, or reworded: ``text_changed``)
    moved        another section of the volume (its text the same, or reworded)

and what is left is ``removed`` (old) or ``added`` (new). Section titles are compared by number
(renamed, added, removed); correlations as cross-volume pairs of IDs, the old ones carried to the
new IDs through the matches (added, removed); 備考 per matched requirement.

>>> diff_text("医療情報を保存すること。", "医療情報を適切に保存すること。")
[('=', '医療情報を'), ('+', '適切に'), ('=', '保存すること。')]
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import NotFoundError
from .model import VOLUMES, Correlation, Requirement, id_key, section_key
from .query import fold

KINDS = ("changed", "renumbered", "moved", "added", "removed", "unchanged")
KIND_NAMES = {"changed": "変更", "renumbered": "番号の変更", "moved": "節の移動", "added": "追加", "removed": "削除",
              "unchanged": "変更なし"}


@dataclass(frozen=True)
class DiffSettings:
    """How alike two texts must be (rapidfuzz ratio 0–100 of the folded texts)."""

    same: float = 97.0  # at or above: the same text (a renumbered or moved item whose words did not change)
    similar: float = 60.0  # at or above: the same requirement, reworded; below, two different requirements
    same_place: float = 40.0  # an old and a new left unpaired with the same ID: reworded at or above this


@dataclass
class Change:
    """One requirement between the editions."""

    kind: str
    old_id: str | None
    new_id: str | None
    old_text: str = ""
    new_text: str = ""
    similarity: float = 0.0
    text_changed: bool = False
    diff: list[tuple[str, str]] = field(default_factory=list)  # ("=", …), ("-", …), ("+", …) from old to new
    old_section: str = ""
    new_section: str = ""


@dataclass
class SectionChange:
    kind: str  # renamed, added, removed
    volume: str
    section: str
    old_title: str = ""
    new_title: str = ""


@dataclass
class LinkChange:
    kind: str  # added, removed
    ids: tuple[str, str]  # the pair, as IDs of the edition it is in (new for added, old for removed)


@dataclass
class NoteChange:
    old_id: str
    new_id: str
    old_notes: list[str]
    new_notes: list[str]


@dataclass
class EditionDiff:
    old: str
    new: str
    settings: DiffSettings
    requirements: list[Change]
    sections: list[SectionChange]
    links: list[LinkChange]
    notes: list[NoteChange]

    def counts(self) -> dict[str, int]:
        found = {kind: 0 for kind in KINDS}
        for change in self.requirements:
            found[change.kind] += 1
        return found

    def changed(self) -> bool:
        return bool(self.sections or self.links or self.notes or any(c.kind != "unchanged" for c in self.requirements))

    def to_dict(self) -> dict:
        return {
            "old": self.old, "new": self.new, "settings": asdict(self.settings), "counts": self.counts(),
            "requirements": [asdict(c) for c in self.requirements],
            "sections": [asdict(s) for s in self.sections],
            "correlations": [{"kind": link.kind, "ids": list(link.ids)} for link in self.links],
            "notes": [asdict(n) for n in self.notes],
        }


def diff_text(old: str, new: str) -> list[tuple[str, str]]:
    """Character by character (Japanese has no spaces to split at), a change not cut by a single
    shared character (「を適切に保存」 vs 「に確実に保存」 reads as one replaced run)."""
    ops: list[list[str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(["=", old[i1:i2]])
        else:
            if i2 > i1:
                ops.append(["-", old[i1:i2]])
            if j2 > j1:
                ops.append(["+", new[j1:j2]])
    merged: list[list[str]] = []
    for n, (op, text) in enumerate(ops):  # a lone shared character between two changes joins them
        if op == "=" and len(text) == 1 and 0 < n < len(ops) - 1 and ops[n - 1][0] != "=" and ops[n + 1][0] != "=":
            merged += [["-", text], ["+", text]]
        else:
            merged.append([op, text])
    out: list[list[str]] = []
    for op, text in sorted_runs(merged):
        if out and out[-1][0] == op:
            out[-1][1] += text
        else:
            out.append([op, text])
    return [(op, text) for op, text in out]


def sorted_runs(ops: list[list[str]]) -> list[list[str]]:
    """Within each run of changes, what went (-) before what came (+)."""
    out: list[list[str]] = []
    run: list[list[str]] = []
    for op in [*ops, ["=", ""]]:
        if op[0] == "=":
            out += [o for o in run if o[0] == "-"] + [o for o in run if o[0] == "+"]
            run = []
            if op[1]:
                out.append(op)
        else:
            run.append(op)
    return out


def similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    return round(fuzz.ratio(fold(a), fold(b)), 2)


def match(old: list[Requirement], new: list[Requirement], settings: DiffSettings,
          folded: Mapping[str, str] | None = None) -> list[tuple[Requirement | None, Requirement | None, float]]:
    """Old and new requirements of one volume paired best first (see the module); the unpaired
    with None on the other side. In new reading order, then the removed in old order. ``folded``:
    texts already folded (text → ``fold(text)``), for an edition compared with two others."""
    from rapidfuzz import fuzz, process

    if not old or not new:
        return [(None, n, 0.0) for n in new] + [(o, None, 0.0) for o in old]
    folded = folded or {}
    scores = process.cdist([folded.get(o.text) or fold(o.text) for o in old], [folded.get(n.text) or fold(n.text) for n in new],
                           scorer=fuzz.ratio)
    pairs = []
    for i, o in enumerate(old):
        for j, n in enumerate(new):
            score = round(float(scores[i][j]), 2)
            if score >= settings.similar:
                rank = 100.0 if score >= settings.same else score  # the same text: its place decides
                pairs.append(((-rank, o.id != n.id, o.section != n.section, abs(o.item - n.item), -score, i, j), i, j, score))
    pairs.sort()
    taken_old: dict[int, tuple[int, float]] = {}
    taken_new: set[int] = set()
    for _, i, j, score in pairs:
        if i not in taken_old and j not in taken_new:
            taken_old[i] = (j, score)
            taken_new.add(j)
    new_at = {n.id: j for j, n in enumerate(new)}
    for i, o in enumerate(old):  # what is left, at the same place: reworded more than ``similar`` allows
        j = new_at.get(o.id)
        if i not in taken_old and j is not None and j not in taken_new and float(scores[i][j]) >= settings.same_place:
            taken_old[i] = (j, round(float(scores[i][j]), 2))
            taken_new.add(j)
    by_new = {j: (i, score) for i, (j, score) in taken_old.items()}
    out: list[tuple[Requirement | None, Requirement | None, float]] = []
    for j, n in enumerate(new):
        if j in by_new:
            i, score = by_new[j]
            out.append((old[i], n, round(score, 2)))
        else:
            out.append((None, n, 0.0))
    out += [(o, None, 0.0) for i, o in enumerate(old) if i not in taken_old]
    return out


def classify(o: Requirement | None, n: Requirement | None, score: float, settings: DiffSettings) -> Change:
    if o is None:
        return Change("added", None, n.id, new_text=n.text, new_section=n.section)
    if n is None:
        return Change("removed", o.id, None, old_text=o.text, old_section=o.section)
    text_changed = o.text != n.text
    if o.section != n.section:
        kind = "moved"
    elif o.id != n.id:
        kind = "renumbered"
    else:
        kind = "changed" if text_changed else "unchanged"
    return Change(kind, o.id, n.id, o.text, n.text, score, text_changed, diff_text(o.text, n.text) if text_changed else [],
                  o.section, n.section)


def compare(old_reqs: list[Requirement], new_reqs: list[Requirement], old_corrs: list[Correlation], new_corrs: list[Correlation],
            old_sections: list[dict], new_sections: list[dict], *, old: str, new: str,
            settings: DiffSettings = DiffSettings(), folded: Mapping[str, str] | None = None) -> EditionDiff:
    """The changes from one edition's records to another's (pure: records in, ``EditionDiff`` out;
    ``folded``: texts already folded, as ``match`` takes them)."""
    changes: list[Change] = []
    for volume in VOLUMES:
        pairs = match([r for r in old_reqs if r.volume == volume], [r for r in new_reqs if r.volume == volume], settings, folded)
        changes += [classify(o, n, score, settings) for o, n, score in pairs]
    changes.sort(key=lambda c: (KINDS.index(c.kind), id_key(c.new_id or c.old_id)))
    old_to_new = {c.old_id: c.new_id for c in changes if c.old_id and c.new_id}
    new_to_old = {n: o for o, n in old_to_new.items()}

    old_pairs = {pair for c in old_corrs for pair in _pairs(c)}
    new_pairs = {pair for c in new_corrs for pair in _pairs(c)}
    carried = {tuple(sorted((old_to_new.get(a), old_to_new.get(b)), key=_key)) for a, b in old_pairs
               if a in old_to_new and b in old_to_new}
    links = [LinkChange("added", p) for p in sorted(new_pairs - carried, key=lambda p: tuple(map(id_key, p)))]
    back = {tuple(sorted((new_to_old.get(a), new_to_old.get(b)), key=_key)) for a, b in new_pairs if a in new_to_old and b in new_to_old}
    links += [LinkChange("removed", p) for p in sorted(old_pairs - back, key=lambda p: tuple(map(id_key, p)))]

    old_notes = {r.id: r.note_texts() for r in old_reqs}
    new_notes = {r.id: r.note_texts() for r in new_reqs}
    notes = [NoteChange(c.old_id, c.new_id, old_notes.get(c.old_id, []), new_notes.get(c.new_id, [])) for c in changes
             if c.old_id and c.new_id and old_notes.get(c.old_id, []) != new_notes.get(c.new_id, [])]
    notes.sort(key=lambda n: id_key(n.new_id))

    titles_old = {(s["volume"], s["section"]): s.get("title", "") for s in old_sections}
    titles_new = {(s["volume"], s["section"]): s.get("title", "") for s in new_sections}
    sections = []
    for key in sorted(titles_old.keys() | titles_new.keys(), key=lambda k: (VOLUMES.index(k[0]), section_key(k[1]))):
        before, after = titles_old.get(key), titles_new.get(key)
        if before is None:
            sections.append(SectionChange("added", *key, new_title=after))
        elif after is None:
            sections.append(SectionChange("removed", *key, old_title=before))
        elif fold(before) != fold(after):
            sections.append(SectionChange("renamed", *key, old_title=before, new_title=after))
    return EditionDiff(old, new, settings, changes, sections, links, notes)


def _key(req_id: str | None) -> tuple:
    return id_key(req_id) if req_id else ()


def _pairs(corr: Correlation) -> set[tuple[str, str]]:
    """The cross-volume pairs of IDs a correlation row makes, each in ID order (volume first)."""
    ids = corr.ids()
    return {tuple(sorted((a, b), key=id_key)) for a in ids for b in ids if a.split("-")[0] != b.split("-")[0]}


def diff_editions(out_dir: Path, old: str, new: str, settings: DiffSettings = DiffSettings()) -> EditionDiff:
    """Compare two editions of ``out_dir`` (extracted/) by name."""
    from .store import CORRELATIONS, REQUIREMENTS, SECTIONS, edition_folders, read_jsonl

    folders = {f.name: f for f in edition_folders(out_dir)}
    for name in (old, new):
        if name not in folders:
            raise NotFoundError(f"版 {name} がありません（あるのは {', '.join(sorted(folders, key=section_key))}。guideline-kb list --edition で確かめてください）")

    def load(name: str):
        folder = folders[name]
        reqs = [Requirement.from_dict(d) for d in read_jsonl(folder / REQUIREMENTS)]
        corrs = [Correlation.from_dict(d) for d in read_jsonl(folder / CORRELATIONS)]
        sections = read_jsonl(folder / SECTIONS) if (folder / SECTIONS).exists() else []
        return reqs, corrs, sections

    (old_reqs, old_corrs, old_secs), (new_reqs, new_corrs, new_secs) = load(old), load(new)
    return compare(old_reqs, new_reqs, old_corrs, new_corrs, old_secs, new_secs, old=old, new=new, settings=settings)


def marked(ops: list[tuple[str, str]], side: str, *, deleted: str = "[-{}-]", inserted: str = "{{+{}+}}") -> str:
    """One side of a text diff as text, the changes marked: the old side shows what went, the new what came.

    >>> marked([("=", "医療情報を"), ("+", "適切に"), ("=", "保存")], "new")
    '医療情報を{+適切に+}保存'
    """
    out = []
    for op, text in ops:
        if op == "=":
            out.append(text)
        elif op == "-" and side == "old":
            out.append(deleted.format(text))
        elif op == "+" and side == "new":
            out.append(inserted.format(text))
    return "".join(out)


def to_text(result: EditionDiff, *, unchanged: bool = False) -> str:
    """The diff as a 新旧対照表 in text: what changed and how, old and new side by side line by line."""
    counts = result.counts()
    lines = [f"第{result.old}版 → 第{result.new}版",
             "遵守事項: " + "、".join(f"{KIND_NAMES[k]} {counts[k]}" for k in KINDS),
             f"節の見出し: {len(result.sections)} 件、相関: {len(result.links)} 件、備考: {len(result.notes)} 件", ""]
    for change in result.requirements:
        if change.kind == "unchanged" and not unchanged:
            continue
        head = {"added": f"追加 {change.new_id}", "removed": f"削除 {change.old_id}", "changed": f"変更 {change.new_id}",
                "unchanged": f"変更なし {change.new_id}"}.get(change.kind, f"{KIND_NAMES[change.kind]} {change.old_id} → {change.new_id}")
        if change.kind in ("renumbered", "moved") and change.text_changed:
            head += "（本文も変更）"
        lines.append(head)
        if change.kind == "added":
            lines.append(f"  新: {change.new_text}")
        elif change.kind == "removed":
            lines.append(f"  旧: {change.old_text}")
        elif change.text_changed:
            lines += [f"  旧: {marked(change.diff, 'old')}", f"  新: {marked(change.diff, 'new')}"]
        lines.append("")
    for section in result.sections:
        label = {"renamed": "節の見出しの変更", "added": "節の追加", "removed": "節の削除"}[section.kind]
        lines.append(f"{label} {section.volume} {section.section}: {section.old_title or '—'} → {section.new_title or '—'}")
    for link in result.links:
        lines.append(f"相関の{'追加' if link.kind == 'added' else '削除'}: {link.ids[0]} ⇔ {link.ids[1]}")
    for note in result.notes:
        lines.append(f"備考の変更 {note.new_id}: {' / '.join(note.old_notes) or '—'} → {' / '.join(note.new_notes) or '—'}")
    return "\n".join(lines).rstrip() + "\n"


CSV_HEADER = ["種類", "kind", "旧ID", "新ID", "旧の本文（変更に印）", "新の本文（変更に印）", "類似度", "本文も変更"]


def to_csv(result: EditionDiff, *, unchanged: bool = True) -> bytes:
    """The requirements' changes as CSV for Excel: UTF-8 with BOM, CRLF, one row per requirement;
    then the section, correlation and 備考 changes, each row saying what it is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for c in result.requirements:
        if c.kind == "unchanged" and not unchanged:
            continue
        old = marked(c.diff, "old") if c.text_changed else c.old_text
        new = marked(c.diff, "new") if c.text_changed else c.new_text
        writer.writerow([KIND_NAMES[c.kind], c.kind, c.old_id or "", c.new_id or "", old, new, f"{c.similarity:g}",
                         "はい" if c.text_changed else ""])
    for s in result.sections:
        writer.writerow([{"renamed": "節の見出しの変更", "added": "節の追加", "removed": "節の削除"}[s.kind], f"section-{s.kind}",
                         f"{s.volume}-{s.section}" if s.old_title else "", f"{s.volume}-{s.section}" if s.new_title else "",
                         s.old_title, s.new_title, "", ""])
    for link in result.links:
        writer.writerow([f"相関の{'追加' if link.kind == 'added' else '削除'}", f"correlation-{link.kind}",
                         " ".join(link.ids) if link.kind == "removed" else "", " ".join(link.ids) if link.kind == "added" else "", "", "", "", ""])
    for n in result.notes:
        writer.writerow(["備考の変更", "note-changed", n.old_id, n.new_id, " / ".join(n.old_notes), " / ".join(n.new_notes), "", ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
