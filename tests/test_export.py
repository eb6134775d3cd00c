"""guideline-kb export: CSV, XLSX, JSONL and OSCAL files of an edition, and the site's downloads."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from pipeline import export
from pipeline.model import id_key
from pipeline.store import load_requirements, load_unplaced

from .conftest import assert_refused, run_cli

SCHEMAS = Path(__file__).resolve().parent / "schemas"


@pytest.fixture(scope="module")
def edition(kb) -> export.Edition:
    return export.load(kb / "extracted", "6.0")


@pytest.fixture(scope="module")
def texts(kb) -> dict[str, str]:
    return {r.id: r.text for r in load_requirements(kb / "extracted") if r.edition == "6.0"}


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- CSV ---------------------------------------------------------------------------------------------

def test_csv_is_utf8_with_bom_and_crlf_rows(edition):
    files = export.to_csv(edition)
    assert sorted(files) == ["guideline-kb-6.0-correlations.csv", "guideline-kb-6.0-requirements.csv", "guideline-kb-6.0-unplaced.csv"]
    for name, data in files.items():
        assert data.startswith(b"\xef\xbb\xbf"), name
        text = data.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert "\r" not in "".join(cell for row in rows for cell in row), name
        assert text.endswith("\r\n") and text.count("\r\n") == len(rows), name  # every row ends CRLF, cells hold bare LF only


def test_csv_requirements_round_trip(edition, texts):
    rows = read_csv(export.to_csv(edition)["guideline-kb-6.0-requirements.csv"])
    assert list(rows[0]) == list(export.REQUIREMENT_COLUMNS)
    assert [r["ID"] for r in rows] == sorted(texts, key=id_key)
    assert {r["ID"]: r["遵守事項"] for r in rows} == texts  # every text exactly, line breaks and all
    multiline = [r for r in rows if "\n" in r["遵守事項"]]
    assert multiline, "the sample has requirements with bullet lines"
    row = {r["ID"]: r for r in rows}["gov-1.3.2-1"]
    assert row["記載箇所"].startswith("1.3.2 ") and row["番号"] == "1" and row["編"] == "経営管理編"
    assert row["企画管理編"].split("\n") == ["mgmt-7-5", "mgmt-7-7", "mgmt-7-8", "mgmt-7-9"]
    assert row["経営管理編"] == ""  # its own volume
    assert "6.11C6" in row["備考"] and row["出典"].startswith("6.0/")


def test_csv_correlations_and_unplaced(kb, edition):
    files = export.to_csv(edition)
    correlations = read_csv(files["guideline-kb-6.0-correlations.csv"])
    assert len(correlations) == len(edition.correlations)
    assert correlations[0]["経営管理編"].split("\n") == edition.correlations[0].members["gov"]
    unplaced = read_csv(files["guideline-kb-6.0-unplaced.csv"])
    expected = {u.id: u.text for u in load_unplaced(kb / "extracted") if u.edition == "6.0"}
    assert {r["ID"]: r["遵守事項"] for r in unplaced} == expected
    assert all(r["理由"] for r in unplaced)


def test_csv_cell_that_would_be_a_formula_is_text():
    assert export.csv_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert export.csv_cell("－保存した医療情報") == "－保存した医療情報"  # the full-width bullet is no formula


# --- XLSX --------------------------------------------------------------------------------------------

def open_workbook(data: bytes):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data))


def test_xlsx_is_an_audit_checklist(edition, texts):
    workbook = open_workbook(export.to_xlsx(edition))
    assert workbook.sheetnames == ["遵守事項", "相関", "未配置", "この資料について"]
    sheet = workbook["遵守事項"]
    header = [c.value for c in sheet[1]]
    assert header == [*export.REQUIREMENT_COLUMNS, *export.AUDIT_COLUMNS]
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{len(texts) + 1}"
    assert all(sheet.column_dimensions[c.column_letter].width >= 6 for c in sheet[1])
    assert sheet.column_dimensions["E"].width >= 60  # the text
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {row[0]: row[4] for row in rows} == texts  # every text exactly
    assert all(row[-3:] == (None, None, None) for row in rows)  # 対応状況・担当・備考（院内） are left to fill in
    assert all(cell.alignment.wrap_text for row in sheet.iter_rows(min_row=1) for cell in row)
    state = sheet.cell(1, len(header) - 2).column_letter
    (choice,) = sheet.data_validations.dataValidation
    assert choice.type == "list" and all(s in choice.formula1 for s in export.AUDIT_STATES)
    assert str(choice.sqref) == f"{state}2:{state}{len(texts) + 1}"
    for name in ("相関", "未配置"):
        assert workbook[name].freeze_panes and workbook[name].auto_filter.ref
    unplaced = {row[0]: row[5] for row in workbook["未配置"].iter_rows(min_row=2, values_only=True)}
    assert unplaced == {u.id: u.text for u in edition.unplaced}


def test_xlsx_text_from_a_source_is_never_a_formula(edition):
    req = dataclasses.replace(edition.requirements[0], text="=1+1 と書かれた遵守事項")
    workbook = open_workbook(export.to_xlsx(dataclasses.replace(edition, requirements=(req,))))
    cell = workbook["遵守事項"]["E2"]
    assert cell.value == "=1+1 と書かれた遵守事項" and cell.data_type == "s"


def test_xlsx_has_no_clock_in_it(edition):
    data = export.to_xlsx(edition)
    when = export.fixed_time(edition.published)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {info.date_time for info in archive.infolist()} == {when.timetuple()[:6]}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2023-04-30T15:00:00Z") == 2, core  # created and modified: 2023-05-01 00:00 JST


# --- the same data, the same bytes -------------------------------------------------------------------

@pytest.mark.parametrize("fmt", sorted(export.FORMATS))
def test_exports_are_deterministic(kb, edition, fmt):
    again = export.load(kb / "extracted", "6.0")
    first, second = export.export(edition, fmt), export.export(again, fmt)
    assert first and first == second


# --- JSONL -------------------------------------------------------------------------------------------

def test_jsonl_records_are_show_json(kb, edition, texts):
    lines = export.to_jsonl(edition).decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    placed = [r for r in records if r["placed"]]
    assert [r["id"] for r in placed] == sorted(texts, key=id_key)
    assert [r["id"] for r in records[len(placed):]] == [u.id for u in edition.unplaced]  # after the requirements
    by_id = {r["id"]: r for r in records}
    for record_id in ("gov-1.3.2-1", "mgmt-6-8", edition.unplaced[0].id):
        shown = run_cli(kb, "show", record_id, "--edition", "6.0", "--json")
        assert shown.exit_code == 0, shown.output
        assert by_id[record_id] == json.loads(shown.stdout)


# --- OSCAL -------------------------------------------------------------------------------------------

def oscal_validator(name: str):
    """A draft-07 validator for NIST's schema whose ``pattern`` uses the ``regex`` module: the schemas'
    patterns have \\p{L} and \\p{N}, which Python's ``re`` (jsonschema's default) cannot compile."""
    regex = pytest.importorskip("regex")
    from jsonschema import Draft7Validator, validators
    from jsonschema.exceptions import ValidationError

    path = SCHEMAS / f"oscal_{name}_schema.json"
    if not path.is_file():
        pytest.skip(f"{path} がありません（NIST の OSCAL JSON schema を置いてください）")

    def pattern(validator, expected, instance, schema):
        if validator.is_type(instance, "string") and not regex.search(expected, instance):
            yield ValidationError(f"{instance!r} does not match {expected!r}")

    schema = json.loads(path.read_text(encoding="utf-8"))
    return validators.extend(Draft7Validator, {"pattern": pattern})(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)]


def controls(catalog: dict) -> list[dict]:
    return [c for volume in catalog["catalog"]["groups"] for section in volume["groups"] for c in section["controls"]]


def test_oscal_catalog_is_valid_and_holds_every_requirement(edition, texts):
    validator = oscal_validator("catalog")
    catalog = export.oscal_catalog(edition)
    assert errors(validator, catalog) == []
    found = controls(catalog)
    assert [c["id"] for c in found] == [export.oscal_id(i) for i in sorted(texts, key=id_key)]
    for control in found:
        label = next(p["value"] for p in control["props"] if p["name"] == "label")
        statement = next(p for p in control["parts"] if p["name"] == "statement")
        assert export.plain(statement["prose"]) == texts[label]
    ids = {c["id"] for c in found}
    assert all(link["href"].removeprefix("#") in ids for c in found for link in c.get("links", []))
    notes = next(p for p in next(c for c in found if c["id"] == "gov-1.3.2-1")["parts"] if p["name"] == "notes")
    assert "6.11C6" in notes["prose"]
    metadata = catalog["catalog"]["metadata"]
    assert metadata["version"] == "6.0" and metadata["last-modified"] == "2023-05-01T00:00:00+09:00"
    assert metadata["oscal-version"] == json.loads((SCHEMAS / "oscal_catalog_schema.json").read_text())["$id"].split("/")[-2]


def test_oscal_validation_does_check_the_patterns(edition):
    validator = oscal_validator("catalog")
    catalog = export.oscal_catalog(edition)
    controls(catalog)[0]["id"] = "1 は OSCAL の id ではない"
    assert errors(validator, catalog)


def test_oscal_mapping_is_valid_and_holds_every_correlation(edition):
    validator = oscal_validator("mapping")
    mapping = export.oscal_mapping(edition)
    assert errors(validator, mapping) == []
    collection = mapping["mapping-collection"]
    known = {c["id"] for c in controls(export.oscal_catalog(edition))}
    maps = [item for entry in collection["mappings"] for item in entry["maps"]]
    assert all({i["id-ref"] for i in item["sources"] + item["targets"]} <= known for item in maps)
    expected = 0
    for corr in edition.correlations:
        volumes = [v for v in ("gov", "mgmt", "ctrl") if corr.members.get(v)]
        expected += len(volumes) * (len(volumes) - 1) // 2
    assert len(maps) == expected  # a map per row and pair of its volumes
    assert len({item["uuid"] for item in maps}) == len(maps)
    assert all(item["relationship"] == "intersects-with" for item in maps)


def test_oscal_ids_and_uuids_are_stable(kb, edition):
    first, second = export.oscal_catalog(edition), export.oscal_catalog(export.load(kb / "extracted", "6.0"))
    assert first == second
    document = json.dumps([first, export.oscal_mapping(edition)])
    uuids = [export.stable_uuid("6.0", "catalog"), *(m["uuid"] for m in export.oscal_mapping(edition)["mapping-collection"]["mappings"])]
    assert len(set(uuids)) == len(uuids) and all(u in document for u in uuids)
    assert export.stable_uuid("6.0", "control", "gov-1.1-1") != export.stable_uuid("6.0", "control", "gov-1.1-2")
    assert export.stable_uuid("6.0", "catalog") != export.stable_uuid("7.0", "catalog")
    assert export.oscal_id("gov-1.3.2-1") == "gov-1.3.2-1"


# --- the command line --------------------------------------------------------------------------------

def test_cli_export_writes_the_files(kb, tmp_path, edition):
    shutil.copytree(kb / "extracted", tmp_path / "extracted")
    result = run_cli(tmp_path, "export", "--format", "csv", "--format", "oscal")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "exports"  # beside extracted/
    written = sorted(p.name for p in folder.iterdir())
    assert written == sorted([*export.to_csv(edition), *export.to_oscal(edition)])
    assert [Path(line).name for line in result.stdout.splitlines()] == [*export.to_csv(edition), *export.to_oscal(edition)]
    assert (folder / "guideline-kb-6.0-requirements.csv").read_bytes() == export.to_csv(edition)["guideline-kb-6.0-requirements.csv"]
    result = run_cli(tmp_path, "export", "--format", "all", "--edition", "第6.0版", "--output", str(tmp_path / "x"))
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "x").iterdir()} == {n for fmt in export.FORMATS for n in export.export(edition, fmt)}


@pytest.mark.parametrize("args, expected", [
    (["--format", "pdf"], "--format pdf"),
    (["--format", "csv", "--edition", "9.9"], "--edition 9.9"),
    ([], "--format"),
])
def test_cli_export_refuses_in_one_line(kb, tmp_path, args, expected):
    result = run_cli(kb, "export", *args, "--output", str(tmp_path / "out"))
    assert_refused(result, expected)
    assert not (tmp_path / "out").exists()


def test_cli_export_keeps_out_of_extracted(kb):
    before = sorted(p.name for p in (kb / "extracted" / "6.0").iterdir())
    assert_refused(run_cli(kb, "export", "--format", "csv", "--output", str(kb / "extracted" / "6.0")), "--output")
    assert sorted(p.name for p in (kb / "extracted" / "6.0").iterdir()) == before


# --- the site's downloads ----------------------------------------------------------------------------

def test_site_links_the_downloads(kb, edition):
    folder = kb / "site" / "downloads" / "6.0"
    expected = {n: data for fmt in export.FORMATS for n, data in export.export(edition, fmt).items()}
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == expected
    home = (kb / "site" / "index.html").read_text(encoding="utf-8")
    page = (kb / "site" / "6.0" / "index.html").read_text(encoding="utf-8")
    for name in expected:
        assert f'href="downloads/6.0/{name}"' in home
        assert f'href="../downloads/6.0/{name}"' in page
    assert "ダウンロード" in home and "ダウンロード" in page


def test_an_edition_is_read_from_its_own_folder_alone(kb, monkeypatch):
    """The site writes every edition's downloads: reading every edition's records for each one was
    quadratic in the editions (31.7 s of 100 copies of the sample)."""
    from pipeline import store

    out = kb / "extracted"
    expected = (sorted((r for r in load_requirements(out) if r.edition == "6.0"), key=lambda r: id_key(r.id)),
                [c for c in store.load_correlations(out) if c.edition == "6.0"],
                sorted((u.id for u in load_unplaced(out) if u.edition == "6.0"), key=export.unplaced_key))

    def refused(*args, **kwargs):
        raise AssertionError("every edition read for one")

    for name in ("load_requirements", "load_correlations", "load_unplaced"):
        monkeypatch.setattr(store, name, refused)
    alone = export.load(out, "6.0")
    assert (list(alone.requirements), list(alone.correlations), [u.id for u in alone.unplaced]) == expected
    assert len(alone.requirements) > 90 and alone.correlations and alone.unplaced
