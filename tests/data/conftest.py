"""Fixtures writing tiny datasets in each exact public layout (8x8 images made with PIL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PIL import Image

Entry = tuple[str, str, Sequence[str]]  # (filename, split, captions)


def write_image(path: Path, color: tuple[int, int, int] = (40, 120, 200)) -> Path:
    """An 8x8 RGB image in the format its extension names (.png, .tif, .jpg)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path)
    return path


def karpathy_json(entries: Sequence[Entry], filepath: str | None = None) -> dict:
    """A Karpathy-format annotation, with sentence ids, tokens and image ids like the public files."""
    images, sentid = [], 0
    for imgid, (filename, split, captions) in enumerate(entries):
        sentences = []
        for caption in captions:
            sentences.append({"raw": caption, "tokens": caption.split(), "imgid": imgid, "sentid": sentid})
            sentid += 1
        entry = {
            "filename": filename,
            "imgid": imgid,
            "split": split,
            "sentids": [s["sentid"] for s in sentences],
            "sentences": sentences,
        }
        if filepath is not None:
            entry["filepath"] = filepath
        images.append(entry)
    return {"images": images, "dataset": "test"}


@pytest.fixture
def make_karpathy(tmp_path: Path) -> Callable[..., Path]:
    """Write ``<root>/<annotation>`` in Karpathy format and an image for each entry under ``image_dir``."""

    def make(
        entries: Sequence[Entry],
        annotation: str = "dataset.json",
        image_dir: str | None = "images",
        write_images: bool = True,
        filepath: str | None = None,
    ) -> Path:
        root = tmp_path / "root"
        root.mkdir(exist_ok=True)
        (root / annotation).write_text(json.dumps(karpathy_json(entries, filepath)))
        base = root / image_dir if image_dir else root
        base.mkdir(exist_ok=True)
        if write_images:
            for filename, _, _ in entries:
                write_image(base / (filepath or "") / filename)
        return root

    return make


@pytest.fixture
def make_precomp(tmp_path: Path) -> Callable[..., Path]:
    """Write an AMFMN precomp folder: ``files`` maps a file name to its lines; images go to ``images/``."""

    def make(files: dict[str, Sequence[str]], images: Sequence[str] = ()) -> Path:
        root = tmp_path / "precomp"
        root.mkdir(exist_ok=True)
        for name, lines in files.items():
            (root / name).write_text("".join(f"{line}\n" for line in lines))
        for name in images:
            write_image(root / "images" / name)
        return root

    return make


@pytest.fixture
def image_writer() -> Callable[..., Path]:
    return write_image
