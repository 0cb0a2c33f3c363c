"""`rsbench data inspect`, run through typer's CliRunner on the real registry and `load_dataset`, so the
command's own option handling and the dataset configs' validation are what the tests exercise."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rsbench.cli.data import app

FIVE = ("a first caption", "a second caption", "a third caption", "a fourth caption", "a fifth caption")


def test_inspect_json_defaults_to_skipping_bad_images(make_karpathy):
    root = make_karpathy([("airport_1.tif", "train", FIVE), ("beach_2.tif", "test", FIVE)], "dataset_RSITMD.json")
    (root / "images" / "beach_2.tif").write_bytes(b"broken")
    result = CliRunner().invoke(app, ["inspect", "--data-root", str(root), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["name"] == "rsitmd"
    assert report["splits"]["train"] == {"images": 1, "captions": 5}
    assert report["splits"]["test"] == {"images": 0, "captions": 0}
    assert "beach_2.tif (corrupt" in report["problems"][0]
    assert [p.split(":")[0] for p in report["problems"][1:]] == ["split 'val' is empty", "split 'test' is empty"]


def test_no_check_images_leaves_corrupt_files_unopened(make_karpathy):
    root = make_karpathy([("airport_1.tif", "train", FIVE), ("beach_2.tif", "test", FIVE)], "dataset_RSITMD.json")
    (root / "images" / "beach_2.tif").write_bytes(b"broken")
    result = CliRunner().invoke(app, ["inspect", "--data-root", str(root), "--json", "--no-check-images"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert not [p for p in report["problems"] if "corrupt" in p]
    assert report["splits"]["test"] == {"images": 1, "captions": 5}


def test_inspect_tables(make_karpathy):
    root = make_karpathy([("1.tif", "train", FIVE), ("1000.tif", "val", FIVE), ("2100.tif", "test", FIVE)],
                         image_dir="imgs")
    result = CliRunner().invoke(app, ["inspect", "--dataset", "ucm", "--data-root", str(root), "--no-check-images"])
    assert result.exit_code == 0, result.output
    assert "agricultural" in result.stdout and "tenniscourt" in result.stdout
    assert "no problems found" in result.stdout


def test_inspect_passes_other_options(make_karpathy):
    root = make_karpathy([("beach_1.png", "train", FIVE)], annotation="mine.json")
    args = [
        "inspect",
        "-d",
        "karpathy",
        "--data-root",
        str(root),
        "-o",
        "annotation=mine.json",
        "-o",
        "scene_rule=none",
    ]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scene_classes"] == []  # scene_rule=none reached the loader
    # and without the option the karpathy config's own validation asks for it
    result = CliRunner().invoke(app, [*args[:5], "-o", "scene_rule=none"])
    assert result.exit_code == 2 and "dataset.annotation is required" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-root", "{root}", "--on-bad-image", "error"], "1 image(s) named in dataset_RSITMD.json"),
        (["--data-root", "{root}/nowhere"], "nowhere does not exist"),
        ([], "dataset.data_root is required for dataset 'rsitmd'"),
        (["--data-root", "{root}", "--on-bad-image", "maybe"], "--on-bad-image must be 'error' or 'skip'"),
        (["--data-root", "{root}", "-o", "annotation"], "--option expects KEY=VALUE"),
        # the dataset config's own validation, reached through the real load_dataset
        (["--data-root", "{root}", "-o", "anotation=x.json"], "anotation"),
        (["--data-root", "{root}", "-o", "check_images=sometimes"], "check_images"),
        (["-d", "rsitmdd", "--data-root", "{root}"], "rsitmd"),
    ],
)
def test_user_errors_are_one_red_line_and_exit_2(make_karpathy, args, message):
    root = make_karpathy([("airport_1.tif", "train", FIVE)], "dataset_RSITMD.json")
    (root / "images" / "airport_1.tif").unlink()
    result = CliRunner().invoke(app, ["inspect", *(a.format(root=root) for a in args)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_inspect_reports_every_problem_structural_ones_included_then_exits_2(make_karpathy, tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "secret_1.png")  # exists: only the path check can stop it
    Image.new("RGB", (8, 8)).save(tmp_path / "secret_2.png")
    root = make_karpathy([("airport_1.tif", "train", FIVE), ("../../secret_1.png", "test", FIVE),
                          ("beach_2.tif", "test", ("", *FIVE[1:])), ("../../secret_2.png", "val", FIVE)],
                         "dataset_RSITMD.json", write_images=False)
    for name in ("airport_1.tif", "beach_2.tif"):
        Image.new("RGB", (8, 8)).save(root / "images" / name)
    (root / "images" / "beach_2.tif").write_bytes(b"broken")
    result = CliRunner().invoke(app, ["inspect", "--data-root", str(root), "--json"])
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert len(report["errors"]) == 1 and report["errors"][0].startswith("2 image paths leave the image folder")
    assert "secret_1.png" in report["errors"][0] and "secret_2.png" in report["errors"][0]
    assert report["splits"]["train"] == {"images": 1, "captions": 5}  # the entries that passed, still counted
    problems = " ".join(report["problems"])
    assert "dropped 1 empty caption" in problems and "beach_2.tif (corrupt" in problems  # found after the paths
    tables = CliRunner().invoke(app, ["inspect", "--data-root", str(root)])
    assert tables.exit_code == 2 and "empty caption" in tables.stdout and "1 error(s), printed last" in tables.stdout
    assert tables.stderr.startswith("error: 2 image paths leave") and len(tables.stderr.strip().splitlines()) == 1
