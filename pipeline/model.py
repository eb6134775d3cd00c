"""The small typed records passed between stages.

ingest → ``TableRow`` (with ``Item`` and ``Note``) and ``Problem``
normalize → the same rows with ``text`` filled in
link → ``Requirement`` and ``Correlation``
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

VOLUMES = ("gov", "mgmt", "ctrl")
# Item numbers as printed: ① … ㊿ (read them before any Unicode normalization folds them to digits).
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳㉑㉒㉓㉔㉕㉖㉗㉘㉙㉚㉛㉜㉝㉞㉟㊱㊲㊳㊴㊵㊶㊷㊸㊹㊺㊻㊼㊽㊾㊿"
VOLUME_NAMES = {"gov": "経営管理編", "mgmt": "企画管理編", "ctrl": "システム運用編"}


def section_key(section: str) -> tuple[int, ...]:
    """Given a section number such as ``"2.2.1"``, return a sort key ``(2, 2, 1)``."""
    return tuple(int(part) for part in section.split(".") if part.isdigit())


def requirement_id(volume: str, section: str, item: int) -> str:
    """Given volume, section and item number, return the permalink ID.

    >>> requirement_id("mgmt", "13", 4)
    'mgmt-13-4'
    """
    return f"{volume}-{section}-{item}"


def id_key(req_id: str) -> tuple:
    """Given a requirement ID, return a key that sorts by volume, section, item."""
    volume, section, item = req_id.split("-")
    return (VOLUMES.index(volume), section_key(section), int(item))


@dataclass(frozen=True, order=True)
class Source:
    """Where something was read: a file and a line (text) or page and cell box (PDF)."""

    file: str
    line: int | None = None
    page: int | None = None
    column: int | None = None
    bbox: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        bbox = data.get("bbox")
        return cls(data["file"], data.get("line"), data.get("page"), data.get("column"), tuple(bbox) if bbox else None)

    def __str__(self) -> str:
        where = [self.file]
        if self.page is not None:
            where.append(f"{self.page}ページ")
        if self.line is not None:
            where.append(f"{self.line}行")
        return ":".join(where)


@dataclass
class Item:
    """One circled 遵守事項 as read from one cell of one table row."""

    volume: str
    section: str
    item: int
    raw_text: str  # as in the source, circled number included
    source: Source
    section_title: str = ""
    text: str = ""  # filled by normalize
    heading_read: str = ""  # the 記載箇所 title as the source gave it (OCR noise and all)
    number_read: int = 0  # the circled number as read, where ``place`` gave the item another (0: as read)
    how: str = "read"  # how its section and number were decided: one of ``PLACEMENTS``
    detail: str = ""  # why, in words, where ``how`` is not "read"
    key: str = ""  # the ``unplaced-…`` ID of an item that could not be placed

    @property
    def id(self) -> str:
        return self.key or requirement_id(self.volume, self.section, self.item)


@dataclass
class Note:
    """A 備考 cell (e.g. 「6.2C4」, 「5.2版4.1B(2)の趣旨を踏まえて新設」) and the items it annotates."""

    volume: str
    raw_text: str
    source: Source
    annotates: tuple[str, ...] = ()
    text: str = ""  # filled by normalize


@dataclass
class TableRow:
    """One row of the correlation table: the items of each volume side by side, and their notes."""

    source: Source
    items: list[Item] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


# How a requirement's volume, section and number were decided (``place``).
PLACEMENTS = {
    "read": "記載箇所と番号をそのまま読んだ",
    "toc-title": "記載箇所の節を目次の見出しとの類似で決めた",
    "sequence": "前後の行の節と番号の並びから決めた",
    "same-text": "同じ本文が別の行で配置されていた",
    "override": "メンテナーの指定（placements.tsv）",
}

PROBLEM_CODES = {
    "no-section": "記載箇所（節）が読めない",
    "ambiguous-section": "記載箇所のセルに節が複数あり、遵守事項との対応が分からない",
    "no-volume": "編が分からない列にある",
    "heading": "見出しのようで遵守事項ではない（番号付きの見出し）",
    "outside-table": "表の行の外にある遵守事項（編・記載箇所が分からない）",
    "unnumbered": "遵守事項の欄にある番号のない文",
    "misnested": "記載箇所の節番号が隣の上位の節に含まれない",
    "sentence-in-place": "記載箇所のセルに見出しではなく遵守事項の文がある（その行の節は分からない）",
    "header-label": "見出し行の編名が OCR で崩れていたのを、最も近い編名として読んだ",
    "section-from-title": "記載箇所の節番号が目次の見出しと合わず、見出しから節を決めた（OCR の数字の読み違い）",
    "unreadable-line": "表の一部として読めない行",
    "number-clash": "同じ節の同じ番号に別の本文があり、前後の並びからも番号が決まらない",
    "number-run-on": "節は本文の語から分かるが、セルの番号が節をまたいで続いていて、節の中の番号が分からない",
}


@dataclass(frozen=True)
class Problem:
    """Something in a source that could not be placed; it goes to the run report.

    ``code`` is one of ``PROBLEM_CODES`` (for counting); ``reason`` says it for this case.
    """

    source: Source
    code: str
    text: str = ""
    volume: str | None = None
    item: int | None = None
    detail: str = ""
    sections: tuple[str, ...] = ()  # sections the item could belong to, where the table suggests some

    def __post_init__(self):
        if self.code not in PROBLEM_CODES:
            raise ValueError(f"unknown problem code {self.code!r}")

    @property
    def reason(self) -> str:
        return PROBLEM_CODES[self.code] + (f": {self.detail}" if self.detail else "")

    def to_dict(self) -> dict:
        data = {"source": self.source.to_dict(), "code": self.code, "reason": self.reason}
        data.update({k: v for k, v in (("volume", self.volume), ("item", self.item), ("text", self.text)) if v})
        return data


@dataclass
class Variant:
    """Another reading of a requirement's text found in some rows."""

    text: str
    raw_text: str
    sources: list[Source]

    def to_dict(self) -> dict:
        return {"text": self.text, "raw_text": self.raw_text, "sources": [s.to_dict() for s in self.sources]}


@dataclass
class Requirement:
    """One distinct 遵守事項 of one edition, however many rows it appears in."""

    id: str
    edition: str
    volume: str
    section: str
    section_title: str
    item: int
    text: str
    raw_text: str
    sources: list[Source]
    variants: list[Variant] = field(default_factory=list)
    placement: dict = field(default_factory=lambda: {"how": "read"})  # {"how": PLACEMENTS key, "detail": …}
    numbers_read: list[int] = field(default_factory=list)  # other numbers the source gave it (read twice, renumbered)
    correlation_note: str = ""  # why it has no correlation, where it has none
    notes: list[dict] = field(default_factory=list)  # the 備考 of its rows that annotate it: [{"text", "raw_text"}], table order

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "edition": self.edition,
            "volume": self.volume,
            "volume_name": VOLUME_NAMES[self.volume],
            "section": self.section,
            "section_title": self.section_title,
            "item": self.item,
            "text": self.text,
            "raw_text": self.raw_text,
            "sources": [s.to_dict() for s in self.sources],
            "variants": [v.to_dict() for v in self.variants],
            "placement": self.placement,
            "numbers_read": self.numbers_read,
            **({"correlation_note": self.correlation_note} if self.correlation_note else {}),
            **({"notes": self.notes} if self.notes else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Requirement:
        return cls(
            id=data["id"],
            edition=data["edition"],
            volume=data["volume"],
            section=data["section"],
            section_title=data["section_title"],
            item=data["item"],
            text=data["text"],
            raw_text=data["raw_text"],
            sources=[Source.from_dict(s) for s in data["sources"]],
            variants=[Variant(v["text"], v["raw_text"], [Source.from_dict(s) for s in v["sources"]]) for v in data.get("variants", [])],
            placement=data.get("placement", {"how": "read"}),
            numbers_read=data.get("numbers_read", []),
            correlation_note=data.get("correlation_note", ""),
            notes=data.get("notes", []),
        )

    def note_texts(self) -> list[str]:
        return [n["text"] for n in self.notes]


@dataclass
class Unplaced:
    """A 遵守事項 read in the table that could not be given an ID: kept with its full text, where it
    was read and why, under an ID (``unplaced-<line or page>-<n>``) that never clashes with a real one.
    Volume and section are filled as far as the table tells them."""

    id: str
    edition: str
    text: str
    raw_text: str
    sources: list[Source]
    code: str  # a ``PROBLEM_CODES`` key, or "number-clash"
    reason: str
    volume: str | None = None
    section: str | None = None
    section_title: str = ""
    item: int | None = None  # the number as read
    variants: list[Variant] = field(default_factory=list)
    row: list[str] = field(default_factory=list)  # the requirements placed in the table row(s) it was read in

    def to_dict(self) -> dict:
        data = {
            "id": self.id, "edition": self.edition, "text": self.text, "raw_text": self.raw_text,
            "sources": [s.to_dict() for s in self.sources], "code": self.code, "reason": self.reason,
            "volume": self.volume, "volume_name": VOLUME_NAMES.get(self.volume or ""), "section": self.section,
            "section_title": self.section_title, "item": self.item, "variants": [v.to_dict() for v in self.variants],
            "row": self.row,
        }
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Unplaced:
        return cls(data["id"], data["edition"], data["text"], data["raw_text"], [Source.from_dict(s) for s in data["sources"]],
                   data["code"], data["reason"], data.get("volume"), data.get("section"), data.get("section_title", ""),
                   data.get("item"), [Variant(v["text"], v["raw_text"], [Source.from_dict(s) for s in v["sources"]]) for v in data.get("variants", [])],
                   data.get("row", []))


@dataclass
class Correlation:
    """One row of the table as links between requirements of different volumes."""

    id: str
    edition: str
    members: dict[str, list[str]]  # volume -> requirement IDs
    notes: list[dict]  # {"annotates": [ids], "text": ..., "raw_text": ...}
    sources: list[Source]

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "edition": self.edition,
            "members": self.members,
            "notes": self.notes,
            "sources": [s.to_dict() for s in self.sources],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Correlation:
        return cls(data["id"], data["edition"], data["members"], data["notes"], [Source.from_dict(s) for s in data["sources"]])

    def ids(self) -> list[str]:
        return [i for volume in VOLUMES for i in self.members.get(volume, [])]
