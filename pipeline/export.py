"""Exports: one edition of the knowledge base → files to download and take into other tools.

    csv    遵守事項・相関・未配置 as three CSV files: UTF-8 with a BOM, CRLF row ends, RFC 4180 quoting
           (a Japanese Excel opens them without garbling)
    xlsx   the same as sheets of one workbook, the requirements with empty 対応状況・担当・備考（院内）
           columns (an audit checklist: a frozen header, filters, wrapped text, a list for 対応状況)
    jsonl  every record as ``guideline-kb show --json`` gives it, one a line, in ID order
    oscal  an OSCAL 1.2.1 catalog (a control per requirement, grouped by volume and section) and a
           mapping collection (the correlation table's rows between volumes)

The functions are pure: an ``Edition`` (read from extracted/ by ``load``) in, bytes out. The same
data gives the same bytes: no clock (times come from the edition's publication date), OSCAL UUIDs are
uuid5 of a fixed namespace, the edition and the ID, and the .xlsx zip has fixed timestamps.

>>> sorted(FORMATS)
['csv', 'jsonl', 'oscal', 'xlsx']
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import html
import io
import json
import os
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ExportError
from .model import CIRCLED, VOLUME_NAMES, VOLUMES, Correlation, Requirement, Unplaced, id_key, section_key

# --- one edition's records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Edition:
    """What an export is made from: one edition's records (requirements in ID order) and what the
    edition is (``manifest.toml``'s title, publication and MHLW page, as ``report.json`` keeps them)."""

    name: str
    requirements: tuple[Requirement, ...]
    correlations: tuple[Correlation, ...]
    unplaced: tuple[Unplaced, ...]
    title: str = ""
    published: str = ""  # "2023-05"
    url: str = ""


def load(out_dir: Path, edition: str) -> Edition:
    """Given extracted/ and an edition in it, return the edition's records (through ``store``)."""
    from .store import REPORT, REQUIREMENTS, load_edition, load_edition_correlations

    folder = out_dir / edition
    if not (folder / REQUIREMENTS).is_file():
        raise ExportError(f"{folder}: 第{edition}版の抽出結果がありません（guideline-kb build で作り直してください）")
    report_path = folder / REPORT
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    requirements, unplaced = load_edition(folder)  # this edition's folder alone: the downloads of N editions read each once
    return Edition(
        name=edition,
        requirements=tuple(sorted(requirements, key=lambda r: id_key(r.id))),
        correlations=tuple(load_edition_correlations(folder)),
        unplaced=tuple(sorted(unplaced, key=lambda u: unplaced_key(u.id))),
        title=report.get("title", ""),
        published=report.get("published", ""),
        url=report.get("url", ""),
    )


def unplaced_key(unplaced_id: str) -> tuple:
    """The order of unplaced IDs: by the numbers in them (line or page, then item).

    >>> sorted(["unplaced-10-1", "unplaced-7-2", "unplaced-p3-1"], key=unplaced_key)
    ['unplaced-7-2', 'unplaced-10-1', 'unplaced-p3-1']
    """
    parts = unplaced_id.split("-")[1:]
    return tuple((part.startswith("p"), int(part.lstrip("p") or 0)) for part in parts)


def related_ids(edition: Edition) -> dict[str, dict[str, list[str]]]:
    """ID → the correlated IDs of the other volumes, by volume, in ID order (as ``show`` gives them)."""
    from .link import related_map

    return related_map(list(edition.correlations))


def notes_of(edition: Edition) -> dict[str, list[dict]]:
    """ID → the 備考 of its rows (the 5.2 references), as ``show --json`` gives them: ``[{"text", "raw_text"}]``."""
    return {req.id: req.notes for req in edition.requirements if req.notes}


def fixed_time(published: str) -> dt.datetime:
    """The one time an export states (OSCAL's last-modified, the workbook's created and modified, the
    .xlsx zip entries): the edition's publication date at 00:00 JST, or 2000-01-01 without one.

    >>> fixed_time("2023-05").isoformat(), fixed_time("").isoformat()
    ('2023-05-01T00:00:00+09:00', '2000-01-01T00:00:00+09:00')
    """
    jst = dt.timezone(dt.timedelta(hours=9))
    parts = [int(p) for p in re.findall(r"[0-9]+", published)][:3]
    try:
        year, month, day = (parts + [1, 1])[:3] if parts else (2000, 1, 1)
        return dt.datetime(max(1980, min(year, 2099)), month, day, tzinfo=jst)
    except ValueError:
        return dt.datetime(2000, 1, 1, tzinfo=jst)


def data_hash(edition: Edition) -> str:
    """A hash of the edition's records: which data an export was made from (in the OSCAL metadata
    and the workbook's この資料について sheet)."""
    return hashlib.sha256(to_jsonl(edition)).hexdigest()[:16]


def where(section: str | None, title: str = "") -> str:
    """記載箇所: section and title (nothing where the section is not known).

    >>> where("1.3.2", "リスク評価"), where(None, "リスク評価")
    ('1.3.2 リスク評価', '')
    """
    return " ".join(p for p in (section or "", title if section else "") if p)


def sources_text(sources) -> str:
    """The sources of a record, one a line (``file:Nページ:N行``)."""
    return "\n".join(str(s) for s in sources)


# --- tables: the rows that CSV and XLSX share -------------------------------------------------------

REQUIREMENT_COLUMNS = ("ID", "編", "記載箇所", "番号", "遵守事項", *(VOLUME_NAMES[v] for v in VOLUMES), "備考", "出典")
CORRELATION_COLUMNS = ("No", *(VOLUME_NAMES[v] for v in VOLUMES), "備考", "出典")
UNPLACED_COLUMNS = ("ID", "編", "記載箇所", "読み取った番号", "理由", "遵守事項", "同じ行の遵守事項", "出典")
AUDIT_COLUMNS = ("対応状況", "担当", "備考（院内）")
AUDIT_STATES = ("未着手", "対応中", "対応済", "対象外")


def requirement_rows(edition: Edition) -> list[list]:
    """One row a requirement (``REQUIREMENT_COLUMNS``): the correlated IDs of each volume one a line
    (the requirement's own volume has none), the 備考 one a line."""
    related, notes = related_ids(edition), notes_of(edition)
    rows = []
    for req in edition.requirements:
        links = related.get(req.id, {})
        rows.append([req.id, VOLUME_NAMES[req.volume], where(req.section, req.section_title), req.item, req.text,
                     *("\n".join(links.get(v, [])) for v in VOLUMES),
                     "\n".join(n["text"] for n in notes.get(req.id, [])), sources_text(req.sources)])
    return rows


def correlation_rows(edition: Edition) -> list[list]:
    """One row a row of the correlation table (``CORRELATION_COLUMNS``): the IDs of each volume one
    a line, each 備考 with the IDs it is beside."""
    rows = []
    for number, corr in enumerate(edition.correlations, 1):
        notes = "\n".join(f"{'、'.join(n.get('annotates', []))}: {n.get('text', '')}" for n in corr.notes)
        rows.append([number, *("\n".join(corr.members.get(v, [])) for v in VOLUMES), notes, sources_text(corr.sources)])
    return rows


def unplaced_rows(edition: Edition) -> list[list]:
    """One row an item read but not placed (``UNPLACED_COLUMNS``): as far as its volume and section
    are known, why it has no ID, and the requirements of its table row."""
    return [[u.id, VOLUME_NAMES.get(u.volume or "", "不明"), where(u.section, u.section_title),
             u.item if u.item is not None else "", u.reason, u.text, "\n".join(u.row), sources_text(u.sources)]
            for u in edition.unplaced]


# --- CSV ---------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A value as a CSV cell that a spreadsheet shows as text: one that would start a formula
    (``=``, ``+``, ``-``, ``@``) gets a ``'`` before it.

    >>> csv_cell(3), csv_cell("=1+1"), csv_cell("－保存")
    ('3', "'=1+1", '－保存')
    """
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(header, rows) -> bytes:
    r"""A table as CSV bytes: UTF-8 with a BOM, CRLF row ends, cells quoted where they hold a comma,
    a quote or a line break (RFC 4180).

    >>> csv_bytes(["a", "b"], [["x\ny", 1]])
    b'\xef\xbb\xbfa,b\r\n"x\ny",1\r\n'
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_csv(edition: Edition) -> dict[str, bytes]:
    """The three CSV files of an edition: file name → bytes."""
    return {
        file_name(edition.name, "requirements.csv"): csv_bytes(REQUIREMENT_COLUMNS, requirement_rows(edition)),
        file_name(edition.name, "correlations.csv"): csv_bytes(CORRELATION_COLUMNS, correlation_rows(edition)),
        file_name(edition.name, "unplaced.csv"): csv_bytes(UNPLACED_COLUMNS, unplaced_rows(edition)),
    }


# --- XLSX --------------------------------------------------------------------------------------------

REQUIREMENT_WIDTHS = (16, 14, 30, 6, 70, 16, 16, 16, 24, 40)
CORRELATION_WIDTHS = (6, 18, 18, 18, 50, 40)
UNPLACED_WIDTHS = (16, 14, 30, 8, 40, 70, 18, 40)
AUDIT_WIDTHS = (12, 14, 36)


def to_xlsx(edition: Edition) -> bytes:
    """The edition as one workbook: 遵守事項 (with the audit columns), 相関, 未配置 (also with the audit
    columns: they are requirements too) and この資料について. Same data, same bytes."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "遵守事項"
    _fill(sheet, REQUIREMENT_COLUMNS, requirement_rows(edition), REQUIREMENT_WIDTHS, audit=True, freeze="B2")
    _fill(workbook.create_sheet("相関"), CORRELATION_COLUMNS, correlation_rows(edition), CORRELATION_WIDTHS, freeze="A2")
    _fill(workbook.create_sheet("未配置"), UNPLACED_COLUMNS, unplaced_rows(edition), UNPLACED_WIDTHS, audit=True, freeze="B2")
    _about(workbook.create_sheet("この資料について"), edition)
    when = fixed_time(edition.published).astimezone(dt.timezone.utc).replace(tzinfo=None)
    props = workbook.properties
    props.creator, props.lastModifiedBy = "guideline-kb", None
    props.title = f"{edition.title or f'第{edition.name}版'} 遵守事項チェックリスト"
    props.created = props.modified = when
    return _save(workbook, fixed_time(edition.published))


def _fill(sheet, header, rows, widths, *, audit: bool = False, freeze: str) -> None:
    """Write a table into a sheet as a checklist: header bold and frozen, a filter on every column,
    widths set, text wrapped and at the top of its cell; with ``audit``, the empty 対応状況・担当・
    備考（院内） columns and a list to pick 対応状況 from."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    header = [*header, *(AUDIT_COLUMNS if audit else ())]
    widths = [*widths, *(AUDIT_WIDTHS if audit else ())]
    sheet.append(header)
    for row in rows:
        sheet.append([*row, *([None] * len(AUDIT_COLUMNS) if audit else ())])
    wrap = None  # the style of a wrapped cell, made once and copied (setting it cell by cell looks it up each time)
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":  # text from a source that starts with "=" is text, never a formula
                cell.data_type = "s"
            if wrap is None:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                wrap = cell._style
            else:
                cell._style = copy.copy(wrap)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
    for column, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    for number, row in enumerate(rows, 2):  # spreadsheets do not size a row to its wrapped text by themselves
        sheet.row_dimensions[number].height = row_height(row, widths)
    last = get_column_letter(len(header))
    sheet.auto_filter.ref = f"A1:{last}{max(len(rows) + 1, 2)}"
    sheet.freeze_panes = freeze
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if audit:
        state = get_column_letter(len(header) - len(AUDIT_COLUMNS) + 1)
        choice = DataValidation(type="list", formula1='"' + ",".join(AUDIT_STATES) + '"', allow_blank=True,
                                showErrorMessage=True, showInputMessage=True,
                                errorTitle="対応状況", error="一覧から選んでください: " + "、".join(AUDIT_STATES),
                                promptTitle="対応状況", prompt="、".join(AUDIT_STATES) + " から選びます")
        choice.add(f"{state}2:{state}{max(len(rows) + 1, 2)}")
        sheet.add_data_validation(choice)


LINE_HEIGHT = 15  # points: one line of the default 11 pt font


def text_width(text: str) -> int:
    """How many column-width units a line of text takes: a wide (CJK) character two, others one.

    >>> text_width("TLS 1.2 以上")
    12
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def row_height(values, widths) -> float:
    """The height (points) that shows every cell of a row whole, wrapped in its column's width.

    >>> row_height(["一行", "a\\nb\\nc"], [10, 10])
    45
    """
    lines = 1
    for value, width in zip(values, widths):
        text = "" if value is None else str(value)
        usable = max(width - 1, 1)
        lines = max(lines, sum(max(1, -(-text_width(line) // usable)) for line in text.split("\n")))
    return lines * LINE_HEIGHT


def _about(sheet, edition: Edition) -> None:
    """The sheet that says what the workbook is: the edition, where it comes from, what each sheet holds."""
    from openpyxl.styles import Alignment, Font

    counts = {v: sum(r.volume == v for r in edition.requirements) for v in VOLUMES}
    lines = [
        ("題", edition.title or f"第{edition.name}版"),
        ("版", edition.name),
        ("公表", edition.published or "（不明）"),
        ("厚生労働省のページ", edition.url or "（なし）"),
        ("遵守事項", f"{len(edition.requirements)} 件（" + "、".join(f"{VOLUME_NAMES[v]} {counts[v]} 件" for v in VOLUMES) + "）"),
        ("相関", f"{len(edition.correlations)} 行"),
        ("未配置", f"{len(edition.unplaced)} 件（読めたが編・節・番号を決められず、ID を付けられなかったもの）"),
        ("データ", data_hash(edition)),
        ("遵守事項のシート", "1 行が 1 つの遵守事項。経営管理編・企画管理編・システム運用編の列は相関する他の編の遵守事項の ID、"
                      "備考は相関表の備考（第5.2版との対応）。対応状況・担当・備考（院内）は点検に使う空の列です"),
        ("相関のシート", "各編間相関表の 1 行が 1 行（同じ内容の行はまとめています）"),
        ("未配置のシート", "元資料から読めたが ID を付けられなかった遵守事項（全文と理由）"),
        ("注意", "元資料（OCR を含む）から機械で読み取ったものです。原文は必ず厚生労働省の公表資料で確かめてください"),
    ]
    for line in lines:
        sheet.append(line)
    for cell in sheet["A"]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.data_type == "f":
                cell.data_type = "s"
    sheet.column_dimensions["A"].width = 20
    sheet.column_dimensions["B"].width = 100
    for number, line in enumerate(lines, 1):
        sheet.row_dimensions[number].height = row_height(line, (20, 100))


def _save(workbook, when: dt.datetime) -> bytes:
    """The workbook's bytes, the same each time: openpyxl's writer (not ``save``, which stamps the
    modified time with the clock), then every zip entry again with the one fixed time."""
    from openpyxl.writer.excel import ExcelWriter

    written = io.BytesIO()
    ExcelWriter(workbook, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED)).save()
    return fixed_zip(written.getvalue(), when)


def fixed_zip(data: bytes, when: dt.datetime) -> bytes:
    """A zip archive again, every entry in the same order and content with the time ``when``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            target.writestr(info, source.read(entry))
    return out.getvalue()


# --- JSONL -------------------------------------------------------------------------------------------


def records(edition: Edition) -> list[dict]:
    """Every record as ``guideline-kb show --json`` gives it: the requirements in ID order (with
    ``placed``, ``related`` and ``notes``), then the unplaced items (with ``placed`` false)."""
    related, notes = related_ids(edition), notes_of(edition)
    rows = [r.to_dict() | {"placed": True, "related": related.get(r.id, {}), "notes": notes.get(r.id, [])} for r in edition.requirements]
    return rows + [u.to_dict() | {"placed": False} for u in edition.unplaced]


def to_jsonl(edition: Edition) -> bytes:
    """The records (``records``), one JSON object a line, UTF-8."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records(edition)).encode("utf-8")


# --- OSCAL -------------------------------------------------------------------------------------------

OSCAL_VERSION = "1.2.1"
# The namespace of this tool's own props and part names, and of its uuid5s (uuid5(NAMESPACE_URL, OSCAL_NS)).
OSCAL_NS = "urn:guideline-kb:oscal"
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, OSCAL_NS)
RELATIONSHIP = "intersects-with"  # a row of the table: the requirements overlap, each with content of its own


def stable_uuid(edition: str, *parts: str) -> str:
    """A UUID that is the same for the same edition and parts in every export (uuid5).

    >>> stable_uuid("6.0", "control", "gov-1.1-1") == stable_uuid("6.0", "control", "gov-1.1-1")
    True
    >>> stable_uuid("6.0", "catalog")[14]  # version 5
    '5'
    """
    return str(uuid.uuid5(UUID_NAMESPACE, "/".join((edition, *parts))))


def oscal_id(record_id: str) -> str:
    """An OSCAL identifier (a token: a letter or ``_``, then letters, digits, ``.``, ``-``, ``_``) for
    an ID. The IDs of this knowledge base already are tokens and are kept as they are; any other
    character becomes ``_``, and one that does not start with a letter gets a ``_`` in front.

    >>> oscal_id("gov-1.3.2-1"), oscal_id("ctrl-13-6"), oscal_id("6.0 x")
    ('gov-1.3.2-1', 'ctrl-13-6', '_6.0_x')
    """
    def allowed(ch: str) -> bool:
        return unicodedata.category(ch)[0] in "LN" or ch in ".-_"

    token = "".join(ch if allowed(ch) else "_" for ch in record_id)
    return token if token[:1] == "_" or (token and unicodedata.category(token[0])[0] == "L") else "_" + token


def group_id(volume: str, section: str) -> str:
    """The OSCAL id of a section's group.

    >>> group_id("gov", "1.3.2")
    'gov-section-1.3.2'
    """
    return oscal_id(f"{volume}-section-{section}")


_MD_INLINE = re.compile(r"([\\`*_\[\]<>&|])")
# What starts a block at a line's start: a quote; a list item, heading or rule (a mark and a space, or a
# run of the mark); a numbered item ("1. "). "6.11C6" or "-foo" start none.
_MD_BLOCK = re.compile(r"^(\s*)(>|([#+=~*-])(?=\s|$|\3))")
_MD_NUMBERED = re.compile(r"^(\s*[0-9]{1,9})([.)])(?=\s|$)")


def markdown(text: str) -> str:
    r"""Plain text as OSCAL markup (Markdown) that shows the same text: the characters Markdown would
    read escaped with ``\``, a line break inside the text as a hard break (two spaces, line end).

    >>> markdown("次の対策を行うこと。\n－遮断\n1. 報告 *重要*")
    '次の対策を行うこと。  \n－遮断  \n1\\. 報告 \\*重要\\*'
    >>> markdown("6.11C6 10C1(7)"), markdown("- 項目"), markdown("-項目")
    ('6.11C6 10C1(7)', '\\- 項目', '-項目')
    """
    lines = []
    for line in text.split("\n"):
        line = _MD_INLINE.sub(r"\\\1", line)
        line = _MD_BLOCK.sub(r"\1\\\2", line, count=1)
        lines.append(_MD_NUMBERED.sub(r"\1\\\2", line))
    return "  \n".join(lines)


def plain(prose: str) -> str:
    r"""The text that ``markdown`` made markup of.

    >>> text = "次の対策を行うこと。\n－遮断\n1. 報告 *重要* a\\b"
    >>> plain(markdown(text)) == text
    True
    """
    return re.sub(r"\\(.)", r"\1", prose.replace("  \n", "\n"))


def one_line(text: str) -> str:
    """A value for an OSCAL string (one line, no space at either end)."""
    return " ".join(text.split()) or "-"


def _metadata(edition: Edition, title: str, remarks: str) -> dict:
    stamp = fixed_time(edition.published).isoformat()
    metadata = {
        "title": markdown(one_line(title)),
        "published": stamp,
        "last-modified": stamp,
        "version": edition.name,
        "oscal-version": OSCAL_VERSION,
        "props": [{"name": "data-hash", "ns": OSCAL_NS, "value": data_hash(edition)}],
    }
    if edition.url:
        metadata["links"] = [{"href": edition.url, "rel": "reference", "text": f"厚生労働省の第{edition.name}版のページ"}]
    metadata["remarks"] = remarks
    return metadata


def oscal_catalog(edition: Edition) -> dict:
    """The edition as an OSCAL catalog: a group per volume, in it a group per section (title: the
    section's title, label: its number), in it a control per requirement. A control's id is its ID
    (``oscal_id``), kept also as its ``label``; its ``statement`` part holds the text; props give
    the item number and the sources; the 備考 is a ``notes`` part; each correlated requirement of
    another volume is a link (``rel="related"``) to its control. Unplaced items are not in it (they
    have no ID): the CSV, XLSX and JSONL exports have them."""
    related, notes = related_ids(edition), notes_of(edition)
    groups = []
    for volume in VOLUMES:
        reqs = [r for r in edition.requirements if r.volume == volume]
        if not reqs:
            continue
        sections: dict[str, list[Requirement]] = {}
        for req in sorted(reqs, key=lambda r: (section_key(r.section), r.item)):
            sections.setdefault(req.section, []).append(req)
        groups.append({
            "id": oscal_id(volume), "class": "volume", "title": VOLUME_NAMES[volume],
            "groups": [{
                "id": group_id(volume, section), "class": "section",
                "title": markdown(one_line(members[0].section_title or section)),
                "props": [{"name": "label", "value": section}],
                "controls": [_control(req, related.get(req.id, {}), notes.get(req.id, [])) for req in members],
            } for section, members in sections.items()],
        })
    remarks = (f"厚生労働省「{edition.title or '医療情報システムの安全管理に関するガイドライン'}」の各編間相関表から guideline-kb が読み取った遵守事項です"
               f"（OCR を含む元資料から機械で読み取ったもの。原文は必ず厚生労働省の公表資料で確かめてください）。"
               f"control の id と label は遵守事項の ID（編-節-番号）です。"
               f"編・節・番号を決められなかった未配置の遵守事項 {len(edition.unplaced)} 件はこのカタログにはありません"
               f"（CSV・XLSX・JSONL の書き出しにあります）。")
    catalog = {"uuid": stable_uuid(edition.name, "catalog"),
               "metadata": _metadata(edition, f"{edition.title or f'第{edition.name}版'} 遵守事項", remarks)}
    if groups:
        catalog["groups"] = groups
    return {"catalog": catalog}


def _control(req: Requirement, links: dict[str, list[str]], notes: list[dict]) -> dict:
    control_id = oscal_id(req.id)
    number = CIRCLED[req.item - 1] if 1 <= req.item <= len(CIRCLED) else f"({req.item})"
    control = {
        "id": control_id,
        "class": "requirement",
        "title": markdown(one_line(f"{req.section_title or req.section} {number}")),
        "props": [{"name": "label", "value": req.id},
                  {"name": "item", "ns": OSCAL_NS, "value": str(req.item)},
                  *({"name": "source", "ns": OSCAL_NS, "value": one_line(str(s))} for s in req.sources)],
    }
    targets = [other for volume in VOLUMES for other in links.get(volume, [])]
    if targets:
        control["links"] = [{"href": f"#{oscal_id(other)}", "rel": "related", "text": other} for other in targets]
    parts = [{"id": f"{control_id}_smt", "name": "statement", "prose": markdown(req.text)}]
    if notes:
        parts.append({"id": f"{control_id}_notes", "name": "notes", "ns": OSCAL_NS, "title": "備考（第5.2版との対応）",
                      "prose": "\n\n".join(markdown(n["text"]) for n in notes)})
    control["parts"] = parts
    return control


def oscal_mapping(edition: Edition) -> dict | None:
    """The correlation table as an OSCAL mapping collection (OSCAL 1.2): a mapping per pair of volumes
    (経営管理編 → 企画管理編, 経営管理編 → システム運用編, 企画管理編 → システム運用編), from the catalog to
    itself, and in it a map per row of the table that has requirements of both: relationship
    ``intersects-with``, the row's IDs as sources and targets, its 備考 as remarks. ``None`` for an
    edition without correlations (OSCAL wants at least one map)."""
    catalog = file_name(edition.name, "oscal-catalog.json")
    mappings = []
    for n, source in enumerate(VOLUMES):
        for target in VOLUMES[n + 1:]:
            maps = [_map(edition.name, corr, source, target) for corr in edition.correlations
                    if corr.members.get(source) and corr.members.get(target)]
            if not maps:
                continue
            mappings.append({
                "uuid": stable_uuid(edition.name, "mapping", source, target),
                "source-resource": _resource(catalog, source),
                "target-resource": _resource(catalog, target),
                "maps": maps,
            })
    if not mappings:
        return None
    description = (f"厚生労働省が各編間相関表で示した、第{edition.name}版の経営管理編・企画管理編・システム運用編の遵守事項の対応です"
                   f"（表の 1 行が 1 つの map。guideline-kb が元資料から読み取ったもの）。")
    status = "complete" if not edition.unplaced else "not-complete"  # an unplaced item's row is missing its ID
    return {"mapping-collection": {
        "uuid": stable_uuid(edition.name, "mapping-collection"),
        "metadata": _metadata(edition, f"{edition.title or f'第{edition.name}版'} 各編間相関表",
                              description + ("" if status == "complete" else
                                             f"未配置の遵守事項 {len(edition.unplaced)} 件は ID がないため map に含まれません。")),
        "provenance": {"method": "human", "matching-rationale": "semantic", "status": status, "mapping-description": description},
        "mappings": mappings,
    }}


def _resource(catalog: str, volume: str) -> dict:
    return {"type": "catalog", "href": catalog, "props": [{"name": "volume", "ns": OSCAL_NS, "value": VOLUME_NAMES[volume]}]}


def _map(edition: str, corr: Correlation, source: str, target: str) -> dict:
    entry = {
        "uuid": stable_uuid(edition, "map", corr.id, source, target),
        "relationship": RELATIONSHIP,
        "sources": [{"type": "control", "id-ref": oscal_id(i)} for i in corr.members[source]],
        "targets": [{"type": "control", "id-ref": oscal_id(i)} for i in corr.members[target]],
    }
    if corr.sources:
        entry["props"] = [{"name": "source", "ns": OSCAL_NS, "value": one_line(str(s))} for s in corr.sources]
    notes = [f"{'、'.join(n.get('annotates', []))}: {n.get('text', '')}" for n in corr.notes]
    if notes:
        entry["remarks"] = "\n\n".join(markdown(n) for n in notes)
    return entry


def oscal_json(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_oscal(edition: Edition) -> dict[str, bytes]:
    """The OSCAL files of an edition: the catalog, and the mapping collection where there are correlations."""
    files = {file_name(edition.name, "oscal-catalog.json"): oscal_json(oscal_catalog(edition))}
    mapping = oscal_mapping(edition)
    if mapping is not None:
        files[file_name(edition.name, "oscal-mapping.json")] = oscal_json(mapping)
    return files


# --- formats, files ----------------------------------------------------------------------------------

FORMATS = {
    "csv": to_csv,
    "xlsx": lambda edition: {file_name(edition.name, "xlsx"): to_xlsx(edition)},
    "jsonl": lambda edition: {file_name(edition.name, "jsonl"): to_jsonl(edition)},
    "oscal": to_oscal,
}

# What the site's ダウンロード list offers: (file name without the edition's prefix, what it is).
DOWNLOADS = (
    ("xlsx", "Excel（遵守事項・相関・未配置のシート。対応状況・担当・備考（院内）の列つきの点検表）"),
    ("requirements.csv", "CSV: 遵守事項（UTF-8 BOM つき。Excel でそのまま開けます）"),
    ("correlations.csv", "CSV: 各編間相関表"),
    ("unplaced.csv", "CSV: 未配置の遵守事項"),
    ("jsonl", "JSON Lines: 遵守事項と未配置の遵守事項（guideline-kb show --json と同じ形）"),
    ("oscal-catalog.json", f"OSCAL {OSCAL_VERSION} カタログ（遵守事項を control として）"),
    ("oscal-mapping.json", f"OSCAL {OSCAL_VERSION} マッピング（各編間相関表）"),
)


def file_name(edition: str, suffix: str) -> str:
    """An export's file name: the edition in it, so that files of several editions can sit together.

    >>> file_name("6.0", "requirements.csv")
    'guideline-kb-6.0-requirements.csv'
    """
    return f"guideline-kb-{edition}{'.' if '.' not in suffix else '-'}{suffix}"


ALL_FORMATS = "all"


def formats(values) -> list[str]:
    """The formats asked for (``--format``, given once or more; ``all`` for every one), checked.

    >>> formats(["XLSX", "csv", "xlsx"]), formats(["all"])
    (['xlsx', 'csv'], ['csv', 'xlsx', 'jsonl', 'oscal'])
    """
    wanted = [unicodedata.normalize("NFKC", v).strip().lower() for v in values]
    if not wanted:
        raise ExportError(f"--format を指定してください（{'、'.join(FORMATS)}、すべてなら all）")
    for value, typed in zip(wanted, values):
        if value != ALL_FORMATS and value not in FORMATS:
            raise ExportError(f"--format {' '.join(typed.split())[:40]}: その形式はありません（{'、'.join(FORMATS)} か all を指定してください）")
    return list(FORMATS) if ALL_FORMATS in wanted else list(dict.fromkeys(wanted))


def export(edition: Edition, fmt: str) -> dict[str, bytes]:
    """An edition in one format (``FORMATS``): file name → bytes."""
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt}: その形式はありません（{'、'.join(FORMATS)} のどれかを指定してください）")
    return FORMATS[fmt](edition)


def write(edition: Edition, formats, folder: Path) -> list[Path]:
    """Write an edition's exports in ``formats`` into ``folder`` (made if missing); return the files.
    Each file is written beside itself and renamed into place, so a reader never sees half of one."""
    files = {name: data for fmt in formats for name, data in export(edition, fmt).items()}
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = folder / name
        temporary = folder / f".{name}.tmp-{os.getpid()}"
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        written.append(path)
    return written


def write_downloads(out_dir: Path, site_dir: Path, *, editions: list[str] | None = None) -> list[Path]:
    """The site's downloads: every format of every edition (or of those in ``editions``) into
    ``site/downloads/<edition>/``."""
    from .store import edition_folders

    written = []
    for folder in edition_folders(out_dir):
        if editions is not None and folder.name not in editions:
            continue
        written += write(load(out_dir, folder.name), FORMATS, site_dir / DOWNLOADS_DIR / folder.name)
    return written


DOWNLOADS_DIR = "downloads"


def download_links(edition: str, *, up: str = "", correlations: int = 1) -> list[str]:
    """The site's ダウンロード list for an edition, as Markdown list items holding raw HTML links
    (mkdocs does not check them: the files are written after the build). ``up`` is the way from the
    page to the site's root; the OSCAL mapping is left out of an edition without correlations.

    >>> download_links("6.0", up="../")[0]  # doctest: +ELLIPSIS
    '- <a href="../downloads/6.0/guideline-kb-6.0.xlsx" download>guideline-kb-6.0.xlsx</a>: Excel（...'
    """
    lines = []
    for suffix, what in DOWNLOADS:
        if suffix == "oscal-mapping.json" and not correlations:
            continue
        name = file_name(edition, suffix)
        href = html.escape(f"{up}{DOWNLOADS_DIR}/{edition}/{name}", quote=True)
        lines.append(f'- <a href="{href}" download>{html.escape(name)}</a>: {html.escape(what)}')
    return lines
