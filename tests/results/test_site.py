"""`rsbench leaderboard`'s static site: pages from the records, every record string escaped, examples and plots copied
in; and, in a real headless Chromium (slow), the table sorts, the images load, nothing logs an error and a
`<script>` in a record never runs."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from rsbench.cli import app, main
from rsbench.results.leaderboard import leaderboard
from rsbench.results.record import write_record
from rsbench.results.site import write_site

# No double quotes: they would come out of the JSON on a row page as \" and break the script before it could run.
HOSTILE_CAPTION = "<script>window.__pwned = 'caption'</script>"
HOSTILE_PLUGIN = "<img src=x onerror=window.__pwned='plugin'>"


def _board(build_record, results: Path) -> list[dict]:
    """Three configurations over two seeds; one evaluated apart from its training (``parent_run_id``), one whose
    caption and plugin name carry markup, one with retrieval examples drawn beside its record."""
    records = []
    for seed in (0, 1):
        records.append(build_record(seed=seed, mR=41.0 + seed, trainable_params=10_000))
        records.append(build_record(seed=seed, mR=55.0 - seed, trainable_params=400_000,
                                    config_changes={"adapter": {"name": "lora"}}))
        hostile = build_record(seed=seed, mR=30.0, trainable_params=50_000,
                               config_changes={"adapter": {"name": HOSTILE_PLUGIN}})
        hostile["extra"] = {"eval": {"rich_caption": {"failure_examples": [{"caption": HOSTILE_CAPTION}]}}}
        records.append(hostile)
    records[1]["parent_run_id"] = "feedface" * 4
    paths = [write_record(record, results) for record in records]
    sheets = paths[0].with_name(paths[0].stem + "-examples")
    sheets.mkdir()
    for n in (1, 2):  # contact sheets as `rsbench run --examples` leaves them
        Image.new("RGB", (320, 60), (40 * n, 90, 160)).save(sheets / f"query-{n:02d}.png")
    return records


def _site(build_record, tmp_path: Path, *extra: str) -> tuple[list[dict], Path]:
    results = tmp_path / "results"
    records = _board(build_record, results)
    out = tmp_path / "board"
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(out), *extra])
    assert result.exit_code == 0, result.output
    return records, out / "site"


def test_the_site_has_a_row_per_leaderboard_row_and_a_page_per_row_with_its_records(build_record, tmp_path):
    records, site = _site(build_record, tmp_path, "--no-plot")
    index = (site / "index.html").read_text()
    df = leaderboard(records)
    assert len(re.findall(r"<tr[ >]", index.split("<tbody>")[1])) == len(df) == 3
    assert (site / "assets" / "sortable.js").is_file() and (site / "assets" / "style.css").is_file()
    pages = sorted((site / "rows").glob("*.html"))
    assert len(pages) == 3
    for page in [site / "index.html", *pages]:  # synthetic data said on every page
        assert "not comparable to published results" in page.read_text(), page
    trained = (site / "rows" / f"{df.loc[df['mR_mean'].idxmax(), 'config_id']}.html").read_text()
    assert "feedface" * 4 in trained and "parent_run_id" in trained  # evaluation apart from training
    assert trained.count('class="record"') == 2 and "seed 0" in trained and "seed 1" in trained
    assert "&quot;lr&quot;" not in trained and '"lr": 0.0001' in trained  # the config, as JSON text
    assert '"device": "cpu"' in trained  # the environment


def test_the_table_shows_the_learning_rate_after_the_epochs_and_a_dash_where_nothing_trains(build_record,
                                                                                            tmp_path):
    from rsbench.results.site.pages import leaderboard_table, row_body

    records = [build_record(mR=50.0, config_changes={"train": {"lr": 5e-3, "epochs": 12}}),
               build_record(mR=52.0, config_changes={"train": {"lr": 1e-2, "epochs": 12}}),
               build_record(mR=20.0, trainable_params=0, config_changes={"adapter": {"name": "frozen"}})]
    df = leaderboard(records)
    table = leaderboard_table(df, {c: f"rows/{c}.html" for c in df["config_id"]})
    heads = re.findall(r"<button type=\"button\">([^<]*)</button>", table)
    assert heads[heads.index("Epochs") + 1] == "LR"
    rows = table.split("<tbody>")[1].split("</tr>")[:3]
    lr_cells = [re.sub(r"<[^>]*>", "", "<td" + row.split("<td")[1 + heads.index("LR")]) for row in rows]
    assert lr_cells == ["0.01", "0.005", "–"]  # mR order; the frozen row trains nothing
    assert 'data-value="0.005">0.005</td>' in table and 'data-value="">–</td>' in table  # sorts by number
    assert "<dt>learning rate</dt><dd>0.005</dd>" in row_body(df.iloc[1], records[:1], {})


def test_a_row_page_shows_each_records_figures_per_epoch_with_the_tested_epoch_marked(build_record):
    from rsbench.results.site.pages import row_body

    record = build_record(seed=0, mR=41.0)
    history = [{"epoch": e, "step": 10 * e, **{k: mR + k.count("r1") for k in ("i2t_r1", "t2i_r5")}, "mR": mR}
               for e, mR in ((1, 20.0), (2, 33.25), (3, 31.5))]
    record["extra"] = {"training": {"best_epoch": 2, "history": history}}
    body = row_body(leaderboard_row(record), [record], {})
    table = body.split('<table class="history">')[1].split("</table>")[0]
    rows = re.findall(r"<tr( class=\"chosen\")?>(.*?)</tr>", table.split("<tbody>")[1])
    cells = [re.findall(r"<td>(.*?)</td>", row) for _, row in rows]
    heads = re.findall(r"<th>(.*?)</th>", table)
    assert heads[:3] == ["Epoch", "Step", "mR"] and len(heads) == 5  # only the figures the history holds
    assert [c[:3] for c in cells] == [["1", "10", "20.00"], ["2 ★", "20", "33.25"], ["3", "30", "31.50"]]
    assert [bool(chosen) for chosen, _ in rows] == [False, True, False]
    assert "Per epoch, on val" in body
    del record["extra"]
    assert '<table class="history">' not in row_body(leaderboard_row(record), [record], {})  # nothing to show


def test_a_row_page_shows_the_sweeps_tuning_with_the_chosen_values_marked(build_record):
    from rsbench.results.site.pages import row_body

    record = build_record(seed=0, mR=41.0)
    scores = [{"values": {"train.lr": lr}, "val": val, "best_epoch": epoch, "epochs": 12,
               "per_seed": [{"seed": 0, "val": val - 1}, {"seed": 1, "val": val + 1}]}
              for lr, val, epoch in ((0.001, 30.0, 11), (0.01, 36.25, 8))]
    record["extra"] = {"sweep": {"name": "synthrs-methods", "tuned": {
        "keys": ["train.lr"], "metric": "val mR", "seeds": [0, 1], "scores": scores, "chosen": {"train.lr": 0.01}}}}
    body = row_body(leaderboard_row(record), [record], {})
    table = body.split("Tuning (sweep synthrs-methods, seed 0, 1)")[1].split("</table>")[0]
    assert re.findall(r"<th>(.*?)</th>", table) == ["train.lr", "val mR", "per seed", "best epoch"]
    rows = re.findall(r"<tr( class=\"chosen\")?>(.*?)</tr>", table.split("<tbody>")[1])
    assert [re.findall(r"<td>(.*?)</td>", row) for _, row in rows] == [
        ["0.001", "30.00", "29.00, 31.00", "11/12"], ["0.01 ★", "36.25", "35.25, 37.25", "8/12"]]
    assert [bool(chosen) for chosen, _ in rows] == [False, True]
    del record["extra"]["sweep"]["tuned"]
    assert "Tuning (" not in row_body(leaderboard_row(record), [record], {})  # no tuning, no table


def leaderboard_row(record: dict):
    return leaderboard([record]).iloc[0]


def test_every_string_from_a_record_is_escaped(build_record, tmp_path):
    _, site = _site(build_record, tmp_path, "--no-plot")
    for page in [site / "index.html", *(site / "rows").glob("*.html")]:
        text = page.read_text()
        assert "<script>window" not in text and "<img src=x" not in text, page
        assert len(re.findall(r"<script\b", text)) == 1  # the site's own sortable.js, nothing else
    hostile = "".join(p.read_text() for p in (site / "rows").glob("*.html"))
    assert "&lt;script&gt;window.__pwned" in hostile and "&lt;img src=x onerror=window" in hostile


def test_retrieval_examples_and_plots_are_copied_in(build_record, tmp_path):
    records = _board(build_record, tmp_path / "results")
    plot = tmp_path / "pareto.png"
    Image.new("RGB", (64, 48), "white").save(plot)
    site = tmp_path / "site"
    write_site(leaderboard(records), records, site, results_dir=tmp_path / "results", figures=[plot])
    examples = sorted((site / "examples").rglob("*.png"))
    assert [p.name for p in examples] == ["query-01.png", "query-02.png"]
    assert examples[0].parent.name == records[0]["run_id"]
    page = next(p for p in (site / "rows").glob("*.html") if records[0]["run_id"] in p.read_text())
    assert f'src="../examples/{records[0]["run_id"]}/query-01.png"' in page.read_text()
    assert 'src="plots/pareto.png"' in (site / "index.html").read_text() and (site / "plots" / "pareto.png").is_file()


def test_a_new_site_replaces_the_old_one_whole_and_a_file_in_its_way_is_a_clear_error(build_record, tmp_path,
                                                                                       capsys):
    records = _board(build_record, tmp_path / "results")
    site = tmp_path / "site"
    (site / "rows").mkdir(parents=True)
    (site / "rows" / "stale.html").write_text("from an older leaderboard")
    write_site(leaderboard(records), records, site)
    assert not (site / "rows" / "stale.html").exists() and len(list((site / "rows").glob("*.html"))) == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no build folder left behind
    shutil.rmtree(site)
    site.write_text("not a folder")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["leaderboard", "--results-dir", str(tmp_path / "results"), "--out-dir", str(tmp_path), "--no-plot"])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and "is not a folder" in error and "Traceback" not in error
    assert len([line for line in error.splitlines() if "error" in line.lower()]) == 1, error
    assert site.read_text() == "not a folder"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = None
    try:
        from playwright import sync_api
    except ImportError:
        pass
    if path and sync_api:
        return path
    if os.environ.get("CI"):  # CI installs both (.ci/run); a skip there would hide a broken page
        pytest.fail("the browser test needs Debian's chromium and playwright (pip install -e '.[dev]')")
    pytest.skip("needs Debian's chromium package and playwright")


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RSBENCH_ARTIFACTS", tmp_path / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _load(browser, url: str) -> tuple[object, list[str]]:
    """The page at ``url`` with every console error, script error and failed request it caused."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, problems


# Each image is scrolled into view first: the retrieval examples load lazily, so one below the fold is not loaded yet.
BROKEN_IMAGES = """async () => {
    const images = Array.from(document.images);
    for (const image of images) {
        image.scrollIntoView();
        if (!image.complete) await new Promise(done => { image.onload = image.onerror = done; });
    }
    return images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
}"""


def _methods(page) -> list[str]:
    return page.locator("tbody tr td:first-child").all_inner_texts()


@pytest.mark.slow
def test_the_site_in_headless_chromium(build_record, tmp_path):
    executable = _chromium()
    pytest.importorskip("matplotlib")
    from playwright.sync_api import sync_playwright

    records, site = _site(build_record, tmp_path)
    df = leaderboard(records)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page, problems = _load(browser, (site / "index.html").as_uri())  # opened from disk
        assert page.locator("tbody tr").count() == len(df)
        assert page.evaluate(BROKEN_IMAGES) == [] and page.locator("img").count() >= 1
        page.click("th:has(button:text-is('Method')) button")
        by_name = _methods(page)
        assert by_name == sorted(by_name)
        page.click("th:has(button:text-is('mR')) button")  # first click: best first
        by_mr = _methods(page)
        assert by_mr == list(df.sort_values("mR_mean", ascending=False)["method"]) and by_mr != by_name
        page.click("th:has(button:text-is('mR')) button")
        assert _methods(page) == by_mr[::-1]
        page.screenshot(path=str(_artifacts(tmp_path) / "leaderboard-site.png"), full_page=True)
        assert page.evaluate("window.__pwned") is None and HOSTILE_PLUGIN in page.inner_text("body")
        for row_page in sorted((site / "rows").glob("*.html")):
            shown, more = _load(browser, row_page.as_uri())
            problems += more
            assert shown.evaluate("window.__pwned") is None, row_page
            assert shown.evaluate(BROKEN_IMAGES) == [], row_page
        hostile = next(p for p in (site / "rows").glob("*.html") if "failure_examples" in p.read_text())
        shown, _ = _load(browser, hostile.as_uri())
        shown.click("details summary")
        assert HOSTILE_CAPTION in shown.inner_text("body")  # shown as text, inside JSON
        with _serve(site) as url:  # and from a static host
            served, more = _load(browser, url)
            problems += more
            assert served.locator("tbody tr").count() == len(df) and served.evaluate(BROKEN_IMAGES) == []
            served.close()
        browser.close()
    assert problems == []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def _serve(folder: Path):
    """Serve ``folder`` over HTTP on a free local port, as a static host does; yields its index URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        thread.join()
