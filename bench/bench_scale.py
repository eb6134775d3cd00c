"""Every stage at 1×, 10×, 100× the real sample: seconds, ms per requirement and peak RSS per stage.

    python bench/bench_scale.py [--scales 1,10,100] [--pdf-pages 550] [--site-search] [--profile]

Scale N is a raw/ folder of N editions, each a copy of raw/6.0 under another edition name (6.0,
6.0.1 … 6.0.<N-1>): N × the requirements, so a stage whose cost grows faster than its input shows a
rising ms per requirement (and a rising marginal cost between two scales). Each stage runs in its own
child process, and its peak RSS is that child's (``os.wait4``):

    extract     ``extract()`` into an empty extracted/ (ingest … write, and the index it builds); where the
                runs take under 20 s in all (1×, 10×), run ``--extract-runs`` times into empty folders,
                each stage's seconds the median of the runs
    site        ``build()`` right after: the data is unchanged, so only the site is made (mkdocs in
                the child, and beside it a second process making the search data, permalinks and
                downloads: its wall seconds are compared, and both processes' CPU seconds shown)
    no-op       ``guideline-kb build`` again (it should say 変更はありません), as a user runs it
    index       ``index()``: the index alone, from extracted/
    mkdocs      the same pages (``site.generate_docs``), the same config, through plain ``mkdocs build``
                alone, then each of build_site's steps after mkdocs, each timed
    search      warm ``Searcher.search`` (this process, the newest edition, the queries of
                tests/relevance/*.tsv) p50/p99; cold ``guideline-kb search`` process seconds

Also, at each scale > 1, one edition whose OCR text is the sample's table N times (the same sections,
so the same IDs: the reader merges the repeated rows into the same requirements; its cost is shown
per line read). With ``--pdf-pages``, the truth table (tests/corpus.py, TrueType, A3) repeated into
a PDF of about that many pages, ``guideline-kb extract`` on it next to bare pdfplumber
(``extract_tables`` and ``page.close()`` on every page). With ``--site-search``, at the smallest and
the largest scale: a fresh Chromium (Debian's, through playwright) loads the home page and types one
query; the bytes the server sent until the first results show, and the milliseconds. With
``--profile``, the stages that miss a floor at the largest scale run again under cProfile and the
top functions are printed.

The pipeline's code is copied (and compiled) at the start and every child runs that copy, so edits made to
pipeline/ while the bench runs (which change the code's hash and so defeat the no-op build) do not
mix into one run (``--live`` runs the working tree instead). Figures are for one machine, not
assertions. A stage that runs longer than ``--stage-timeout`` seconds is stopped, and no larger
scale is run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RELEVANCE = REPO / "tests" / "relevance"
# the extract stage (index apart): "sudachi" is the load of Sudachi's dictionary, once, before the editions are
# read; correct reads with it, and so does the index after (it is no part of correct's time, but of extract's)
STAGES = ("sudachi", "ingest", "normalize", "place", "correct", "link", "write")
CHROMIUM = "/usr/bin/chromium"
FLOOR_GROWTH = 1.3  # per-item cost at the largest scale ÷ at 1×
FLOOR_SITE_RATIO = 1.3  # site stage ÷ plain mkdocs build
FLOOR_CORRECT = 0.30  # correct ÷ extract
EXTRACT_BUDGET = 20  # seconds of child processes for the extract stage run again (``extract_again``)
FLOOR_PDF_RSS = 400  # MB
FLOOR_NOOP = {1: 1.0, 100: 3.0}  # seconds
FLOOR_FETCH = 1_000_000  # bytes
FLOOR_FIRST_RESULTS = 1000  # ms
FLOOR_P99 = 50  # ms
CHANGE = ("窓口の設置等の対策を行うこと。", "窓口を設置すること。")  # one requirement of one edition, as a maintainer edits a source


# --- child processes ---------------------------------------------------------------------------------

def run_child(cmd: list[str], *, cwd: Path, env: dict, timeout: float) -> dict:
    """Run a command; return its exit code, wall seconds, peak RSS (MB, of it and its waited-for
    children: ``wait4``), stdout and stderr. Past ``timeout`` seconds its process group is killed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        timed_out, pid = False, 0
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - start > timeout:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)  # the group of the child started here, only
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.02)
        finally:
            if not pid:  # interrupted (Ctrl-C, SIGTERM): take the child down with us
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"rc": proc.returncode, "wall": wall, "rss": usage.ru_maxrss / 1024, "timed_out": timed_out,
                "cpu": usage.ru_utime + usage.ru_stime,  # of it and its waited-for children (the site's second process)
                "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}


class Runner:
    """Runs children against one copy of the pipeline's code."""

    def __init__(self, code_root: Path, timeout: float, profile_timeout: float = 3600):
        self.code_root = code_root
        self.timeout = timeout
        self.profile_timeout = profile_timeout
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(code_root), os.environ.get("PYTHONPATH")])),
                        PYTHONDONTWRITEBYTECODE="")

    def library(self, job: dict, cwd: Path) -> dict:
        """A stage through the library in a child (``--child``): its Timings, wall and peak RSS."""
        got = run_child([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)], cwd=cwd, env=self.env,
                        timeout=self.timeout)
        result = {"wall_process": got["wall"], "cpu_process": got["cpu"], "rss": got["rss"], "timed_out": got["timed_out"], "rc": got["rc"]}
        if got["rc"] == 0 and not got["timed_out"]:
            result.update(json.loads(got["stdout"].strip().splitlines()[-1]))
        else:
            result["error"] = (got["stderr"].strip().splitlines() or ["timed out"])[-1][:300]
        return result

    def cli(self, args: list[str], cwd: Path) -> dict:
        """``python -m pipeline …`` (``guideline-kb``) in a child."""
        return run_child([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=self.env, timeout=self.timeout)


def child(job: dict) -> None:
    """In the child: run one stage, print one line of JSON (Timings, notes, seconds)."""
    import cProfile

    profile = cProfile.Profile() if job.get("profile") else None
    p = {k: Path(v) for k, v in job.items() if k in ("raw", "out", "site", "config", "docs", "pdf")}
    stage = job["stage"]
    from pipeline.build import Timings
    from pipeline import build as pipeline

    timings = Timings()
    extra: dict = {}
    start = time.perf_counter()
    if profile:
        profile.enable()
    if stage == "extract":
        pipeline.extract(p["raw"], p["out"], p["site"], timings=timings, force=job.get("force", False))
    elif stage == "build":
        pipeline.build(p["raw"], p["out"], p["site"], p["config"], timings=timings)
    elif stage == "site":
        pipeline.site(p["raw"], p["out"], p["site"], p["config"], timings=timings)
    elif stage == "index":
        pipeline.index(p["raw"], p["out"], p["site"], timings=timings)
    elif stage == "read" and job.get("afresh"):
        # every edition's texts as new to Sudachi: its readings (kept by text, so the copied editions would
        # find them made) are forgotten before each edition's correction, as for an edition of new text
        from pipeline import correct

        def afresh(*args, **kwargs):
            correct._analyse.cache_clear()
            correct._one_dictionary_word.cache_clear()
            return correct.correct_rows(*args, **kwargs)

        pipeline.correct_rows = afresh
        pipeline.read_editions(p["raw"], timings=timings)
    elif stage == "read":  # ingest … correct of every edition, nothing written (for the profile of extract)
        pipeline.read_editions(p["raw"], timings=timings)
    elif stage == "mkdocs":
        extra = plain_mkdocs(p["out"], p["site"], p["docs"], p["config"])
    elif stage == "pdfplumber":
        extra = bare_pdfplumber(p["pdf"])
    else:
        raise SystemExit(f"unknown stage {stage}")
    if profile:
        profile.disable()
        profile.dump_stats(job["profile"])
    print(json.dumps({"seconds": timings.seconds, "notes": timings.notes, "wall": time.perf_counter() - start, **extra},
                     ensure_ascii=False))


def plain_mkdocs(out_dir: Path, site_dir: Path, docs: Path, config: Path) -> dict:
    """What ``site.build_site`` does, step by step and timed: the pages, then plain ``mkdocs build``
    over them with the same config (strict, the same nav and theme overrides), then its steps after
    mkdocs. The ratio of the site stage to ``mkdocs`` is what the pipeline adds around mkdocs."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    from pipeline import site as site_module
    from pipeline.export import write_downloads
    from pipeline.sitesearch import OVERRIDES, add_search_terms, write_search_data

    steps: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):
        t = time.perf_counter()
        value = fn(*args, **kwargs)
        steps[name] = time.perf_counter() - t
        return value

    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir(parents=True)
    nav = timed("generate_docs", site_module.generate_docs, out_dir, docs)
    cfg = timed("load_config", load_config, str(config), docs_dir=str(docs), site_dir=str(site_dir), nav=nav, strict=True)
    cfg.theme.dirs.insert(0, str(OVERRIDES))
    timed("mkdocs_build", mkdocs_build, cfg)
    timed("add_search_terms", add_search_terms, site_dir / "search" / "search_index.json")
    timed("write_search_data", write_search_data, out_dir, site_dir)
    timed("write_permalinks", site_module.write_permalinks, out_dir, site_dir)
    timed("write_downloads", write_downloads, out_dir, site_dir)
    timed("harden_site", site_module.harden_site, site_dir)
    pages = sum(1 for _ in docs.rglob("*.md"))
    html_bytes = sum(f.stat().st_size for f in site_dir.rglob("*.html"))
    return {"steps": steps, "pages": pages, "html_bytes": html_bytes,
            "search_index_bytes": (site_dir / "search" / "search_index.json").stat().st_size}


def bare_pdfplumber(pdf: Path) -> dict:
    import pdfplumber

    tables = 0
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            tables += len(page.extract_tables())
            page.close()
        return {"pages": len(doc.pages), "tables": tables}


# --- inputs ------------------------------------------------------------------------------------------

def edition_name(n: int) -> str:
    return "6.0" if n == 0 else f"6.0.{n}"


def make_editions(raw: Path, factor: int) -> None:
    """raw/ with ``factor`` editions: raw/6.0 copied under other edition names."""
    source = REPO / "raw" / "6.0"
    for n in range(factor):
        name = edition_name(n)
        shutil.copytree(source, raw / name)
        manifest = raw / name / "manifest.toml"
        text, count = re.subn(r'(?m)^edition = "6\.0"$', f'edition = "{name}"', manifest.read_text(encoding="utf-8"))
        assert count == 1, "raw/6.0/manifest.toml has no edition = \"6.0\" line"
        manifest.write_text(text, encoding="utf-8")


def make_repeated(raw: Path, factor: int) -> int:
    """raw/ with one edition whose OCR text is the sample's table ``factor`` times; return its lines."""
    source = REPO / "raw" / "6.0"
    shutil.copytree(source, raw / "6.0")
    text_file = next(p for p in (raw / "6.0").iterdir() if p.name.endswith(".ocr.txt"))
    text = text_file.read_text(encoding="utf-8")
    text = text if text.endswith("\n") else text + "\n"
    text_file.write_text(text * factor, encoding="utf-8")
    return (text * factor).count("\n")


def make_pdf_edition(raw: Path, pdf: Path) -> None:
    folder = raw / "6.0"
    folder.mkdir(parents=True)
    for name in ("toc.tsv",):
        if (REPO / "raw" / "6.0" / name).exists():
            shutil.copy(REPO / "raw" / "6.0" / name, folder / name)
    shutil.copy(pdf, folder / pdf.name)
    (folder / "manifest.toml").write_text(
        'edition = "6.0"\ntitle = "bench_scale: the truth table repeated"\n\n'
        f'[[sources]]\nfile = "{pdf.name}"\nkind = "pdf"\n', encoding="utf-8")


def render_pdf(target_pages: int, folder: Path) -> tuple[Path, int, int]:
    """The truth table repeated until the PDF has about ``target_pages`` pages (TrueType, A3);
    return the file, its pages and the repeats."""
    sys.path.insert(1, str(REPO))
    from tests.corpus import load_truth, render, truth_table

    table = truth_table(load_truth())
    one = render(table, folder / "one.pdf")
    per = len(one.pages)
    repeats = max(1, round(target_pages / per))
    for _ in range(3):
        path = folder / f"table-x{repeats}.pdf"
        pages = len(render(table * repeats, path).pages)
        if abs(pages - target_pages) <= per // 2 or target_pages <= per:
            break
        repeats = max(1, round(repeats * target_pages / pages))
    return path, pages, repeats


def load_queries() -> list[str]:
    queries = []
    for path in sorted(RELEVANCE.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                text = line.split("\t")[0]
                if text not in queries:
                    queries.append(text)
    return queries


def counts(out: Path) -> dict:
    requirements = unplaced = lines = 0
    for report in out.glob("*/report.json"):
        data = json.loads(report.read_text(encoding="utf-8"))
        requirements += data["requirements"]["total"]
        unplaced += data["not_placed"]["records"]
        lines += data["lines_read"]
    return {"requirements": requirements, "unplaced": unplaced, "lines": lines}


# --- measurements ----------------------------------------------------------------------------------

def warm_search(out: Path, queries: list[str], repeat: int = 3) -> dict:
    from pipeline.errors import GuidelineKBError
    from pipeline.index import Searcher

    times = []
    with Searcher(out) as searcher:
        newest = searcher.editions()[0]
        usable = []
        for q in queries:  # warm up; leave out what the query model refuses
            try:
                searcher.search(q, edition=newest)
                usable.append(q)
            except GuidelineKBError:
                pass
        for _ in range(repeat):
            for q in usable:
                t = time.perf_counter()
                searcher.search(q, edition=newest)
                times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"edition": newest, "queries": len(usable), "samples": len(times), "p50": statistics.median(times),
            "p99": times[max(0, int(len(times) * 0.99) - 1)], "max": times[-1]}


def site_search(site_dir: Path, query: str = "バックアップ") -> dict:
    """A fresh Chromium loads the home page and types one query: the bytes the server sent until the
    first results show (every response body, the search worker's too), and the times."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    served: list[tuple[float, str, int]] = []
    lock = threading.Lock()

    class Counting(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def copyfile(self, source, outputfile):
            size = os.fstat(source.fileno()).st_size
            super().copyfile(source, outputfile)
            with lock:
                served.append((time.perf_counter(), self.path, size))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Counting, directory=str(site_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])
    try:
        context = browser.new_context()  # a fresh profile: nothing cached
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        start = time.perf_counter()
        page.goto(url + "index.html", wait_until="load", timeout=120_000)
        page.wait_for_selector("input.md-search__input", state="attached")
        loaded = time.perf_counter()
        with lock:
            at_load = sum(s for _, _, s in served)
        box = page.locator("input.md-search__input")
        box.click()
        typed = time.perf_counter()
        page.keyboard.type(query)
        page.keyboard.press("End")  # after Japanese input the search fires on a key press
        page.wait_for_selector(".md-search-result__link", state="attached", timeout=120_000)
        shown = time.perf_counter()
        links = page.eval_on_selector_all(".md-search-result__link", "els => els.length")
        time.sleep(1.0)  # what else arrives after the first results (not counted)
    finally:
        browser.close()
        playwright.stop()
        server.shutdown()
        server.server_close()
    before = [(path, size) for t, path, size in served if t <= shown]
    # the biggest responses, with when their last byte went out (ms after the navigation started)
    biggest = [(path, size, (t - start) * 1000) for t, path, size in sorted(served, key=lambda x: -x[2]) if t <= shown][:5]
    return {"bytes": sum(s for _, s in before), "bytes_at_load": at_load, "requests": len(before),
            "bytes_after": sum(s for t, _, s in served if t > shown), "biggest": biggest,
            "load_ms": (loaded - start) * 1000, "typed_ms": (typed - start) * 1000, "type_to_results_ms": (shown - typed) * 1000,
            "load_to_results_ms": (shown - start) * 1000, "results": links, "errors": errors[:3]}


def measure_scale(factor: int, work: Path, runner: Runner, queries: list[str], args) -> dict:
    """All the stages at one scale; stops at the first stage that fails or runs out of time."""
    folder = work / f"x{factor}"
    folder.mkdir()
    raw, out, site_dir, config = folder / "raw", folder / "extracted", folder / "site", folder / "mkdocs.yml"
    raw.mkdir()
    make_editions(raw, factor)
    shutil.copy(REPO / "mkdocs.yml", config)
    paths = {"raw": str(raw), "out": str(out), "site": str(site_dir), "config": str(config)}
    result: dict = {"factor": factor, "stopped": None}

    def stop(stage: str, got: dict) -> dict:
        result["stopped"] = f"{stage}: " + ("stopped after the stage timeout" if got.get("timed_out") else got.get("error", f"exit {got.get('rc')}"))
        return result

    step(f"{factor}×: extract")
    got = runner.library({"stage": "extract", **paths}, folder)
    result["extract"] = got
    if "seconds" not in got:
        return stop("extract", got)
    result["counts"] = counts(out)
    runs = extract_again(runner, folder, raw, got, args.extract_runs)
    if len(runs) > 1:
        step(f"{factor}×: extract ×{len(runs)}")
        result["extract"] = {**got, "seconds": {k: statistics.median(r.get(k, 0.0) for r in runs) for k in got["seconds"]}, "runs": runs}

    step(f"{factor}×: ingest…link again, each edition's texts new to Sudachi")
    result["afresh"] = runner.library({"stage": "read", "raw": str(raw), "afresh": True}, folder)

    step(f"{factor}×: site (build after extract)")
    got = runner.library({"stage": "build", **paths}, folder)
    result["site"] = got
    if "seconds" not in got:
        return stop("site", got)

    step(f"{factor}×: no-op build ×3")
    cli_folders = ["--raw", str(raw), "--out", str(out), "--site-dir", str(site_dir), "--config", str(config)]
    noops = []
    for _ in range(3):
        got = runner.cli([*cli_folders, "build"], folder)
        if got["rc"] or got["timed_out"]:
            return stop("no-op build", {**got, "error": got["stderr"].strip()[-300:]})
        noops.append(got)
    result["noop"] = {"walls": [g["wall"] for g in noops], "wall": statistics.median(g["wall"] for g in noops),
                      "rss": max(g["rss"] for g in noops), "said": all("変更はありません" in g["stderr"] for g in noops),
                      "stderr": noops[0]["stderr"].strip().splitlines()[:2]}
    startup = [runner.cli(["--version"], folder)["wall"] for _ in range(3)]
    result["startup"] = statistics.median(startup)

    step(f"{factor}×: plain mkdocs over the same pages")
    got = runner.library({"stage": "mkdocs", "out": str(out), "site": str(folder / "plain-site"), "docs": str(folder / "plain-docs"),
                          "config": str(config)}, folder)
    result["mkdocs"] = got
    shutil.rmtree(folder / "plain-site", ignore_errors=True)
    shutil.rmtree(folder / "plain-docs", ignore_errors=True)

    step(f"{factor}×: search")
    result["warm"] = warm_search(out, queries)
    cold = [runner.cli(["--out", str(out), "search", "バックアップ"], folder) for _ in range(3)]
    result["cold"] = {"wall": statistics.median(c["wall"] for c in cold), "rss": max(c["rss"] for c in cold),
                      "ok": all(c["rc"] == 0 for c in cold)}

    if args.site_search and factor in (min(args.scales), max(args.scales)):
        step(f"{factor}×: site search in Chromium")
        try:
            result["browser"] = site_search(site_dir)
        except Exception as exc:  # noqa: BLE001 - report and go on
            result["browser"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}

    step(f"{factor}×: index alone")  # on a copy: index() keeps no record of the inputs (a build after it re-extracts)
    shutil.copytree(out, folder / "index-copy")
    got = runner.library({"stage": "index", "raw": str(raw), "out": str(folder / "index-copy"), "site": str(folder / "index-site")},
                         folder)
    shutil.rmtree(folder / "index-copy", ignore_errors=True)
    result["index"] = got
    if "seconds" not in got:
        return stop("index", got)

    step(f"{factor}×: one edition's source changed, build")
    changed = edition_name(factor // 2)
    source = next(p for p in (raw / changed).iterdir() if p.name.endswith(".ocr.txt"))
    text = source.read_text(encoding="utf-8")
    assert CHANGE[0] in text, f"{source}: {CHANGE[0]} is not in the sample any more"
    source.write_text(text.replace(*CHANGE, 1), encoding="utf-8")
    got = runner.cli([*cli_folders, "build"], folder)
    result["one_changed"] = {"edition": changed, "wall": got["wall"], "rc": got["rc"], "rss": got["rss"],
                             "said": [line.strip() for line in got["stderr"].splitlines()
                                      if any(k in line for k in ("所要時間", "変わっていない版", "索引は", "サイトは"))]}

    if factor > 1:
        step(f"{factor}×: one edition, its table {factor} times")
        rep = folder / "repeated"
        rep.mkdir()
        (rep / "raw").mkdir()
        lines = make_repeated(rep / "raw", factor)
        got = runner.library({"stage": "extract", "raw": str(rep / "raw"), "out": str(rep / "extracted"),
                              "site": str(rep / "site")}, rep)
        result["repeated"] = got
        if "seconds" in got:
            got["counts"] = counts(rep / "extracted")
            got["text_lines"] = lines
    if not args.keep:
        shutil.rmtree(folder / "repeated", ignore_errors=True)
    return result


def extract_again(runner: Runner, folder: Path, raw: Path, first: dict, runs: int, budget: float = EXTRACT_BUDGET) -> list[dict]:
    """The seconds per stage of ``first`` and of the extract stage run again into empty folders, up to ``runs``
    runs while they took under ``budget`` seconds: a run of a tenth of a second varies by a third from run to
    run here, so a short stage's figures are the median of several (one run at 100×)."""
    got = [first["seconds"]]
    while len(got) < runs and first["wall_process"] * len(got) < budget:
        again = folder / f"extract-again-{len(got)}"
        r = runner.library({"stage": "extract", "raw": str(raw), "out": str(again / "extracted"), "site": str(again / "site")}, folder)
        shutil.rmtree(again, ignore_errors=True)
        if "seconds" not in r:
            break
        got.append(r["seconds"])
    return got


def rasterize(source: Path, target: Path, dpi: int = 200) -> Path:
    """An image-only copy of a PDF (each page a grey picture, no text layer, no vector lines): a scan."""
    import pymupdf

    with pymupdf.open(source) as doc, pymupdf.open() as out:
        for page in doc:
            picture = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, pixmap=picture)
        out.save(target, deflate=True)
    return target


def measure_pdf(pages: int, work: Path, runner: Runner, *, scan: bool = False) -> dict:
    folder = work / ("scan" if scan else "pdf")
    folder.mkdir()
    step(f"rendering the truth table into a PDF of about {pages} pages" + (" and rasterizing it (a scan)" if scan else ""))
    t = time.perf_counter()
    pdf, got_pages, repeats = render_pdf(pages, folder)
    if scan:
        rasterize(folder / "one.pdf", folder / "one-scan.pdf").replace(folder / "one.pdf")
        pdf = rasterize(pdf, pdf.with_name(pdf.stem + "-scan.pdf"))
    render_seconds = time.perf_counter() - t
    result = {"pages": got_pages, "repeats": repeats, "bytes": pdf.stat().st_size, "render_s": render_seconds, "runs": {}}
    for label, path in (("1×", folder / "one.pdf"), (f"{repeats}×", pdf)):
        base = folder / label.rstrip("×")
        (base / "raw").mkdir(parents=True)
        make_pdf_edition(base / "raw", path)
        step(f"PDF {label}: guideline-kb extract")
        ours = runner.cli(["--raw", str(base / "raw"), "--out", str(base / "extracted"), "--site-dir", str(base / "site"), "extract"], base)
        step(f"PDF {label}: bare pdfplumber")
        bare = runner.library({"stage": "pdfplumber", "pdf": str(path)}, base)
        seconds = {}
        for line in ours["stderr"].splitlines():
            if line.startswith("所要時間: "):
                seconds = {k: float(v.rstrip("s")) for k, v in (part.split(" ") for part in line[len("所要時間: "):].split("、"))}
        run = {"ours": {k: ours[k] for k in ("rc", "wall", "rss", "timed_out")}, "seconds": seconds, "bare": bare}
        if ours["rc"]:
            run["ours"]["error"] = ours["stderr"].strip()[-300:]
        else:
            run["counts"] = counts(base / "extracted")
            report = json.loads((base / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
            run["pages"] = report.get("pages_read")
        result["runs"][label] = run
        shutil.rmtree(base / "extracted", ignore_errors=True)
    return result


def print_pdf(kind: str, pdf: dict) -> None:
    print(f"\n=== {kind}: the truth table ×{pdf['repeats']} = {pdf['pages']} pages, {pdf['bytes'] / 1e6:.1f} MB "
          f"(rendered in {pdf['render_s']:.0f} s) ===")
    print(f"{'PDF':<8}{'pages':>7}{'ours s':>9}{'s/page':>8}{'RSS MB':>8}{'bare s':>9}{'s/page':>8}{'RSS MB':>8}"
          f"{'s ratio':>9}{'RSS ratio':>11}  stages / counts")
    for label, run in pdf["runs"].items():
        ours, bare = run["ours"], run["bare"]
        pages = bare.get("pages") or run.get("pages") or 0
        if ours["rc"] or "wall" not in bare:
            print(f"{label:<8}  failed: {ours.get('error') or bare.get('error')}")
            continue
        stages = ", ".join(f"{k} {v:.2f}" for k, v in run["seconds"].items())
        print(f"{label:<8}{pages:>7}{ours['wall']:>9.1f}{ours['wall'] / pages:>8.3f}{ours['rss']:>8.0f}{bare['wall_process']:>9.1f}"
              f"{bare['wall_process'] / pages:>8.3f}{bare['rss']:>8.0f}{ours['wall'] / bare['wall_process']:>9.2f}"
              f"{ours['rss'] / bare['rss']:>11.2f}  {stages}; {run['counts']['requirements']} requirements")
    print("(process wall seconds and peak RSS of each child: ours = python -m pipeline extract, "
          "bare = pdfplumber.open, extract_tables and page.close() on every page"
          + ("; a scan has no text for pdfplumber: what matters here is ours at two sizes, its RSS above all)" if kind != "PDF" else ")"))


def profile_stage(name: str, job: dict, runner: Runner, cwd: Path, top: int = 18) -> list[str]:
    import pstats
    import io

    stats_file = cwd / (re.sub(r"\W+", "-", name) + ".pstats")
    runner.timeout, saved = runner.profile_timeout, runner.timeout  # cProfile slows a stage down (the site at 100×: 2.3×)
    try:
        got = runner.library({**job, "profile": str(stats_file)}, cwd)
    finally:
        runner.timeout = saved
    if not stats_file.exists():
        return [f"  (profile of {name} failed: {got.get('error')})"]
    lines = [f"  {name} under cProfile: {got.get('wall', 0):.1f} s (stats in {stats_file})"]
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        stats = pstats.Stats(str(stats_file), stream=buffer)
        stats.sort_stats(order).print_stats(top)
        body = buffer.getvalue().splitlines()
        start = next((i for i, line in enumerate(body) if line.lstrip().startswith("ncalls")), 0)
        lines.append(f"  -- top {top} by {order} --")
        lines += ["  " + shorten(line) for line in body[start:start + top + 1] if line.strip()]
    return lines


def shorten(line: str) -> str:
    return re.sub(r"\S*/(site-packages|lib/python3\.\d+|bench_scale\.[^/]+/code)/", "", line)[:200]


# --- output ------------------------------------------------------------------------------------------

def step(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return f"nproc {os.cpu_count()}, {model}, {mem:,} MB RAM, Python {sys.version.split()[0]}"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def extract_seconds(got: dict) -> float:
    return sum(got["seconds"].get(s, 0.0) for s in STAGES)


def correct_with_load(got: dict) -> float:
    """correct's seconds with the load of Sudachi's dictionary added (as they were counted before it was a stage)."""
    return got["seconds"].get("correct", 0.0) + got["seconds"].get("sudachi", 0.0)


def per_item(seconds: float, items: int) -> float:
    return seconds * 1000 / items if items else float("nan")


def print_scale(r: dict) -> None:
    n = r["factor"]
    c = r.get("counts", {})
    reqs = c.get("requirements", 0)
    print(f"\n=== {n}× — {n} edition{'s' if n > 1 else ''}, {reqs:,} requirements (+{c.get('unplaced', 0):,} unplaced), "
          f"{c.get('lines', 0):,} source lines ===")
    print(f"{'stage':<34}{'seconds':>9}{'ms/req':>9}{'peak RSS MB':>13}  notes")
    if "extract" in r and "seconds" in r["extract"]:
        e = r["extract"]
        ex = extract_seconds(e)
        split = ", ".join(f"{s} {e['seconds'].get(s, 0):.2f}" for s in STAGES)
        print(f"{'extract (sudachi…write)':<34}{ex:>9.2f}{per_item(ex, reqs):>9.3f}{e['rss']:>13.0f}  {split}")
        idx = e["seconds"].get("index", 0)
        print(f"{'  correct ÷ extract':<34}{'':>9}{'':>9}{'':>13}  {e['seconds'].get('correct', 0) / ex:.0%} of sudachi…write"
              f" ({correct_with_load(e) / ex:.0%} with Sudachi's load counted as correct's);"
              f" {e['seconds'].get('correct', 0) / (ex + idx):.0%} of the whole extract command (with its index {idx:.2f} s);"
              f" child process {e['wall_process']:.2f} s")
        if len(e.get("runs", [])) > 1:
            each = sorted(run.get("correct", 0) / extract_seconds({"seconds": run}) for run in e["runs"])
            print(f"{'  (extract run again)':<34}{'':>9}{'':>9}{'':>13}  each stage the median of {len(each)} runs into empty"
                  f" folders; correct ÷ extract run by run {', '.join(f'{x:.1%}' for x in each)}")
    if "seconds" in r.get("afresh", {}):
        a = r["afresh"]["seconds"]
        print(f"{'  correct ÷ sudachi…link, afresh':<34}{'':>9}{'':>9}{'':>13}  {a.get('correct', 0) / sum(a.values()):.0%} with every"
              f" edition's texts new to Sudachi (its readings forgotten between editions; correct {a.get('correct', 0):.2f} s)")
    if "index" in r and "seconds" in r["index"]:
        i = r["index"]
        print(f"{'index (index() alone)':<34}{i['seconds']['index']:>9.2f}{per_item(i['seconds']['index'], reqs):>9.3f}"
              f"{i['rss']:>13.0f}  process {i['wall_process']:.2f} s")
    if "site" in r and "seconds" in r["site"]:
        s = r["site"]
        secs = s["seconds"].get("site", float("nan"))
        print(f"{'site (build after extract)':<34}{secs:>9.2f}{per_item(secs, reqs):>9.3f}{s['rss']:>13.0f}"
              f"  process {s['wall_process']:.2f} s wall, {s['cpu_process']:.2f} s CPU (its two processes);"
              f" {'only the site rebuilt' if any('サイトだけ' in x for x in s['notes']) else s['notes']}")
    m = r.get("mkdocs", {})
    if "steps" in m:
        mk = m["steps"]["mkdocs_build"]
        ratio = r["site"]["seconds"]["site"] / mk if "site" in r and "seconds" in r["site"] else float("nan")
        print(f"{'plain mkdocs build (same docs)':<34}{mk:>9.2f}{per_item(mk, reqs):>9.3f}{m['rss']:>13.0f}"
              f"  site ÷ plain mkdocs = {ratio:.2f}; {m['pages']:,} pages, {m['html_bytes'] / 1e6:,.1f} MB HTML,"
              f" lunr index {m['search_index_bytes'] / 1e6:.2f} MB")
        print(f"{'  site steps (one process, in turn)':<34}  " + ", ".join(f"{k} {v:.2f}" for k, v in m["steps"].items())
              + " (in the site stage, search data, permalinks and downloads are made by a second process while mkdocs builds)")
    elif m:
        print(f"{'plain mkdocs build':<34}  failed: {m.get('error')}")
    if "noop" in r:
        o = r["noop"]
        print(f"{'no-op build (guideline-kb build)':<34}{o['wall']:>9.2f}{'':>9}{o['rss']:>13.0f}"
              f"  {'says 変更はありません' if o['said'] else 'DID NOT say 変更はありません: ' + ' / '.join(o['stderr'])};"
              f" runs {', '.join(f'{w:.2f}' for w in o['walls'])} s; bare start-up (--version) {r['startup']:.2f} s")
    if "warm" in r:
        w = r["warm"]
        print(f"{'search, warm (in process)':<34}{'':>9}{'':>9}{'':>13}  p50 {w['p50']:.2f} ms, p99 {w['p99']:.2f} ms,"
              f" max {w['max']:.1f} ms ({w['samples']} = {w['queries']} queries × 3, edition {w['edition']})")
        cold = r["cold"]
        print(f"{'search, cold (guideline-kb search)':<34}{cold['wall']:>9.2f}{'':>9}{cold['rss']:>13.0f}  median of 3")
    if "browser" in r:
        b = r["browser"]
        if "error" in b:
            print(f"{'site search (Chromium)':<34}  failed: {b['error']}")
        else:
            print(f"{'site search (fresh Chromium)':<34}{b['load_to_results_ms'] / 1000:>9.2f}{'':>9}{'':>13}"
                  f"  {b['bytes'] / 1e6:.2f} MB in {b['requests']} responses before the first results"
                  f" ({b['bytes_at_load'] / 1e6:.2f} MB at page load); load {b['load_ms']:.0f} ms,"
                  f" typing → first results {b['type_to_results_ms']:.0f} ms; {b['results']} results")
            print(f"{'  biggest responses':<34}  " + ", ".join(f"{p} {s / 1e6:.2f} MB (sent by {t:.0f} ms)" for p, s, t in b["biggest"])
                  + f"; typing began at {b['typed_ms']:.0f} ms, results at {b['load_to_results_ms']:.0f} ms")
    if "one_changed" in r:
        o = r["one_changed"]
        failed = "" if o["rc"] == 0 else f" (exit {o['rc']})"
        said = [re.sub(r"(そのまま使いました: )(.*)", lambda m: f"{m[1]}{len(m[2].split(', '))} 版", x) for x in o["said"]]
        print(f"{'one edition changed (build)':<34}{o['wall']:>9.2f}{'':>9}{o['rss']:>13.0f}  edition {o['edition']}{failed}; "
              + " / ".join(shorten(x) for x in said))
    rep = r.get("repeated")
    if rep and "seconds" in rep:
        ex = extract_seconds(rep)
        rc = rep["counts"]
        print(f"{'one edition, table ×' + str(n) + ' (extract)':<34}{ex:>9.2f}{'':>9}{rep['rss']:>13.0f}"
              f"  {rc['lines']:,} lines read → {rc['requirements']} requirements, {rc['unplaced']} unplaced (repeats merge);"
              f" {ex * 1000 / rc['lines']:.3f} ms/line; correct {rep['seconds'].get('correct', 0) / ex:.0%};"
              f" " + ", ".join(f"{s} {rep['seconds'].get(s, 0):.2f}" for s in STAGES))
    elif rep:
        print(f"{'one edition, table ×' + str(n):<34}  failed: {rep.get('error')}")
    if r.get("stopped"):
        print(f"STOPPED at {n}×: {r['stopped']}")


def growth_lines(results: list[dict]) -> list[str]:
    """Per-item cost of each stage at each scale, against 1×, and the marginal cost between scales."""
    done = [r for r in results if "counts" in r]
    lines = []

    def stage_seconds(r, name):
        if name == "extract":
            return extract_seconds(r["extract"]) if "seconds" in r.get("extract", {}) else None
        if name == "mkdocs":
            return r["mkdocs"]["steps"]["mkdocs_build"] if "steps" in r.get("mkdocs", {}) else None
        got = r.get(name, {})
        return got["seconds"].get(name) if "seconds" in got else None

    lines.append(f"{'stage':<10}" + "".join(f"{str(r['factor']) + '× ms/req':>16}" for r in done)
                 + "".join(f"{'marginal ' + str(a['factor']) + '→' + str(b['factor']):>18}" for a, b in zip(done, done[1:])))
    for name in ("extract", "index", "site", "mkdocs"):
        cells, base = [], None
        for r in done:
            s = stage_seconds(r, name)
            if s is None:
                cells.append(f"{'—':>16}")
                continue
            v = per_item(s, r["counts"]["requirements"])
            base = v if base is None else base
            cells.append(f"{v:>9.3f} ({v / base:.2f}×)".rjust(16))
        marg = []
        for a, b in zip(done, done[1:]):
            sa, sb = stage_seconds(a, name), stage_seconds(b, name)
            if sa is None or sb is None:
                marg.append(f"{'—':>18}")
            else:
                marg.append(f"{(sb - sa) * 1000 / (b['counts']['requirements'] - a['counts']['requirements']):>18.3f}")
        lines.append(f"{name:<10}" + "".join(cells) + "".join(marg))
    return lines


def floors(results: list[dict], pdf: dict | None, args) -> tuple[list[str], list[str]]:
    """Each floor: met or not, with the figures; and the stages to profile."""
    done = {r["factor"]: r for r in results}
    first = done.get(1)
    largest = max((r for r in results if "counts" in r and "seconds" in r.get("site", {})), key=lambda r: r["factor"], default=None)
    out, missed = [], []

    def line(ok, text):
        out.append(f"[{'MET' if ok else 'NOT MET' if ok is False else 'n/a'}] {text}")

    top = largest["factor"] if largest else None
    for name in ("extract", "index", "site"):
        if not first or not largest or largest is first:
            line(None, f"{name}: per-item cost at the largest scale within {FLOOR_GROWTH}× of 1× (needs 1× and a larger scale)")
            continue
        def cost(r):
            if name == "extract":
                return per_item(extract_seconds(r["extract"]), r["counts"]["requirements"])
            return per_item(r[name]["seconds"][name], r["counts"]["requirements"]) if "seconds" in r.get(name, {}) else float("nan")
        a, b = cost(first), cost(largest)
        ok = b <= FLOOR_GROWTH * a
        line(ok, f"{name} per requirement: {b:.3f} ms at {top}× vs {a:.3f} ms at 1× = {b / a:.2f}× (floor ≤ {FLOOR_GROWTH}×)")
        if not ok:
            missed.append(name)
    if largest and "steps" in largest.get("mkdocs", {}):
        ratio = largest["site"]["seconds"]["site"] / largest["mkdocs"]["steps"]["mkdocs_build"]
        ok = ratio <= FLOOR_SITE_RATIO
        line(ok, f"site stage ÷ plain mkdocs build at {top}×: {largest['site']['seconds']['site']:.1f} s ÷ "
                 f"{largest['mkdocs']['steps']['mkdocs_build']:.1f} s = {ratio:.2f} (floor ≤ {FLOOR_SITE_RATIO})")
        if not ok and "site" not in missed:
            missed.append("site")
    shares = [(r["factor"], r["extract"]["seconds"].get("correct", 0) / extract_seconds(r["extract"]),
               r["extract"]["seconds"].get("correct", 0) / (extract_seconds(r["extract"]) + r["extract"]["seconds"].get("index", 0)))
              for r in results if "seconds" in r.get("extract", {})]
    if shares:
        ok = all(s <= FLOOR_CORRECT for _, s, _ in shares)
        line(ok, "correct ÷ extract (sudachi…write): " + ", ".join(f"{f}× {s:.1%}" for f, s, _ in shares)
                 + f" (floor ≤ {FLOOR_CORRECT:.0%}); with Sudachi's load counted as correct's: "
                 + ", ".join(f"{r['factor']}× {correct_with_load(r['extract']) / extract_seconds(r['extract']):.0%}"
                             for r in results if "seconds" in r.get("extract", {}))
                 + "; ÷ the whole extract command with its index: " + ", ".join(f"{f}× {w:.0%}" for f, _, w in shares))
        if not ok:
            missed.append("correct")
        afresh = [(r["factor"], r["afresh"]["seconds"]) for r in results if "seconds" in r.get("afresh", {})]
        if afresh:
            out.append("       with every edition's texts new to Sudachi, correct ÷ sudachi…link: "
                       + ", ".join(f"{f}× {a.get('correct', 0) / sum(a.values()):.0%}" for f, a in afresh) + " (not a floor: see README)")
    if pdf:
        big = pdf["runs"].get(f"{pdf['repeats']}×", {})
        if big and not big["ours"]["rc"]:
            rss = big["ours"]["rss"]
            ok = rss <= FLOOR_PDF_RSS
            line(ok, f"{pdf['pages']}-page PDF, guideline-kb extract peak RSS {rss:.0f} MB (floor ≤ {FLOOR_PDF_RSS} MB);"
                     f" bare pdfplumber {big['bare'].get('rss', float('nan')):.0f} MB")
            if not ok:
                missed.append("pdf")
        else:
            line(False, f"{pdf['pages']}-page PDF: guideline-kb extract failed: {big.get('ours', {}).get('error')}")
    for factor, limit in FLOOR_NOOP.items():
        r = done.get(factor)
        if r and "noop" in r:
            ok = r["noop"]["said"] and r["noop"]["wall"] <= limit
            line(ok, f"no-op rebuild at {factor}×: {r['noop']['wall']:.2f} s (process wall, median of 3;"
                     f" {'says' if r['noop']['said'] else 'does NOT say'} 変更はありません) (floor ≤ {limit:g} s)")
            if not ok:
                missed.append(f"noop{factor}")
        else:
            line(None, f"no-op rebuild at {factor}×: not measured")
    if largest and "one_changed" in largest:
        o = largest["one_changed"]
        site_s = re.search(r"site ([\d.]+)s", " ".join(o["said"]))
        pages = re.search(r"変わった (\d+) ページだけ", " ".join(o["said"]))
        whole = largest["site"]["seconds"].get("site")
        # with one edition (1×) there is no other edition to be left as it was
        ok = o["rc"] == 0 and bool(pages) and (top == 1 or any("変わっていない版" in x for x in o["said"]))
        line(ok, f"one edition changed at {top}×: {o['wall']:.2f} s; only it read and indexed"
                 + (f", the site {float(site_s[1]):.2f} s rendering {pages[1]} pages (built whole: {whole:.2f} s)" if pages and site_s
                    else ", the site built whole"))
    if largest and "browser" in largest and "error" not in largest["browser"]:
        b = largest["browser"]
        ok = b["bytes"] <= FLOOR_FETCH
        line(ok, f"site search at {top}×: {b['bytes'] / 1e6:.2f} MB fetched before the first results (floor ≤ 1 MB)")
        ok2 = b["type_to_results_ms"] <= FLOOR_FIRST_RESULTS
        line(ok2, f"site search at {top}×: typing → first results {b['type_to_results_ms']:.0f} ms"
                  f" (page load before it {b['load_ms']:.0f} ms) (floor ≤ 1 s)")
    elif args.site_search:
        line(None, f"site search: {largest.get('browser', {}).get('error') if largest else 'not measured'}")
    p99s = [(r["factor"], r["warm"]["p99"]) for r in results if "warm" in r]
    if p99s:
        ok = all(p <= FLOOR_P99 for _, p in p99s)
        line(ok, "warm CLI search p99: " + ", ".join(f"{f}× {p:.1f} ms" for f, p in p99s) + f" (floor ≤ {FLOOR_P99} ms)")
        if not ok:
            missed.append("search")
    return out, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,100", type=lambda s: sorted({int(x) for x in s.split(",")}))
    parser.add_argument("--pdf-pages", type=int, default=550, help="0: no PDF")
    parser.add_argument("--scan-pages", type=int, default=0,
                        help="the same table as an image-only PDF (a scan, read by OCR) of about this many pages; 0: none")
    parser.add_argument("--site-search", action="store_true", help="fresh Chromium: bytes and ms to the first results")
    parser.add_argument("--profile", action="store_true", help="cProfile the stages that miss a floor at the largest scale")
    parser.add_argument("--stage-timeout", type=float, default=600)
    parser.add_argument("--profile-timeout", type=float, default=3600, help="seconds for one stage under cProfile")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    parser.add_argument("--live", action="store_true", help="run the working tree's pipeline/, not a copy")
    parser.add_argument("--extract-runs", type=int, default=5,
                        help=f"runs of the extract stage at a scale whose run is short (under {EXTRACT_BUDGET} s in all): the median is shown")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the work folder and the child go too
    print(f"machine: {machine()}")
    print(f"load average at start: {load()}")
    started = time.perf_counter()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_scale."))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.live:
            code_root = REPO
        else:
            code_root = work / "code"
            shutil.copytree(REPO / "pipeline", code_root / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
        # compiled before any child runs, as an installed package is: else the first child (the 1× extract)
        # compiles every module it imports, and a stage that imports one when first used counts it
        compileall.compile_dir(str(code_root / "pipeline"), quiet=1)
        sys.path.insert(0, str(code_root))
        from pipeline.inputs import code_version  # from the copy, as the in-process search

        print(f"code: {'working tree' if args.live else 'a copy of pipeline/ taken at the start'} (hash {code_version()})")
        runner = Runner(code_root, args.stage_timeout, args.profile_timeout)
        queries = load_queries()
        results = []
        for factor in args.scales:
            r = measure_scale(factor, work, runner, queries, args)
            results.append(r)
            print_scale(r)
            sys.stdout.flush()
            if r["stopped"]:
                print(f"(not going past {factor}×: a stage failed or ran past {args.stage_timeout:.0f} s;"
                      " the figures of the smaller scales stand)")
                break
        print("\n=== per-item cost (ms per requirement; in parentheses ÷ the smallest scale) and marginal cost between scales ===")
        print("\n".join(growth_lines(results)))

        pdf = None
        for kind, wanted in (("PDF", args.pdf_pages), ("scanned PDF", args.scan_pages)):
            if not wanted:
                continue
            got = measure_pdf(wanted, work, runner, scan=kind != "PDF")
            pdf = got if kind == "PDF" else pdf
            print_pdf(kind, got)

        lines, missed = floors(results, pdf, args)
        print("\n=== floors ===")
        print("\n".join(lines))

        if args.profile and missed:
            largest = max((r for r in results if "counts" in r), key=lambda r: r["factor"])
            f = largest["factor"]
            folder = work / f"x{f}"
            prof = work / "profiles"
            prof.mkdir(exist_ok=True)
            paths = {"raw": str(folder / "raw"), "out": str(folder / "extracted"), "config": str(folder / "mkdocs.yml")}
            print(f"\n=== cProfile at {f}× of the stages that miss a floor: {', '.join(missed)} ===")
            if any(m.startswith("noop") for m in missed):
                print("\n".join(profile_stage("no-op build", {"stage": "build", **paths, "site": str(folder / "site")}, runner, prof)))
            if "site" in missed:
                print("\n".join(profile_stage("site", {"stage": "site", **paths, "site": str(prof / "site")}, runner, prof)))
            if "extract" in missed or "correct" in missed:  # ingest … correct, without writing or the index
                print("\n".join(profile_stage("extract (read_editions)", {"stage": "read", "raw": paths["raw"]}, runner, prof)))
            if "index" in missed:
                print("\n".join(profile_stage("index", {"stage": "index", **paths, "site": str(prof / "site-i")}, runner, prof)))
    finally:
        print(f"\nload average at end: {load()}; bench wall {time.perf_counter() - started:.0f} s"
              + (f"; work kept in {work}" if args.keep else ""))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
