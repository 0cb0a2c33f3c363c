"""Loader for the "precomp" text layout of AMFMN, GaLR and PE-RSITR: ``<split>_caps.txt`` + ``<split>_filename.txt``.

Two line layouts occur, told apart by the line counts: five caption lines per file-name line
(``train_caps.txt`` with ``train_filename.txt``), or one file-name line per caption with the image
repeated (``test_caps.txt`` with ``test_filename.txt``), where consecutive equal names are one image.
A split whose two files are both absent is skipped (UCM's precomp folder has no val files).
"""

from __future__ import annotations

from pathlib import Path

from rsbench.data.checks import AnnotatedImage, checked_dataset, describe_folder, image_folder, require_folder
from rsbench.data.config import PrecompConfig, require_data_root
from rsbench.data.record import SPLITS, RetrievalDataset
from rsbench.data.scenes import SCENE_RULES
from rsbench.errors import DataError

CAPTIONS_PER_IMAGE = 5


def _read_lines(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err})") from err
    except OSError as err:
        raise DataError(f"cannot read {path}: {err}") from err
    while lines and not lines[-1].strip():  # blank lines at the very end are not entries
        lines.pop()
    return lines


def read_precomp_split(caps_path: Path, names_path: Path, split: str) -> list[AnnotatedImage]:
    """The images of one split, from its caption file and file-name file."""
    captions = _read_lines(caps_path)
    names = _read_lines(names_path)
    for i, name in enumerate(names):
        if not name.strip():
            raise DataError(f"{names_path.name} line {i + 1}: empty file name")
    names = [name.strip() for name in names]
    images: list[AnnotatedImage] = []
    if len(captions) == CAPTIONS_PER_IMAGE * len(names):
        for i, name in enumerate(names):
            block = captions[CAPTIONS_PER_IMAGE * i : CAPTIONS_PER_IMAGE * (i + 1)]
            where = f"{names_path.name} line {i + 1}"
            images.append(AnnotatedImage(name, block, split, None, where))
    elif len(captions) == len(names):
        for i, (name, caption) in enumerate(zip(names, captions, strict=True)):
            if i > 0 and names[i - 1] == name:
                images[-1].captions.append(caption)
            else:
                images.append(AnnotatedImage(name, [caption], split, None, f"{names_path.name} line {i + 1}"))
    else:
        raise DataError(
            f"{caps_path.name} has {len(captions)} lines but {names_path.name} has {len(names)}: expected "
            f"{CAPTIONS_PER_IMAGE * len(names)} ({CAPTIONS_PER_IMAGE} captions per file name) or {len(names)} "
            f"(one file name per caption). Check that the two files belong together."
        )
    return images


def load_precomp(config: PrecompConfig) -> RetrievalDataset:
    """A precomp folder: every split present as ``<split>_caps.txt`` + ``<split>_filename.txt``."""
    root = require_folder(require_data_root(config, "precomp"), "data root")
    scene_rule = SCENE_RULES[config.scene_rule]
    images: list[AnnotatedImage] = []
    sources: list[str] = []
    for split in SPLITS:
        caps_path, names_path = root / f"{split}_caps.txt", root / f"{split}_filename.txt"
        if not caps_path.is_file() and not names_path.is_file():
            continue
        for present, missing in ((caps_path, names_path), (names_path, caps_path)):
            if present.is_file() and not missing.is_file():
                raise DataError(f"{root} has {present.name} but not {missing.name}; a split needs both files")
        sources += [caps_path.name, names_path.name]
        for image in read_precomp_split(caps_path, names_path, split):
            image.scene = scene_rule(image.image_id) if scene_rule is not None else None
            images.append(image)
    if not sources:
        raise DataError(
            f"no precomp split found in {root}: expected train_caps.txt with train_filename.txt "
            f"(and/or val_, test_). The folder holds: {describe_folder(root)}"
        )
    return checked_dataset(
        images,
        name="precomp",
        root=root,
        image_base=image_folder(root, config.image_dir),
        source=", ".join(sources),
        on_bad_image=config.on_bad_image,
        check_images=config.check_images,
        scene_hint=None if scene_rule is None else f"scene rule '{config.scene_rule}' found no class in the name",
    )
