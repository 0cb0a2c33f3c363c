"""Loader for NWPU-Captions: JSON keyed by category, each entry ``{filename, imgid, split, raw, raw_1..raw_4}``.

Images live in ``<image folder>/<category>/<filename>``; the category key is the scene.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rsbench.data.checks import (
    AnnotatedImage,
    checked_dataset,
    examples,
    image_folder,
    read_json,
    require_file,
    require_folder,
)
from rsbench.data.config import NwpuConfig, require_data_root
from rsbench.data.record import SPLITS, RetrievalDataset
from rsbench.errors import DataError

EXTRA_CAPTION_KEYS = ("raw_1", "raw_2", "raw_3", "raw_4")


def read_nwpu(data: Any, source: str) -> list[AnnotatedImage]:
    """The images of a parsed NWPU-Captions annotation; a DataError naming any malformed entry."""
    if not isinstance(data, dict):
        raise DataError(f"{source}: expected a JSON object keyed by category, got {type(data).__name__}")
    if "images" in data and isinstance(data["images"], list):
        raise DataError(f'{source} has a top-level "images" list: that is the Karpathy layout (RSICD, RSITMD, UCM, '
                        f'Sydney), not NWPU-Captions\' (one key per category); load it with --dataset karpathy '
                        f"and {source} as its annotation file")
    images = []
    for category, entries in data.items():
        if not category.strip():  # (a category that leads out of the image folder is refused with its path)
            raise DataError(f"{source}: category {category!r} is not a folder name (NWPU-Captions keeps each "
                            f"category's images in <image folder>/<category>/); name the category as its folder")
        if not isinstance(entries, list):
            raise DataError(
                f'{source}: category "{category}" must hold a list of entries, got {type(entries).__name__}'
            )
        for i, entry in enumerate(entries):
            where = f"{source} {category}[{i}]"
            if not isinstance(entry, dict):
                raise DataError(f"{where}: expected an object, got {type(entry).__name__}")
            for key in ("filename", "split", "raw"):
                if key not in entry:
                    raise DataError(f'{where}: missing key "{key}"')
            for key in ("filename", "split", "raw", *EXTRA_CAPTION_KEYS):
                if key in entry and not isinstance(entry[key], str):
                    raise DataError(f'{where}: "{key}" must be a str, got {type(entry[key]).__name__}')
            filename = entry["filename"].strip()
            if not filename:
                raise DataError(f'{where}: "filename" is empty')
            if entry["split"] not in SPLITS:
                raise DataError(
                    f'{where} ({filename}): "split" must be one of {", ".join(SPLITS)}; got {entry["split"]!r}'
                )
            captions = [entry["raw"], *(entry[key] for key in EXTRA_CAPTION_KEYS if key in entry)]
            images.append(AnnotatedImage(f"{category}/{filename}", captions, entry["split"], category or None, where))
    return images


def load_nwpu(config: NwpuConfig) -> RetrievalDataset:
    """NWPU-Captions: dataset_nwpu.json and NWPU_images/<category>/<filename>; scene = category."""
    root = require_folder(require_data_root(config, "nwpu"), "data root")
    path = require_file(root, config.annotation, "annotation file")
    images = read_nwpu(read_json(path), config.annotation)
    base = image_folder(root, config.image_dir, ("NWPU_images", "images"))
    require_category_folders(images, base)
    return checked_dataset(
        images,
        name="nwpu",
        root=root,
        image_base=base,
        source=config.annotation,
        on_bad_image=config.on_bad_image,
        check_images=config.check_images,
        scene_hint="empty category",
    )


def require_category_folders(images: list[AnnotatedImage], base: Path) -> None:
    """A DataError when the images sit flat in ``base`` instead of in ``base/<category>/``.

    NWPU-Captions is distributed with one folder per category; a flattened copy would otherwise
    be reported as thousands of missing images, which hides what is actually wrong.
    """
    flat = [image for image in images
            if "/" in image.image_id and not (base / image.image_id).exists()
            and (base / image.image_id.split("/", 1)[1]).is_file()]
    if flat:
        shown = examples([image.image_id.split("/", 1)[1] for image in flat])
        raise DataError(
            f"NWPU-Captions keeps each image in <image folder>/<category>/<filename>, but {len(flat)} image(s) "
            f"are directly in {base} ({shown}): the folder has the wrong layout. Put the images in one folder "
            f"per category (airplane/airplane_001.jpg, ...) as the release has them."
        )
