"""Every artefact rsbench reads back, damaged at random (hypothesis): truncated, bit-flipped, a field or the whole
file of the wrong type, or oversized. Each reader either reads what is left or raises the project's error with
one line, and writes nothing. A few dozen variants per kind keep each kind to about a second.

The exit status of the same failures through the real command line is in test_untrusted_files.py.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsbench.captioning.file import read_captions_file
from rsbench.errors import RsbenchError
from rsbench.results.record import load_records
from rsbench.retrieval.archive import ARCHIVE_FORMAT, read_manifest
from rsbench.retrieval.index.exact import ExactIndex
from rsbench.retrieval.saved_model import MANIFEST_FILE, WEIGHTS_FILE, _read_folder, save_model
from rsbench.safe_load import read_safetensors
from rsbench.train.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from rsbench.train.feature_cache import FeatureCache

FUZZ = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.text(max_size=8),
                        st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                              max_size=2))
CASES = itertools.count()
OVERSIZE = 1100 << 20  # past every size limit (a captions file's 1 GiB the largest); written sparse: no disk used
BINARY_OVERSIZE = 64 << 20  # tensor and index files have no size limit: trailing zeros, a size the header denies
DEEP = 100_000  # levels of nesting: past Python's recursion limit


@st.composite
def damage(draw, json_file: bool = True, lines: bool = False):
    """How to damage a file: (kind, a function of its bytes). JSON files also get one field or the whole document
    of another type, and the document nested past the recursion limit; JSON-lines files (``lines``) the last."""
    kinds = ["truncate", "flip", "oversize"] + (["field", "whole", "deep"] if json_file else []) + \
        (["deep"] if lines else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "truncate":
        fraction = draw(st.floats(0, 0.999))
        return kind, lambda data: data[: int(len(data) * fraction)]
    if kind == "flip":
        spot, bit = draw(st.floats(0, 0.999)), draw(st.integers(0, 7))
        return kind, lambda data: _flip(data, int(len(data) * spot), bit)
    if kind == "oversize":
        return kind, OVERSIZE if json_file else BINARY_OVERSIZE
    if kind == "deep":
        return kind, lambda data: b"[" * DEEP + data + b"]" * DEEP
    value = draw(JSON_VALUES)
    if kind == "whole":
        return kind, lambda data: json.dumps(value).encode()
    pick = draw(st.integers(0, 1000))
    return kind, lambda data: _replace_field(data, pick, value)


def _flip(data: bytes, at: int, bit: int) -> bytes:
    return data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1:] if data else data


def _replace_field(data: bytes, pick: int, value) -> bytes:
    document = json.loads(data)
    if isinstance(document, dict) and document:
        key = sorted(document)[pick % len(document)]
        document[key] = value
    return json.dumps(document).encode()


def apply(path: Path, change) -> None:
    kind, function = change
    if kind == "oversize":
        with open(path, "r+b") as handle:
            handle.truncate(function)
    else:
        path.write_bytes(function(path.read_bytes()))


def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*")}


def read_or_refuse(read: Callable[[], object], folder: Path) -> None:
    """``read()`` either returns or raises RsbenchError with one non-empty line; nothing in ``folder`` changes."""
    before = files_under(folder)
    try:
        read()
    except RsbenchError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message, message
        assert "allow_pickle" not in message and "weights_only=False" not in message, message
    assert files_under(folder) == before


def fresh(tmp_path: Path) -> Path:
    folder = tmp_path / f"case{next(CASES)}"
    folder.mkdir()
    return folder


def saved_model(folder: Path) -> Path:
    config = {"backbone": {"name": "rsbench-tiny", "pretrained": None}, "adapter": {"name": "clip-bitfit"}}
    return save_model({"bias": torch.arange(4.0)}, config, "0" * 64, folder / "model", run_id="r" * 32)


@FUZZ
@given(change=damage(), part=st.sampled_from([MANIFEST_FILE, "config.yaml"]))
def test_saved_model_manifest_and_config(tmp_path, change, part):
    model = saved_model(fresh(tmp_path))
    if part == "config.yaml" and change[0] in ("field", "whole", "deep"):  # YAML, not JSON: damage its bytes instead
        change = ("truncate", lambda data: data[: len(data) // 3] + b": [\n")
    apply(model / part, change)
    read_or_refuse(lambda: _read_folder(model), model)


@FUZZ
@given(change=damage(json_file=False))
def test_saved_model_weights_whose_digest_was_made_to_match(tmp_path, change):
    from rsbench.safe_load import file_sha256

    model = saved_model(fresh(tmp_path))
    apply(model / WEIGHTS_FILE, change)
    manifest = json.loads((model / MANIFEST_FILE).read_text())
    (model / MANIFEST_FILE).write_text(json.dumps({**manifest, "trainable_sha256": file_sha256(model / WEIGHTS_FILE)}))

    def read():
        _read_folder(model)
        read_safetensors(model / WEIGHTS_FILE, "saved model weights", "write it again")

    read_or_refuse(read, model)


@FUZZ
@given(change=damage())
def test_archive_manifest(tmp_path, change):
    archive = fresh(tmp_path)
    manifest = {"format": ARCHIVE_FORMAT, "images": "/data/tiles", "paths": ["a.png", "b/c.png"],
                "model": {"config": {"adapter": {"name": "frozen"}}}, "model_digest": "d" * 16, "dim": 8,
                "index": "exact"}
    (archive / "manifest.json").write_text(json.dumps(manifest))
    apply(archive / "manifest.json", change)
    read_or_refuse(lambda: read_manifest(archive), archive)


@FUZZ
@given(change=damage(json_file=False))
def test_exact_index_file(tmp_path, change):
    folder = fresh(tmp_path)
    index = ExactIndex(8)
    index.add(np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32))
    index.save(folder / "index.exact")
    apply(folder / "index.exact", change)
    read_or_refuse(lambda: ExactIndex(8).load(folder / "index.exact"), folder)


@FUZZ
@given(change=damage())
def test_result_record(tmp_path, change, build_record):
    from rsbench.results.record import write_record

    folder = fresh(tmp_path)
    path = write_record(build_record(), folder)
    apply(path, change)
    problems: list[str] = []
    read_or_refuse(lambda: load_records(folder, problems=problems), folder)  # a bad record is skipped, not fatal
    assert all("\n" not in problem for problem in problems)


@FUZZ
@given(change=damage(), suffix=st.sampled_from([".json", ".jsonl"]))
def test_captions_file(tmp_path, change, suffix):
    folder = fresh(tmp_path)
    path = folder / f"captions{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"a.png": ["a red roof", "two cars"], "b/c.png": "a lake"}))
    else:
        path.write_text(json.dumps({"image": "a.png", "captions": ["a red roof"]}) + "\n")
    apply(path, change)
    read_or_refuse(lambda: read_captions_file(path), folder)


@FUZZ
@given(change=damage(json_file=False, lines=True))
def test_caption_cache(tmp_path, change):
    from rsbench.captioning.cache import CaptionCache

    cache = CaptionCache(fresh(tmp_path), "file", {"model": "file:x.json"}, None)
    cache.append([{"image": "a" * 64, "image_id": "a.png", "captions": ["a red roof"]},
                  {"image": "b" * 64, "image_id": "b.png", "failure": "no reply"}])
    apply(cache.path, change)
    read_or_refuse(cache.load, cache.folder)


@FUZZ
@given(change=damage(), part=st.sampled_from(["meta.json", "tokens.npy", "filled.npy"]))
def test_feature_cache(tmp_path, change, part):
    folder = fresh(tmp_path) / "features"
    cache = FeatureCache(folder, rows=4)
    cache.write(torch.tensor([0, 1]), {"tokens": torch.ones(2, 3, 2)})
    cache.flush()
    cache.arrays = {}
    if part != "meta.json" and change[0] in ("field", "whole", "deep"):
        change = ("truncate", lambda data: data[:40])
    apply(folder / part, change)
    read_or_refuse(lambda: FeatureCache(folder, rows=4).open(), folder)


@FUZZ
@given(change=damage(json_file=False))
def test_training_checkpoint(tmp_path, change):
    folder = fresh(tmp_path)
    save_checkpoint(folder / "run.pt", {"run_key": "k", "epoch": 1, "adapter": {"w": torch.arange(6.0)}})
    apply(folder / "run.pt", change)

    def read():
        state = load_checkpoint(folder / "run.pt", run_key="k")
        assert state["format"] == CHECKPOINT_FORMAT

    read_or_refuse(read, folder)


@pytest.fixture
def build_record():
    from rsbench.results.record import make_record

    def build():
        metrics = dict.fromkeys(("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR"), 10.0)
        return make_record(config={"adapter": "full"}, seed=0, selected_on="val",
                           dataset={"name": "x", "synthetic": True, "content_hash": "h", "split_sizes": {},
                                    "scene_at_eval": "none"},
                           backbone={"name": "b", "pretrained": None}, metrics=metrics,
                           cost=dict.fromkeys(("trainable_params", "total_params", "saved_activation_bytes",
                                               "peak_memory_bytes", "throughput_pairs_per_s", "train_seconds")))
    return build

