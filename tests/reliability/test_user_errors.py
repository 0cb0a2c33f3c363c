"""Every bad input a user can give, through the real CLI: exit status 2, exactly one ``error:`` line that
says what to do, no traceback, nothing half-written. One row per case; a new case is a new row."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

# A run small enough to reach training in seconds (the rows below fail before or at its start).
TRAIN = ["--set", "train.epochs=1", "--set", "train.max_steps=2", "--set", "train.batch_size=8", "--set", "device=cpu"]
SMALL = ["--set", "dataset.num_images=60", "--set", "dataset.image_size=32", *TRAIN]


@dataclass
class Case:
    """One row: the command line (``{tmp}`` is the test's folder), what the error must say, how to set up."""

    id: str
    argv: list[str]
    says: list[str]
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    never: list[str] = field(default_factory=list)  # text the message must not hold
    plugin: tuple[str, str] | None = None  # (name, module source) of a plugin installed for the case


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def karpathy(tmp: Path, splits: tuple[str, ...], annotation: str = "ann.json") -> None:
    root = tmp / "ds"
    images = [{"filename": f"{s}_{i}.png", "split": s, "sentences": [{"raw": f"image {i} of {s}"}]}
              for s in splits for i in range(3)]
    write(root / annotation, json.dumps({"images": images}))
    for entry in images:
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(root / "images" / entry["filename"])


class RunsCode:
    """Pickled, it would touch a file when loaded: a weights file rsbench must refuse unread."""

    def __reduce__(self):
        return (Path.touch, (Path("/nonexistent/rsbench-code-ran"),))


def unsafe_weights(tmp: Path) -> None:
    import torch

    torch.save({"state_dict": {"w": torch.zeros(2)}, "extra": RunsCode()}, tmp / "weights.pt")


def nan_record(tmp: Path) -> None:
    from rsbench.results.record import make_record

    metrics = dict.fromkeys(("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR"), 10.0)
    record = make_record(config={"adapter": "full"}, seed=0, selected_on="val",
                         dataset={"name": "x", "synthetic": True, "content_hash": "h", "split_sizes": {},
                                  "scene_at_eval": "none"},
                         backbone={"name": "b", "pretrained": None}, metrics=metrics,
                         cost=dict.fromkeys(("trainable_params", "total_params", "saved_activation_bytes",
                                             "peak_memory_bytes", "throughput_pairs_per_s", "train_seconds")))
    text = json.dumps(record).replace('"mR": 10.0', '"mR": NaN')
    write(tmp / "results" / "nan.json", text)


def nwpu_flat(tmp: Path) -> None:
    entries = {"airport": [{"filename": "airport_1.jpg", "split": "train", "raw": "a plane"}]}
    write(tmp / "nwpu" / "dataset_nwpu.json", json.dumps(entries))
    (tmp / "nwpu" / "NWPU_images").mkdir()
    Image.new("RGB", (8, 8)).save(tmp / "nwpu" / "NWPU_images" / "airport_1.jpg")  # no airport/ folder


CASES = [
    # the command line itself
    Case("unknown-command", ["frobnicate"], ["No such command 'frobnicate'", "rsbench --help"]),
    Case("unknown-flag", ["run", "--lrr", "1e-3"], ["No such option: --lrr", "--lr", "rsbench run --help"]),
    Case("bad-flag-value", ["run", "--epochs", "abc"], ["'--epochs'", "integer"]),
    Case("flag-of-a-subcommand-at-the-top", ["--seed", "-5"], ["No such option: --seed"]),
    Case("negative-seed", ["run", "--seed", "-5", "--print-config"], ["seed must be an integer from 0"]),
    Case("infinite-lr", ["run", "--lr", "inf", "--print-config"], ["train.lr must be a finite number > 0; got inf"]),
    Case("unknown-loss-plural", ["run", "--loss", "infonc"], ["Did you mean: infonce?", "Registered losses:"],
         never=["losss"]),
    Case("suggestions-listed-once", ["run", "--backbone", "rsbench-tin"], ["Did you mean: rsbench-tiny,"],
         never=["rsbench-tiny, rsbench-tiny,"]),
    # config files and names
    Case("non-utf8-yaml", ["run", "--config", "{tmp}/bad.yaml"], ["bad.yaml is not UTF-8"],
         setup=lambda tmp: write(tmp / "bad.yaml", b"train:\n  lr: \xff\xfe1e-3\n")),
    Case("markup-in-config-key", ["run", "--set", "train.[/x]=1", "--print-config"], ["'train.[/x]'"]),
    Case("word-in-brackets-kept", ["run", "--set", "train.[bold]=1", "--print-config"], ["'train.[bold]'"]),
    Case("markup-in-file-name", ["run", "--config", "{tmp}/a[/x]/b.yaml"], ["a[/x]/b.yaml"]),
    # data
    Case("deeply-nested-json", ["run", "--dataset", "karpathy", "--data-root", "{tmp}/deep", "--set",
                                "dataset.annotation=ann.json", *TRAIN], ["nested too deeply"],
         setup=lambda tmp: write(tmp / "deep" / "ann.json", "[" * 200_000 + "]" * 200_000)),
    Case("inspect-needs-a-root", ["data", "inspect", "--dataset", "rsitmd"], ["dataset.data_root is required"]),
    Case("inspect-deeply-nested-json", ["data", "inspect", "--dataset", "karpathy", "--data-root", "{tmp}/deep",
                                        "-o", "annotation=ann.json"], ["nested too deeply"],
         setup=lambda tmp: write(tmp / "deep" / "ann.json", "[" * 200_000 + "]" * 200_000)),
    Case("nwpu-wrong-layout", ["data", "inspect", "--dataset", "nwpu", "--data-root", "{tmp}/nwpu"],
         ["wrong layout", "one folder per category"], setup=nwpu_flat, never=["missing"]),
    Case("no-val-split", ["run", "--dataset", "karpathy", "--data-root", "{tmp}/ds", "--set",
                          "dataset.annotation=ann.json", *TRAIN], ["no 'val' images", "eval.select_on=test"],
         setup=lambda tmp: karpathy(tmp, ("train", "test"))),
    # weights and outputs
    Case("pickled-code-in-weights", ["run", "--pretrained", "{tmp}/weights.pt", *SMALL],
         ["not a safe tensor file", "Python objects", ".safetensors"], setup=unsafe_weights,
         never=["weights_only=False", "arbitrary code"]),
    Case("results-dir-under-a-file", ["run", *SMALL, "--results-dir", "{tmp}/file/results"],
         ["results directory", "is a file"],
         setup=lambda tmp: write(tmp / "file", "x")),
    Case("checkpoint-dir-is-a-file", ["run", *SMALL, "--set", "checkpoint_dir={tmp}/ckpt"],
         ["checkpoint directory", "is a file"], setup=lambda tmp: write(tmp / "ckpt", "x")),
    Case("profile-out-is-a-file", ["profile", "--steps", "0", "--out", "{tmp}/file"],
         ["profile output folder", "is a file"], setup=lambda tmp: write(tmp / "file", "x")),
    Case("pretrain-out-dir-is-a-file", ["pretrain", "--out-dir", "{tmp}/file"], ["output folder", "is a file"],
         setup=lambda tmp: write(tmp / "file", "x")),
    Case("leaderboard-nan-metric", ["leaderboard", "--results-dir", "{tmp}/results", "--out-dir", "{tmp}/tables"],
         ["no result records"], setup=nan_record),
    # plugins
    Case("disable-unknown-plugin", ["list"], ["RSBENCH_DISABLE_PLUGINS=nope", "not an installed plugin"],
         env={"RSBENCH_DISABLE_PLUGINS": "nope"}),
    Case("plugin-hook-raises", ["run", "--print-config"], ["plugin 'raiser' is broken", "RuntimeError: boom",
                                                           "RSBENCH_DISABLE_PLUGINS=raiser"],
         plugin=("raiser", """
             from rsbench.hooks import hookimpl

             @hookimpl
             def register_adapters(register):
                 raise RuntimeError("boom")
         """)),
    Case("plugin-takes-a-built-in-name", ["run", "--print-config"],
         ["error: plugin 'dupplugin' is broken: it registers adapter 'full', a name reserved for rsbench's built-in"],
         never=["dataset.name", "..", "Rename one"],
         plugin=("dupplugin", """
             from rsbench.hooks import hookimpl

             @hookimpl
             def register_adapters(register):
                 register("full", lambda config, backbone: None, description="another full")
         """)),
    Case("plugin-misspelt-hook", ["run", "--print-config"], ["implements hook 'register_adapter'",
                                                             "did you mean register_adapters"],
         plugin=("typoplugin", """
             from rsbench.hooks import hookimpl

             @hookimpl
             def register_adapter(register):
                 pass
         """)),
    Case("plugin-fails-to-import", ["run", "--print-config"], ["plugin 'brokenplugin' is broken", "failed to import"],
         plugin=("brokenplugin", "import not_a_module_anywhere\n")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line(case, cli, tmp_path, plugin_site):
    if case.setup is not None:
        case.setup(tmp_path)
    site = plugin_site(*case.plugin) if case.plugin else None
    out = cli(*(a.replace("{tmp}", str(tmp_path)) for a in case.argv), env=case.env, site=site)
    assert out.returncode == 2, out.output
    assert "Traceback" not in out.output, out.output
    assert len(out.error_lines()) == 1, out.output
    for text in case.says:
        assert text in out.message(), out.output
    for text in case.never:
        assert text not in out.message(), out.output
    assert not out.created and not out.removed, f"files changed: {sorted(out.created | out.removed)}"
