"""What a reader's browser loads does not grow with the number of editions (issue 13): a chapter
page, the search index that mkdocs-material loads, the home page. Twelve copies of the sample's
edition against one."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from pipeline import build as pipeline

from .conftest import CONFIG, RAW


def site_of(tmp_path, editions: int):
    folder = tmp_path / f"x{editions}"
    for n in range(editions):
        name = "6.0" if n == 0 else f"6.0.{n}"
        shutil.copytree(RAW / "6.0", folder / "raw" / name)
        manifest = folder / "raw" / name / "manifest.toml"
        manifest.write_text(manifest.read_text(encoding="utf-8").replace('edition = "6.0"', f'edition = "{name}"'), encoding="utf-8")
    pipeline.build(folder / "raw", folder / "extracted", folder / "site", CONFIG)
    return folder / "site"


@pytest.mark.slow
def test_pages_and_the_search_index_stay_the_size_of_one_edition(tmp_path):
    one, twelve = site_of(tmp_path, 1), site_of(tmp_path, 12)
    size = lambda site, page: (site / page).stat().st_size  # noqa: E731
    assert size(twelve, "6.0/gov/1.html") < 1.25 * size(one, "6.0/gov/1.html")  # the nav and the 版 line
    assert size(twelve, "6.0.11/ctrl/13.html") < 1.25 * size(one, "6.0/ctrl/13.html")
    assert size(twelve, "search/search_index.json") < 1.3 * size(one, "search/search_index.json")
    home = (twelve / "index.html").read_text(encoding="utf-8")
    assert all(f'href="6.0.{n}/index.html"' in home for n in range(1, 12))  # every edition in the list
    assert len(re.findall(r'<h3 id="edition-', home)) == 3 and size(twelve, "index.html") < 2 * size(one, "index.html")
    switcher = re.search(r"版: .*?</p>", (twelve / "6.0.5/gov/1.html").read_text(encoding="utf-8")).group()
    assert switcher.count("第6.0.") == 6 and "すべての版" in switcher  # the oldest, two either side, itself, the newest
    index = json.loads((twelve / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert {doc["location"].split("#")[0].split("/")[0] for doc in index["docs"]} <= {"", "index.html", "6.0.11"}
    kb = json.loads((twelve / "search" / "kb-6.0.5.json").read_text(encoding="utf-8"))  # every edition's requirements stay searchable
    assert len(kb) == len(json.loads((one / "search" / "kb-6.0.json").read_text(encoding="utf-8")))
