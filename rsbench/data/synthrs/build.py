"""Generate SynthRS onto disk in the Karpathy JSON layout, once per config, into an atomic cache entry.

``build_synthrs(cfg)`` returns a folder holding ``dataset.json`` (Karpathy layout), ``images/<scene>_<n>.png``
and ``synthrs_meta.json`` (per image: scene, objects with counts, colours and area fractions). A build is
written to a temporary sibling folder and renamed into place, so a folder that exists is complete.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from rsbench.data import procedural
from rsbench.data.synthrs.captions import captions_for
from rsbench.data.synthrs.config import SCENE_CLASSES, SPLIT_FRACTIONS, SynthRSConfig
from rsbench.data.synthrs.scenes import paint

# Bump whenever painters, grammar or layout change what a config produces: it is part of the cache key.
GENERATOR_VERSION = "1"
CAPTIONS_PER_IMAGE = 5
SMALL_AREA_FRACTION = 0.02  # objects below 2 % of the image count as small, for size-split metrics
MARKER = "synthrs_build.json"
META = "synthrs_meta.json"


@dataclass(frozen=True)
class ImageSpec:
    """One image to paint: its class, its number within the class (from 1), its id and split."""

    scene: str
    number: int
    imgid: int
    split: str

    @property
    def filename(self) -> str:
        return f"{self.scene}_{self.number}.png"


def cache_key(cfg: SynthRSConfig) -> str:
    """What identifies a build: generator version plus every option that changes the files (not where they go)."""
    payload = {"version": GENERATOR_VERSION, "seed": cfg.seed, "num_images": cfg.num_images, "size": cfg.image_size}
    return procedural.cache_key(payload)


def cache_base() -> Path:
    """``$RSBENCH_CACHE/synthrs``, or ``~/.cache/rsbench/synthrs``."""
    return procedural.cache_base("synthrs")


def dataset_root(cfg: SynthRSConfig) -> Path:
    """Where ``build_synthrs(cfg)`` puts (or finds) the dataset."""
    return procedural.dataset_root(cfg.data_root, "synthrs", cache_key(cfg))


def plan(cfg: SynthRSConfig) -> list[ImageSpec]:
    """Every image of the dataset: classes balanced, each class split in RSITMD's proportions.

    Each class gets at least one image in every split; which numbers go to which split is shuffled
    with the seed, so splits do not follow the drawing order.
    """
    specs = []
    per_class, extra = divmod(cfg.num_images, len(SCENE_CLASSES))
    imgid = 0
    for index, scene in enumerate(SCENE_CLASSES):
        n = per_class + (1 if index < extra else 0)
        n_val = max(1, round(n * SPLIT_FRACTIONS["val"]))
        n_test = max(1, round(n * SPLIT_FRACTIONS["test"]))
        splits = ["train"] * (n - n_val - n_test) + ["val"] * n_val + ["test"] * n_test
        order = np.random.default_rng([cfg.seed, _scene_seed(scene), 1]).permutation(n)
        for number in range(1, n + 1):
            specs.append(ImageSpec(scene, number, imgid, splits[int(order[number - 1])]))
            imgid += 1
    return specs


def _scene_seed(scene: str) -> int:
    # a stable number per class name, so adding a class never changes the images of the others
    return zlib.crc32(scene.encode())


def render(spec: ImageSpec, cfg: SynthRSConfig) -> tuple[Image.Image, dict[str, Any], list[str]]:
    """Paint one image: returns the PIL image, its metadata and its captions. Depends only on (seed, scene, number)."""
    layout, grain, words = np.random.SeedSequence([cfg.seed, _scene_seed(spec.scene), spec.number]).spawn(3)
    image, scene = paint(spec.scene, np.random.default_rng(layout), np.random.default_rng(grain), cfg.image_size)
    captions = captions_for(scene, random.Random(int(words.generate_state(1)[0])), CAPTIONS_PER_IMAGE)
    return image, scene.to_json(), captions


def write_dataset(cfg: SynthRSConfig, root: Path, workers: int = 1) -> None:
    """Paint every image into ``root/images`` and write ``dataset.json`` and the metadata sidecar."""
    specs = plan(cfg)
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    painted = procedural.paint_images(specs, render, cfg, images_dir, workers)
    meta_by_file = procedural.write_karpathy(root, "synthrs", specs, painted, CAPTIONS_PER_IMAGE)
    procedural.write_json(
        root / META,
        {"generator_version": GENERATOR_VERSION, "small_area_fraction": SMALL_AREA_FRACTION, "images": meta_by_file},
    )


def build_synthrs(cfg: SynthRSConfig | None = None, workers: int | None = None) -> Path:
    """Generate SynthRS for ``cfg`` unless it is already there; return the dataset folder.

    The folder is ``cfg.data_root`` or the cache entry for the config's key. A second call returns at
    once. ``workers`` > 1 paints in that many processes (the default, 1, needs no process pool).
    """
    cfg = cfg if cfg is not None else SynthRSConfig()
    return procedural.build_once(
        dataset_root(cfg),
        cache_key(cfg),
        marker=MARKER,
        marker_fields={"generator_version": GENERATOR_VERSION, "config": dataclasses.asdict(cfg)},
        write=lambda temp: write_dataset(cfg, temp, workers=workers or 1),
        title="SynthRS",
        option="synthrs.data_root",
    )
