"""Generate SynthRS onto disk in the Karpathy JSON layout, once per config, into an atomic cache entry.

``build_synthrs(cfg)`` returns a folder holding ``dataset.json`` (Karpathy layout), ``images/<scene>_<n>.png``
and ``synthrs_meta.json`` (per image: scene, objects with counts, colours and area fractions). A build is
written to a temporary sibling folder and renamed into place, so a folder that exists is complete.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import random
import shutil
import uuid
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from rsbench.data.synthrs.captions import captions_for, tokens
from rsbench.data.synthrs.config import SCENE_CLASSES, SPLIT_FRACTIONS, SynthRSConfig
from rsbench.data.synthrs.scenes import paint
from rsbench.errors import DataError

# Bump whenever painters, grammar or layout change what a config produces: it is part of the cache key.
GENERATOR_VERSION = "1"
CAPTIONS_PER_IMAGE = 5
SMALL_AREA_FRACTION = 0.02  # objects below 2 % of the image count as small, for size-split metrics
MARKER = "synthrs_build.json"
META = "synthrs_meta.json"
CACHE_ENV = "RSBENCH_CACHE"


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
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def cache_base() -> Path:
    """``$RSBENCH_CACHE/synthrs``, or ``~/.cache/rsbench/synthrs``."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "rsbench") / "synthrs"


def dataset_root(cfg: SynthRSConfig) -> Path:
    """Where ``build_synthrs(cfg)`` puts (or finds) the dataset."""
    return Path(cfg.data_root).expanduser() if cfg.data_root else cache_base() / cache_key(cfg)


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


def _render_chunk(args: tuple[list[ImageSpec], SynthRSConfig, str]) -> list[tuple[int, dict[str, Any], list[str]]]:
    specs, cfg, images_dir = args
    out = []
    for spec in specs:
        image, meta, captions = render(spec, cfg)
        image.save(Path(images_dir) / spec.filename, format="PNG")
        out.append((spec.imgid, meta, captions))
    return out


def write_dataset(cfg: SynthRSConfig, root: Path, workers: int = 1) -> None:
    """Paint every image into ``root/images`` and write ``dataset.json`` and the metadata sidecar."""
    specs = plan(cfg)
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    chunks = [specs[i :: max(1, workers) * 4] for i in range(max(1, workers) * 4)]
    jobs = [(chunk, cfg, str(images_dir)) for chunk in chunks if chunk]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = [row for rows in pool.map(_render_chunk, jobs) for row in rows]
    else:
        results = [row for job in jobs for row in _render_chunk(job)]
    by_id = {imgid: (meta, captions) for imgid, meta, captions in results}
    images, meta_by_file = [], {}
    for spec in specs:
        meta, captions = by_id[spec.imgid]
        sentids = [spec.imgid * CAPTIONS_PER_IMAGE + j for j in range(len(captions))]
        sentences = [
            {"raw": raw, "tokens": tokens(raw), "imgid": spec.imgid, "sentid": sentid}
            for raw, sentid in zip(captions, sentids, strict=True)
        ]
        images.append(
            {
                "filename": spec.filename,
                "imgid": spec.imgid,
                "split": spec.split,
                "sentids": sentids,
                "sentences": sentences,
            }
        )
        meta_by_file[spec.filename] = meta
    _write_json(root / "dataset.json", {"images": images, "dataset": "synthrs"})
    _write_json(
        root / META,
        {"generator_version": GENERATOR_VERSION, "small_area_fraction": SMALL_AREA_FRACTION, "images": meta_by_file},
    )


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def is_complete(root: Path, key: str) -> bool:
    """Whether ``root`` holds a finished build for ``key`` (the marker is written last, before the rename)."""
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("key") == key and (root / "dataset.json").is_file()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but not ours, or unknowable: leave its folder alone
    return True


def _remove_stale_temps(root: Path) -> None:
    """Delete temporary folders of builds of ``root`` whose process is gone (an interrupted build)."""
    prefix = f".{root.name}.tmp-"
    if not root.parent.is_dir():
        return
    for entry in root.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or not _pid_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)


def build_synthrs(cfg: SynthRSConfig | None = None, workers: int | None = None) -> Path:
    """Generate SynthRS for ``cfg`` unless it is already there; return the dataset folder.

    The folder is ``cfg.data_root`` or the cache entry for the config's key. A second call returns at
    once. ``workers`` > 1 paints in that many processes (the default, 1, needs no process pool).
    """
    cfg = cfg if cfg is not None else SynthRSConfig()
    key = cache_key(cfg)
    root = dataset_root(cfg)
    if is_complete(root, key):
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(
            f"{root} exists but is not a complete SynthRS build for this config (key {key}). "
            "Point synthrs.data_root at an empty or new folder, or delete this one to rebuild."
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root)
    temp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        temp.mkdir()
        write_dataset(cfg, temp, workers=workers or 1)
        marker = {"key": key, "generator_version": GENERATOR_VERSION, "config": dataclasses.asdict(cfg)}
        _write_json(temp / MARKER, marker)
        try:
            if root.is_dir():
                root.rmdir()  # an empty folder the user made for us
            os.rename(temp, root)
        except OSError as error:
            # another process finished the same build first: use theirs
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY) and is_complete(root, key):
                return root
            raise
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return root
