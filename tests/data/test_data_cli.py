"""`rsbench data inspect`, run through typer's CliRunner with the dataset registry replaced by the loaders here."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import rsbench.data
import rsbench.hooks
from rsbench.cli.data import app
from rsbench.data.config import BUILTIN_DATASETS
from rsbench.registry import Registry

FIVE = ("a first caption", "a second caption", "a third caption", "a fourth caption", "a fifth caption")


@pytest.fixture
def registry(monkeypatch):
    """The built-in loaders in a registry of their own, and load_dataset building from it."""
    reg = Registry("dataset")
    for entry in BUILTIN_DATASETS:
        reg.register(entry.name, entry.factory, entry.config, entry.description, source="test")
    calls = []

    def load_dataset(name, options):
        calls.append((name, dict(options)))
        component = reg.get(name)
        return component.build(component.config_cls(**options))

    monkeypatch.setattr(rsbench.hooks, "get_registry", lambda kind: reg)
    monkeypatch.setattr(rsbench.data, "load_dataset", load_dataset)
    return calls


def test_inspect_json_defaults_to_skipping_bad_images(registry, make_karpathy):
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
    assert registry == [("rsitmd", {"on_bad_image": "skip", "check_images": True, "data_root": str(root)})]


def test_inspect_tables(registry, make_karpathy):
    root = make_karpathy([("1.tif", "train", FIVE), ("1000.tif", "val", FIVE), ("2100.tif", "test", FIVE)],
                         image_dir="imgs")
    result = CliRunner().invoke(app, ["inspect", "--dataset", "ucm", "--data-root", str(root), "--no-check-images"])
    assert result.exit_code == 0, result.output
    assert "agricultural" in result.stdout and "tenniscourt" in result.stdout
    assert "no problems found" in result.stdout
    assert registry[0][1]["check_images"] is False


def test_inspect_passes_other_options(registry, make_karpathy):
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
    assert json.loads(result.stdout)["scene_classes"] == []
    assert registry[0][1]["annotation"] == "mine.json" and registry[0][1]["scene_rule"] == "none"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-root", "{root}", "--on-bad-image", "error"], "1 image(s) named in dataset_RSITMD.json"),
        (["--data-root", "{root}/nowhere"], "nowhere does not exist"),
        ([], "dataset.data_root is required for dataset 'rsitmd'"),
        (["--data-root", "{root}", "--on-bad-image", "maybe"], "--on-bad-image must be 'error' or 'skip'"),
        (["--data-root", "{root}", "-o", "annotation"], "--option expects KEY=VALUE"),
    ],
)
def test_user_errors_are_one_red_line_and_exit_2(registry, make_karpathy, args, message):
    root = make_karpathy([("airport_1.tif", "train", FIVE)], "dataset_RSITMD.json")
    (root / "images" / "airport_1.tif").unlink()
    result = CliRunner().invoke(app, ["inspect", *(a.format(root=root) for a in args)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
