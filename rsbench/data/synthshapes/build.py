"""Generate SynthShapes onto disk in the Karpathy JSON layout, once per config, into an atomic cache entry.

``build_synthshapes(cfg)`` returns a folder holding ``dataset.json`` (Karpathy layout), ``images/<n>.png``
and ``synthshapes_meta.json`` (per image: background and every object's kind, colour, size, box, area and
place, plus the relations between objects). File names carry no class: the corpus has none.
"""

from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from rsbench.data import procedural
from rsbench.data.synthshapes.captions import captions_for
from rsbench.data.synthshapes.config import SynthShapesConfig
from rsbench.data.synthshapes.overhead import TileSpec, render_tile
from rsbench.data.synthshapes.sheet import LARGE_EXTENT, SMALL_EXTENT, lay_out, paint

# Bump whenever painters, grammar or layout change what a config produces: it is part of the cache key.
GENERATOR_VERSION = "1"
MARKER = "synthshapes_build.json"
META = "synthshapes_meta.json"
DOMAIN = 0x5348_4150  # mixed into every seed, so SynthShapes never shares a random stream with SynthRS
PARALLEL_FROM = 400  # builds of fewer images paint in this process: a pool costs more than it saves


@dataclass(frozen=True)
class ImageSpec:
    """One image to paint: its number (from 1), its id and split."""

    number: int
    imgid: int
    split: str

    @property
    def filename(self) -> str:
        return f"{self.number:06d}.png"


def cache_key(cfg: SynthShapesConfig) -> str:
    """What identifies a build: generator version plus every option that changes the files (not where they go)."""
    payload: dict[str, Any] = {
        "version": GENERATOR_VERSION,
        "seed": cfg.seed,
        "num_images": cfg.num_images,
        "captions": cfg.captions_per_image,
        "size": cfg.image_size,
        "splits": cfg.split_sizes(),
    }
    if cfg.overhead_tiles:  # absent when zero, so a shapes-only build keeps the key it always had
        payload["overhead"] = {"tiles": cfg.overhead_tiles, "seed": cfg.overhead_seed}
    return procedural.cache_key(payload)


def dataset_root(cfg: SynthShapesConfig) -> Path:
    """Where ``build_synthshapes(cfg)`` puts (or finds) the dataset."""
    return procedural.dataset_root(cfg.data_root, "synthshapes", cache_key(cfg))


def plan(cfg: SynthShapesConfig) -> list[ImageSpec | TileSpec]:
    """Every image of the dataset with its split, then the overhead tiles (train only, see overhead.py).

    Which sheets go to val and test is shuffled with the seed.
    """
    sizes = cfg.split_sizes()
    splits = ["train"] * sizes["train"] + ["val"] * sizes["val"] + ["test"] * sizes["test"]
    order = np.random.default_rng([DOMAIN, cfg.seed, 1]).permutation(cfg.num_images)
    sheets = [ImageSpec(index + 1, index, splits[int(order[index])]) for index in range(cfg.num_images)]
    return sheets + [TileSpec(number, cfg.num_images + number - 1) for number in range(1, cfg.overhead_tiles + 1)]


def render(spec: ImageSpec | TileSpec, cfg: SynthShapesConfig) -> tuple[Image.Image, dict[str, Any], list[str]]:
    """Paint one image: returns the PIL image, its metadata and its captions. Depends only on (seed, number)."""
    if isinstance(spec, TileSpec):
        return render_tile(spec, cfg.image_size, cfg.overhead_seed, cfg.captions_per_image)
    layout, words = np.random.SeedSequence([DOMAIN, cfg.seed, spec.number]).spawn(2)
    sheet = lay_out(np.random.default_rng(layout))
    meta = sheet.to_json()
    captions = captions_for(meta, random.Random(int(words.generate_state(1)[0])), cfg.captions_per_image)
    return paint(sheet, cfg.image_size), meta, captions


def write_dataset(cfg: SynthShapesConfig, root: Path, workers: int = 1) -> None:
    """Paint every image into ``root/images`` and write ``dataset.json`` and the metadata sidecar."""
    specs = plan(cfg)
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    painted = procedural.paint_images(specs, render, cfg, images_dir, workers)
    meta_by_file = procedural.write_karpathy(root, "synthshapes", specs, painted, cfg.captions_per_image)
    procedural.write_json(
        root / META,
        {
            "generator_version": GENERATOR_VERSION,
            "small_extent": SMALL_EXTENT,
            "large_extent": LARGE_EXTENT,
            "images": meta_by_file,
        },
    )


def default_workers(cfg: SynthShapesConfig) -> int:
    """One process per available CPU core for a large build, none for a small one."""
    if cfg.num_images < PARALLEL_FROM:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, 16))


def build_synthshapes(cfg: SynthShapesConfig | None = None, workers: int | None = None) -> Path:
    """Generate SynthShapes for ``cfg`` unless it is already there; return the dataset folder.

    The folder is ``cfg.data_root`` or the cache entry for the config's key. A second call returns at
    once. ``workers`` processes paint the images (default: one per core for large builds); the files
    are the same whatever their number.
    """
    cfg = cfg if cfg is not None else SynthShapesConfig()
    n_workers = workers if workers is not None else default_workers(cfg)
    return procedural.build_once(
        dataset_root(cfg),
        cache_key(cfg),
        marker=MARKER,
        marker_fields={"generator_version": GENERATOR_VERSION, "config": dataclasses.asdict(cfg)},
        write=lambda temp: write_dataset(cfg, temp, workers=n_workers),
        title="SynthShapes",
        option="synthshapes.data_root",
    )
