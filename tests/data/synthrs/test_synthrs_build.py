"""SynthRS on disk: Karpathy layout, splits, determinism, the size sidecar, caching and atomic builds."""

from __future__ import annotations

import json
import re
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from rsbench.data.synthrs import SynthRSConfig, build_synthrs
from rsbench.data.synthrs import build as synthrs_build
from rsbench.data.synthrs.build import MARKER, SMALL_AREA_FRACTION, cache_key, plan, render
from rsbench.data.synthrs.canvas import MEASURE_SIZE, Canvas, Measured
from rsbench.data.synthrs.captions import tokens
from rsbench.data.synthrs.config import SCENE_CLASSES, SPLIT_FRACTIONS
from rsbench.data.synthrs.objects import ObjectGroup
from rsbench.data.synthrs.scenes import PAINTERS
from rsbench.errors import DataError

SMALL = {"num_images": 60, "image_size": 32}  # the options of the conftest's small_build


def test_painters_cover_exactly_the_scene_classes() -> None:
    assert sorted(PAINTERS) == sorted(SCENE_CLASSES)


def test_karpathy_layout(small_build: Path, small_dataset: dict) -> None:
    assert small_dataset["dataset"] == "synthrs"
    images = small_dataset["images"]
    assert len(images) == SMALL["num_images"]
    assert [im["imgid"] for im in images] == list(range(len(images)))
    sentids = [sid for im in images for sid in im["sentids"]]
    assert len(set(sentids)) == len(sentids) == 5 * len(images)
    for im in images:
        assert re.fullmatch(r"[a-z]+_\d+\.png", im["filename"])
        assert im["filename"].rsplit("_", 1)[0] in SCENE_CLASSES
        assert im["split"] in ("train", "val", "test")
        assert [s["sentid"] for s in im["sentences"]] == im["sentids"]
        for s in im["sentences"]:
            assert s["imgid"] == im["imgid"]
            assert s["tokens"] == tokens(s["raw"]) and s["tokens"]
        with Image.open(small_build / "images" / im["filename"]) as picture:
            assert picture.size == (32, 32) and picture.mode == "RGB"
    assert len(list((small_build / "images").iterdir())) == len(images)


def test_every_scene_class_is_in_every_split(small_dataset: dict) -> None:
    seen = {(im["filename"].rsplit("_", 1)[0], im["split"]) for im in small_dataset["images"]}
    for scene in SCENE_CLASSES:
        for split in ("train", "val", "test"):
            assert (scene, split) in seen


def test_default_plan_follows_rsitmd_split_and_balances_classes() -> None:
    specs = plan(SynthRSConfig())
    splits = Counter(s.split for s in specs)
    for split, fraction in SPLIT_FRACTIONS.items():
        assert abs(splits[split] / len(specs) - fraction) < 0.01, (split, splits)
    per_class = Counter(s.scene for s in specs)
    assert max(per_class.values()) - min(per_class.values()) <= 1
    assert len({s.filename for s in specs}) == len(specs)


def test_same_seed_gives_identical_files(tmp_path: Path, small_build: Path) -> None:
    again = build_synthrs(SynthRSConfig(data_root=str(tmp_path / "again"), **SMALL))
    for name in ("dataset.json", "synthrs_meta.json"):
        assert (again / name).read_bytes() == (small_build / name).read_bytes()
    for path in sorted((small_build / "images").iterdir()):
        first = np.asarray(Image.open(path))
        second = np.asarray(Image.open(again / "images" / path.name))
        assert np.array_equal(first, second), path.name


def test_another_seed_gives_other_images_and_captions() -> None:
    spec = plan(SynthRSConfig(**SMALL))[0]
    image_a, _, captions_a = render(spec, SynthRSConfig(seed=0, **SMALL))
    image_b, _, captions_b = render(spec, SynthRSConfig(seed=1, **SMALL))
    assert not np.array_equal(np.asarray(image_a), np.asarray(image_b))
    assert captions_a != captions_b


def test_layout_and_captions_do_not_depend_on_image_size() -> None:
    for spec in plan(SynthRSConfig(**SMALL))[::7]:
        _, meta_small, captions_small = render(spec, SynthRSConfig(num_images=60, image_size=32))
        _, meta_large, captions_large = render(spec, SynthRSConfig(num_images=60, image_size=96))
        assert captions_small == captions_large
        assert meta_small == meta_large  # areas are measured on a fixed-resolution mask


def test_meta_sidecar_lists_objects_with_sizes(small_dataset: dict, small_meta: dict) -> None:
    assert small_meta["small_area_fraction"] == SMALL_AREA_FRACTION
    files = {im["filename"] for im in small_dataset["images"]}
    assert set(small_meta["images"]) == files
    sizes = []
    for filename, entry in small_meta["images"].items():
        assert entry["scene"] == filename.rsplit("_", 1)[0]
        for obj in entry["objects"]:
            assert set(obj) >= {"kind", "count", "colour", "area_fraction"}
            assert obj["count"] >= 1
            assert 0 < obj["area_fraction"] <= 1
            sizes.append(obj["area_fraction"])
    assert any(a < SMALL_AREA_FRACTION for a in sizes), "no small objects"
    assert any(a >= SMALL_AREA_FRACTION for a in sizes), "no large objects"


def test_small_objects_are_common_in_the_default_classes(small_meta: dict) -> None:
    scenes_with_small = {
        entry["scene"]
        for entry in small_meta["images"].values()
        if any(o["area_fraction"] < SMALL_AREA_FRACTION for o in entry["objects"])
    }
    # planes, boats, cars, tanks, umbrellas, trees: most classes hold something small
    assert len(scenes_with_small) >= len(SCENE_CLASSES) - 3


def blobs(mask: np.ndarray) -> int:
    """Number of 4-connected regions of True pixels (a flood fill, kept here as the reference)."""
    seen = np.zeros_like(mask, dtype=bool)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        count += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
    return count


def render_with_drawn_masks(spec, cfg, monkeypatch) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """Render one image, keeping for each recorded object instance the mask of what was drawn for it."""
    measured_masks: list[tuple[Measured, np.ndarray]] = []
    drawn: dict[str, list[np.ndarray]] = {}
    measure, record = Canvas.measure, ObjectGroup.record

    @contextmanager
    def measure_and_keep(self):
        mask = Image.new("L", (MEASURE_SIZE, MEASURE_SIZE), 0)
        with measure(self) as measured:
            self._masks.append(ImageDraw.Draw(mask))  # every counted draw of the block lands here too
            try:
                yield measured
            finally:
                self._masks.pop()
        measured_masks.append((measured, np.asarray(mask) > 0))

    def record_and_keep(self, measured):
        record(self, measured)
        mask = next(m for candidate, m in measured_masks if candidate is measured)
        if mask.any():
            drawn.setdefault(self.kind, []).append(mask)

    with monkeypatch.context() as m:
        m.setattr(Canvas, "measure", measure_and_keep)
        m.setattr(ObjectGroup, "record", record_and_keep)
        _, meta, _ = render(spec, cfg)
    return meta, drawn


def test_object_counts_match_what_was_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    # The count a caption states is the number of objects drawn: storage tanks stand apart, so the tanks'
    # drawings must make exactly that many separate blobs, one per recorded tank.
    cfg = SynthRSConfig(**SMALL)
    specs = [s for s in plan(cfg) if s.scene == "storagetanks"]
    assert specs
    for spec in specs:
        meta, drawn = render_with_drawn_masks(spec, cfg, monkeypatch)
        (tanks,) = [o for o in meta["objects"] if o["kind"] == "tank"]
        assert all(blobs(mask) == 1 for mask in drawn["tank"])
        assert blobs(np.logical_or.reduce(drawn["tank"])) == len(drawn["tank"]) == tanks["count"]
    # Crossing roads make one blob, but an intersection's two roads are two drawings.
    (spec,) = [s for s in plan(cfg) if s.scene == "intersection"][:1]
    meta, drawn = render_with_drawn_masks(spec, cfg, monkeypatch)
    (roads,) = [o for o in meta["objects"] if o["kind"] == "road"]
    assert roads["count"] == len(drawn["road"]) == 2 and not np.array_equal(*drawn["road"])


def test_second_call_reuses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RSBENCH_CACHE", str(tmp_path / "cache"))
    cfg = SynthRSConfig(**SMALL)
    root = build_synthrs(cfg)
    assert root == tmp_path / "cache" / "synthrs" / cache_key(cfg)
    assert json.loads((root / MARKER).read_text())["key"] == cache_key(cfg)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt a cached dataset")

    monkeypatch.setattr(synthrs_build, "write_dataset", fail)
    assert build_synthrs(SynthRSConfig(**SMALL)) == root


def test_cache_key_changes_with_every_option_but_the_folder() -> None:
    base = cache_key(SynthRSConfig(**SMALL))
    assert cache_key(SynthRSConfig(data_root="/elsewhere", **SMALL)) == base
    assert cache_key(SynthRSConfig(seed=1, **SMALL)) != base
    assert cache_key(SynthRSConfig(num_images=61, image_size=32)) != base
    assert cache_key(SynthRSConfig(num_images=60, image_size=64)) != base


def test_interrupted_build_leaves_nothing_and_next_build_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ds"
    cfg = SynthRSConfig(data_root=str(root), **SMALL)
    real = synthrs_build.write_dataset

    def interrupted(cfg: SynthRSConfig, target: Path, workers: int = 1) -> None:
        (target / "images").mkdir()
        (target / "images" / "airport_1.png").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(synthrs_build, "write_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_synthrs(cfg)
    assert not root.exists()
    assert list(tmp_path.iterdir()) == []

    monkeypatch.setattr(synthrs_build, "write_dataset", real)
    assert build_synthrs(cfg) == root
    assert (root / "dataset.json").is_file()


def test_leftover_temp_folder_of_a_killed_build_is_ignored_and_removed(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    leftover = tmp_path / ".ds.tmp-999999999-deadbeef"  # no such process
    (leftover / "images").mkdir(parents=True)
    (leftover / "dataset.json").write_text('{"images": [')
    built = build_synthrs(SynthRSConfig(data_root=str(root), **SMALL))
    assert built == root
    assert not leftover.exists()
    assert len(json.loads((root / "dataset.json").read_text())["images"]) == SMALL["num_images"]


def test_existing_empty_folder_is_filled(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    root = build_synthrs(SynthRSConfig(data_root=str(tmp_path / "empty"), **SMALL))
    assert (root / "dataset.json").is_file()


def test_foreign_or_other_config_folder_is_refused(tmp_path: Path, small_build: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a complete SynthRS build"):
        build_synthrs(SynthRSConfig(data_root=str(foreign), **SMALL))
    assert (foreign / "notes.txt").read_text() == "keep me"
    with pytest.raises(DataError, match="data_root"):
        build_synthrs(SynthRSConfig(data_root=str(small_build), seed=5, **SMALL))


def test_parallel_build_matches_serial(tmp_path: Path, small_build: Path) -> None:
    parallel = build_synthrs(SynthRSConfig(data_root=str(tmp_path / "p"), **SMALL), workers=2)
    assert (parallel / "dataset.json").read_bytes() == (small_build / "dataset.json").read_bytes()
    assert (parallel / "images" / "forest_1.png").read_bytes() == (small_build / "images" / "forest_1.png").read_bytes()
