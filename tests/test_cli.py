"""The CLI as a user meets it: exit codes, one-line errors, JSON output, the run -> leaderboard path."""

from __future__ import annotations

import json

import pytest

from rsbench.cli import main


def invoke(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--adapter", "fulll"], "unknown adapter 'fulll'. Did you mean: full"),
        (["run", "--sampler", "bach"], "unknown sampler 'bach'. Did you mean: batch"),
        (["run", "--set", "train.lrr=1"], "unknown config key 'train.lrr'. Did you mean: lr?"),
        (["run", "--dataset", "rsitmd"], "dataset.data_root is required"),
        (["run", "--backbone", "ViT-B-322"], "ViT-B-32"),
        (["list", "adapters"], "unknown component kind 'adapters'. Did you mean: adapter"),
        (["bench", "gallery", "--index", "hnws"], "unknown index 'hnws'. Did you mean: hnsw"),
        (["bench", "gallery", "--index", "exact", "--rerank", "csl"], "unknown reranker 'csl'. Did you mean: csls"),
        (["bench", "gallery", "--index", "exact", "--rerank", "qb-norm"], "reranker qb-norm needs a run"),
        (["bench", "gallery", "--index", "exact", "--rerank", "csls", "--candidates", "0"],
         "--candidates must be between 1"),
        (["index", "build", "--images", ".", "--out", "/nonexistent/rsbench", "--index", "anoy"],
         "unknown index 'anoy'. Registered indexes: exact, flat, hnsw, ivfpq"),
        (["run", "--strategy", "fast-then-fine", "--set", "strategy.index=hnws"], "unknown index 'hnws'"),
        (["leaderboard", "--results-dir", "/nonexistent/rsbench"], "/nonexistent/rsbench"),
        (["run", "--nproc", "0"], "--nproc must be 1 or more"),
        (["run", "--strategy", "text-to-text", "--captioner", "tiny", "--set",
          "captioner.weights=/nonexistent/tiny.safetensors"],
         "captioner.weights: no such file: /nonexistent/tiny.safetensors"),
        (["run", "--strategy", "hybrid", "--set", "strategy.aggregation=median"], "strategy.aggregation must be"),
        (["run", "--strategy", "text-to-text", "--captioner", "oracle", "--set",
          "strategy.text_encoder_options.model=/nonexistent/rsbench-model"], "/nonexistent/rsbench-model"),
        (["run", "--nproc", "2", "--device", "cpu", "--set", "train.dist_backend=nccl"],
         "train.dist_backend=nccl needs CUDA devices"),
        (["run", "--nproc", "2", "--device", "cpu", "--set", "train.batch_size=7"],
         "must divide evenly over --nproc 2"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = invoke(capsys, *argv)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err
    assert err.strip().startswith("error:")


def test_list_shows_the_indexes(capsys):
    code, out, _ = invoke(capsys, "list", "index", "--json")
    assert code == 0
    assert {"exact", "flat", "hnsw", "ivfpq"} <= {row["name"] for row in json.loads(out)}


def test_list_shows_the_text_encoders(capsys):
    code, out, _ = invoke(capsys, "list", "text_encoder", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) >= {"sentence-transformers", "clip-text"}
    options = {o["name"]: o["default"] for o in rows["sentence-transformers"]["options"]}
    assert options["model"] == "sentence-transformers/all-MiniLM-L6-v2" and options["normalize"] is True


def test_malformed_annotation_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "dataset_RSITMD.json").write_text('{"images": [{"filename": "a_1.tif"')
    code, _, err = invoke(capsys, "run", "--dataset", "rsitmd", "--data-root", str(tmp_path))
    assert code == 2
    assert "dataset_RSITMD.json" in err and "Traceback" not in err


def test_print_config_shows_the_resolved_config(capsys):
    import yaml

    code, out, _ = invoke(capsys, "run", "--adapter", "linear-probe", "--set", "train.lr=1e-4", "--print-config")
    assert code == 0
    resolved = yaml.safe_load(out)
    assert resolved["adapter"]["name"] == "linear-probe"
    assert resolved["train"]["lr"] == pytest.approx(1e-4)


def test_list_and_plugins_as_json(capsys):
    code, out, _ = invoke(capsys, "list", "--json")
    rows = json.loads(out)
    assert {"kind", "name", "description", "source", "options"} <= set(rows[0])
    assert ("adapter", "full") in {(r["kind"], r["name"]) for r in rows}
    code, out, _ = invoke(capsys, "list", "adapter", "--pattern", "fr*", "--json")
    assert {r["name"] for r in json.loads(out)} == {"frozen"}
    code, out, _ = invoke(capsys, "plugins", "--json")
    plugins = json.loads(out)
    builtin = next(p for p in plugins if p["name"] == "rsbench.builtin")
    assert "register_adapters" in builtin["hooks"]


def test_run_then_leaderboard(tmp_path, capsys, small_run):
    sets = [arg for s in small_run for arg in ("--set", s)]
    code, out, _ = invoke(capsys, "run", *sets, "--seed", "0", "--seed", "1", "--json")
    assert code == 0
    runs = json.loads(out)
    assert len(runs) == 2 and all(0 <= r["metrics"]["mR"] <= 100 for r in runs)
    code, out, _ = invoke(capsys, "leaderboard", "--results-dir", str(tmp_path / "results"), "--out-dir",
                          str(tmp_path / "tables"), "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 1 and rows[0]["n"] == 2
    assert (tmp_path / "tables" / "leaderboard.md").is_file()
    assert (tmp_path / "tables" / "leaderboard.csv").is_file()


def test_quickstart_yaml_is_the_embedded_default():
    from pathlib import Path

    from rsbench.config import build_config

    quickstart = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"
    assert build_config(quickstart).to_dict() == build_config().to_dict()


def test_help_is_fast_to_import():
    """`rsbench --help` and listings must not import torch, open_clip or the text encoders' libraries."""
    import subprocess
    import sys

    heavy = ("torch", "open_clip", "sentence_transformers", "transformers")
    code = (
        "import sys; from rsbench.cli import app; from rsbench.hooks import registries; registries(); "
        f"loaded = [m for m in {heavy!r} if m in sys.modules]; assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_component_that_needs_captions_gets_the_shipped_captioner_unless_the_run_names_one():
    from rsbench.config import build_config

    for layer in ({"augmenter": {"name": "rich-caption"}}, {"strategy": {"name": "text-to-text"}},
                  {"strategy": {"name": "hybrid"}}):
        cfg = build_config(None, layer)
        assert cfg.has("captioner") and cfg.name("captioner") == "tiny", layer
        assert cfg.to_dict()["captioner"]["name"] == "tiny"  # in the record's config, so the row says so
    named = build_config(None, {"augmenter": {"name": "rich-caption"}, "captioner": {"name": "oracle"}})
    assert named.name("captioner") == "oracle"
    assert not build_config(None, {}).has("captioner")  # nothing asks for captions: no captioner section


def test_list_shows_each_options_declared_rules(capsys, monkeypatch):
    code, out, _ = invoke(capsys, "list", "reranker", "--json")
    rules = {o["name"]: o["rules"] for o in {r["name"]: r for r in json.loads(out)}["qb-norm"]["options"]}
    assert code == 0 and rules["k"] == {"ge": 1} and rules["activation"] == {"choices": ["top1", "topk"]}
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = invoke(capsys, "list", "reranker")
    assert code == 0 and "k=1 (>= 1)" in out and "activation='top1' (one of 'top1', 'topk')" in out
    assert "wp1=1.0," in out  # an option without rules: its default alone
