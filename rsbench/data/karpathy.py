"""Loaders for Karpathy-style JSON annotations: RSITMD, RSICD, UCM-captions, Sydney-captions and any other.

Format: ``{"images": [{"filename", "split", "sentences": [{"raw", ...}], optional "filepath", ...}]}``;
split ``restval`` counts as train.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from rsbench.data.config import GenericKarpathyConfig, KarpathyConfig, RsicdConfig, require_data_root
from rsbench.data.record import RetrievalDataset
from rsbench.data.scenes import (
    SCENE_RULES,
    SceneRule,
    load_rsicd_classes,
    rsicd_class_of,
    scene_from_prefix,
    sydney_scene,
    ucm_scene,
)
from rsbench.errors import ConfigError, DataError

SPLIT_NAMES = {"train": "train", "restval": "train", "val": "val", "test": "test"}


def _type_name(value: Any) -> str:
    return type(value).__name__


def read_karpathy(path: Path) -> list[dict[str, Any]]:
    """The validated ``images`` entries of a Karpathy file: each has ``filename``, ``split``, ``captions``.

    Only the keys rsbench uses are required (``imgid``, ``sentids`` and ``tokens`` may be absent);
    anything malformed is a DataError naming the entry.
    """
    data = read_json(path)
    name = path.name
    if not isinstance(data, dict) or "images" not in data:
        raise DataError(f'{name}: expected a JSON object with an "images" list (Karpathy format)')
    entries = data["images"]
    if not isinstance(entries, list):
        raise DataError(f'{name}: "images" must be a list, got {_type_name(entries)}')
    parsed = []
    for i, entry in enumerate(entries):
        where = f"{name} images[{i}]"
        if not isinstance(entry, dict):
            raise DataError(f"{where}: expected an object, got {_type_name(entry)}")
        for key, kind in (("filename", str), ("split", str), ("sentences", list)):
            if key not in entry:
                raise DataError(f'{where}: missing key "{key}"')
            if not isinstance(entry[key], kind):
                raise DataError(f'{where}: "{key}" must be a {kind.__name__}, got {_type_name(entry[key])}')
        filename = entry["filename"].strip()
        if not filename:
            raise DataError(f'{where}: "filename" is empty')
        where = f"{where} ({filename})"
        if entry["split"] not in SPLIT_NAMES:
            raise DataError(f'{where}: "split" must be one of {", ".join(SPLIT_NAMES)}; got {entry["split"]!r}')
        filepath = entry.get("filepath", "")
        if not isinstance(filepath, str):
            raise DataError(f'{where}: "filepath" must be a str, got {_type_name(filepath)}')
        captions = []
        for j, sentence in enumerate(entry["sentences"]):
            if not isinstance(sentence, dict) or "raw" not in sentence:
                raise DataError(f'{where}: sentences[{j}] must be an object with a "raw" caption')
            if not isinstance(sentence["raw"], str):
                raise DataError(f"{where}: sentences[{j}].raw must be a str, got {_type_name(sentence['raw'])}")
            captions.append(sentence["raw"])
        parsed.append(
            {
                "filename": filename,
                "filepath": filepath.strip().strip("/"),
                "split": SPLIT_NAMES[entry["split"]],
                "captions": captions,
                "where": where,
            }
        )
    return parsed


def load_karpathy(
    root: Path,
    annotation: str,
    *,
    name: str,
    scene_rule: SceneRule | None,
    image_dir: str | None,
    on_bad_image: str,
    check_images: bool,
    synthetic: bool = False,
    image_dir_candidates: Sequence[str] = ("images",),
    scene_hint: str | None = None,
    problems: Sequence[str] = (),
) -> RetrievalDataset:
    """Load a Karpathy-style JSON dataset from ``root / annotation``, images under ``image_dir``.

    ``scene_rule`` maps a file name to its scene (None: no scene labels). Images without a scene
    are reported in the problems whenever a rule is given, ``scene_hint`` saying why they lack one.
    ``image_dir`` None means the first of ``image_dir_candidates`` present in root, else root.
    """
    root = require_folder(Path(root).expanduser().resolve(), "data root")
    path = require_file(root, annotation, "annotation file")
    entries = read_karpathy(path)
    base = image_folder(root, image_dir, image_dir_candidates)
    images = [
        AnnotatedImage(
            image_id=f"{e['filepath']}/{e['filename']}" if e["filepath"] else e["filename"],
            captions=e["captions"],
            split=e["split"],
            scene=scene_rule(e["filename"]) if scene_rule is not None else None,
            where=e["where"],
        )
        for e in entries
    ]
    if scene_rule is not None and scene_hint is None:
        scene_hint = "the scene rule found no class in the file name"
    return checked_dataset(
        images,
        name=name,
        root=root,
        image_base=base,
        source=annotation,
        on_bad_image=on_bad_image,
        check_images=check_images,
        scene_hint=scene_hint,
        synthetic=synthetic,
        problems=problems,
    )


def _load_named(
    config: KarpathyConfig,
    name: str,
    default_annotation: str,
    scene_rule: SceneRule,
    candidates: Sequence[str],
    scene_hint: str,
    problems: Sequence[str] = (),
) -> RetrievalDataset:
    return load_karpathy(
        require_data_root(config, name),
        config.annotation or default_annotation,
        name=name,
        scene_rule=scene_rule,
        image_dir=config.image_dir,
        on_bad_image=config.on_bad_image,
        check_images=config.check_images,
        image_dir_candidates=candidates,
        scene_hint=scene_hint,
        problems=problems,
    )


def load_rsitmd(config: KarpathyConfig) -> RetrievalDataset:
    """RSITMD: dataset_RSITMD.json and images/; scene = the <class> of <class>_<n>.tif (33 classes)."""
    return _load_named(
        config,
        "rsitmd",
        "dataset_RSITMD.json",
        scene_from_prefix,
        ("images",),
        "file name is not <class>_<n>.<ext>",
    )


def load_ucm(config: KarpathyConfig) -> RetrievalDataset:
    """UCM-captions: dataset.json and imgs/; scene = UC Merced class (id - 1) // 100 of <id>.tif."""
    return _load_named(
        config, "ucm", "dataset.json", ucm_scene, ("imgs", "images"), "file name is not <id>.tif with id 1..2100"
    )


def load_sydney(config: KarpathyConfig) -> RetrievalDataset:
    """Sydney-captions: dataset.json and imgs/; scene from the id ranges in ``scenes.SYDNEY_RANGES``."""
    return _load_named(
        config, "sydney", "dataset.json", sydney_scene, ("imgs", "images"), "file name is not <id>.tif with id 1..613"
    )


def load_rsicd(config: RsicdConfig) -> RetrievalDataset:
    """RSICD: dataset_rsicd.json and RSICD_images/; scene from <class>_<n>.jpg, else from txtclasses_rsicd/.

    The 921 numeric files (``00001.jpg``) carry no class in their name; the release's per-class
    file lists give it. Without those lists they stay unlabelled, which is reported.
    """
    root = require_data_root(config, "rsicd")
    class_lists = getattr(config, "class_lists", "txtclasses_rsicd")
    lists_dir = root / class_lists
    problems: list[str] = []
    classes: dict[str, str | None] = {}
    if lists_dir.is_dir():
        classes = load_rsicd_classes(lists_dir)
    else:
        problems.append(
            f"class lists {class_lists}/ not found in {root}: files named without a class "
            f"(00001.jpg ...) get no scene label. Unpack txtclasses_rsicd.rar from the RSICD release there."
        )
    disagree: list[str] = []

    def rsicd_scene(filename: str) -> str | None:
        scene = scene_from_prefix(filename)
        listed = rsicd_class_of(classes, filename)
        if scene is None:
            return listed
        if listed is not None and listed != scene:
            disagree.append(f"{filename} ({class_lists}: {listed})")
        return scene

    dataset = _load_named(
        config,
        "rsicd",
        "dataset_rsicd.json",
        rsicd_scene,
        ("RSICD_images", "images"),
        f"file name is not <class>_<n>.jpg and it is not in {class_lists}/",
        problems,
    )
    listed_twice = sorted(name for name, scene in classes.items() if scene is None)
    if listed_twice:
        dataset.problems.append(
            f"{len(listed_twice)} file(s) are listed under two classes in {class_lists}/ and get no class "
            f"from the lists: {examples(listed_twice)}"
        )
    if disagree:
        dataset.problems.append(
            f"{len(disagree)} file(s) whose name prefix (used as the scene) disagrees with {class_lists}/: "
            f"{examples(disagree)}"
        )
    return dataset


def load_karpathy_dataset(config: GenericKarpathyConfig) -> RetrievalDataset:
    """Any Karpathy-style JSON: ``annotation`` names the file; scenes by ``scene_rule``."""
    root = require_data_root(config, "karpathy")
    if not config.annotation:
        raise ConfigError(
            "dataset.annotation is required for dataset 'karpathy': the JSON file's name inside data_root"
        )
    return load_karpathy(
        root,
        config.annotation,
        name="karpathy",
        scene_rule=SCENE_RULES[config.scene_rule],
        image_dir=config.image_dir,
        on_bad_image=config.on_bad_image,
        check_images=config.check_images,
    )
