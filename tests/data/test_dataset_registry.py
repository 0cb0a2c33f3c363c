"""Every registered dataset loads a tiny fixture written in its exact on-disk layout.

Parametrized over the dataset registry (like timm's tests over ``list_models()``): a dataset is
tested the moment it is registered, and one registered without a fixture in ``CASES`` fails.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from rsbench.data import load_dataset
from rsbench.data.record import SPLITS
from rsbench.data.synthrs.config import SCENE_CLASSES
from rsbench.errors import DataError
from rsbench.hooks import get_registry

DATASET_NAMES = get_registry("dataset").names()

FIVE = ("a first caption", "a second caption", "a third caption", "a fourth caption", "a fifth caption")


@dataclass
class Case:
    """A fixture written on disk: the options that load it and what the loader must find.

    ``scenes`` maps every expected image id to its scene (None: the loader decides the ids and
    ``scene_rule`` checks each one). ``removable`` is an image the missing-image test deletes:
    its id and its file.
    """

    options: dict[str, Any]
    scenes: dict[str, str | None] | None = None
    scene_rule: Callable[[str, str | None], bool] | None = None
    removable: tuple[str, Path] | None = None


@dataclass
class Writers:
    """The conftest fixtures a case builder writes with."""

    tmp_path: Path
    make_karpathy: Callable[..., Path]
    make_precomp: Callable[..., Path]
    write_image: Callable[..., Path]


def rsitmd_case(w: Writers) -> Case:
    # RSITMD: dataset_RSITMD.json next to images/, files named <class>_<n>.tif; restval counts as train.
    root = w.make_karpathy(
        [
            ("storagetanks_12.tif", "train", FIVE),
            ("boat_3.tif", "restval", FIVE),
            ("airport_1.tif", "val", FIVE),
            ("playground_7.tif", "test", FIVE),
        ],
        annotation="dataset_RSITMD.json",
    )
    scenes = {
        "storagetanks_12.tif": "storagetanks",
        "boat_3.tif": "boat",
        "airport_1.tif": "airport",
        "playground_7.tif": "playground",
    }
    return Case({"data_root": str(root)}, scenes, removable=("boat_3.tif", root / "images" / "boat_3.tif"))


def rsicd_case(w: Writers) -> Case:
    # RSICD: dataset_rsicd.json, RSICD_images/, numeric files labelled by txtclasses_rsicd/<Class>.txt.
    root = w.make_karpathy(
        [
            ("airport_1.jpg", "train", FIVE),
            ("00001.jpg", "train", FIVE),
            ("00002.jpg", "val", FIVE),
            ("beach_5.jpg", "test", FIVE),
        ],
        annotation="dataset_rsicd.json",
        image_dir="RSICD_images",
    )
    lists = root / "txtclasses_rsicd"
    lists.mkdir()
    (lists / "BareLand.txt").write_text("00001.jpg\n")
    (lists / "Airport.txt").write_text("airport_1.jpg\n00002.jpg\n")
    scenes = {"airport_1.jpg": "airport", "00001.jpg": "bareland", "00002.jpg": "airport", "beach_5.jpg": "beach"}
    return Case({"data_root": str(root)}, scenes, removable=("00001.jpg", root / "RSICD_images" / "00001.jpg"))


def ucm_case(w: Writers) -> Case:
    # UCM-captions: dataset.json and imgs/<id>.tif; class (id - 1) // 100 over 21 alphabetical classes.
    root = w.make_karpathy(
        [
            ("1.tif", "train", FIVE),
            ("101.tif", "train", FIVE),
            ("1050.tif", "val", FIVE),
            ("2100.tif", "test", FIVE),
        ],
        image_dir="imgs",
    )
    scenes = {"1.tif": "agricultural", "101.tif": "airplane", "1050.tif": "harbor", "2100.tif": "tenniscourt"}
    return Case({"data_root": str(root)}, scenes, removable=("101.tif", root / "imgs" / "101.tif"))


def sydney_case(w: Writers) -> Case:
    # Sydney-captions: dataset.json and imgs/<id>.tif; classes by id range (README: residential 1-242 ...).
    root = w.make_karpathy(
        [
            ("1.tif", "train", FIVE),
            ("243.tif", "train", FIVE),
            ("400.tif", "val", FIVE),
            ("613.tif", "test", FIVE),
        ],
        image_dir="imgs",
    )
    scenes = {"1.tif": "residential", "243.tif": "airport", "400.tif": "ocean", "613.tif": "runway"}
    return Case({"data_root": str(root)}, scenes, removable=("243.tif", root / "imgs" / "243.tif"))


def karpathy_case(w: Writers) -> Case:
    # Any Karpathy JSON under a name of its own, here with COCO's per-image "filepath" folder.
    root = w.make_karpathy(
        [
            ("forest_2.png", "train", FIVE),
            ("river_9.png", "restval", FIVE),
            ("meadow_4.png", "val", FIVE),
            ("pond_1.png", "test", FIVE),
        ],
        annotation="captions_mine.json",
        filepath="part1",
    )
    scenes = {"part1/forest_2.png": "forest", "part1/river_9.png": "river", "part1/meadow_4.png": "meadow"}
    scenes["part1/pond_1.png"] = "pond"
    removable = ("part1/river_9.png", root / "images" / "part1" / "river_9.png")
    return Case({"data_root": str(root), "annotation": "captions_mine.json"}, scenes, removable=removable)


def precomp_case(w: Writers) -> Case:
    # AMFMN precomp: train/val with five caption lines per file name, test with one file name per caption.
    test_caps = [*FIVE, *FIVE[:4]]
    root = w.make_precomp(
        {
            "train_caps.txt": [*FIVE, *FIVE],
            "train_filename.txt": ["airport_1.tif", "beach_2.tif"],
            "val_caps.txt": FIVE,
            "val_filename.txt": ["bridge_3.tif"],
            "test_caps.txt": test_caps,
            "test_filename.txt": ["church_4.tif"] * 5 + ["desert_5.tif"] * 4,
        },
        images=["airport_1.tif", "beach_2.tif", "bridge_3.tif", "church_4.tif", "desert_5.tif"],
    )
    scenes = {
        "airport_1.tif": "airport",
        "beach_2.tif": "beach",
        "bridge_3.tif": "bridge",
        "church_4.tif": "church",
        "desert_5.tif": "desert",
    }
    return Case({"data_root": str(root)}, scenes, removable=("beach_2.tif", root / "images" / "beach_2.tif"))


def nwpu_case(w: Writers) -> Case:
    # NWPU-Captions: dataset_nwpu.json keyed by category, images in NWPU_images/<category>/<filename>.
    root = w.tmp_path / "nwpu"
    entries = {
        "airplane": [("airplane_001.jpg", "train"), ("airplane_002.jpg", "val")],
        "beach": [("beach_001.jpg", "train"), ("beach_700.jpg", "test")],
    }
    data: dict[str, list[dict[str, Any]]] = {}
    imgid = 0
    for category, files in entries.items():
        data[category] = []
        for filename, split in files:
            entry = {"filename": filename, "imgid": imgid, "split": split, "raw": f"{category} {FIVE[0]}"}
            entry |= {f"raw_{k}": f"{category} {FIVE[k]}" for k in range(1, 5)}
            data[category].append(entry)
            w.write_image(root / "NWPU_images" / category / filename)
            imgid += 1
    (root / "dataset_nwpu.json").write_text(json.dumps(data))
    scenes = {f"{category}/{filename}": category for category, files in entries.items() for filename, _ in files}
    removable = ("beach/beach_001.jpg", root / "NWPU_images" / "beach" / "beach_001.jpg")
    return Case({"data_root": str(root)}, scenes, removable=removable)


def synthrs_scene_ok(image_id: str, scene: str | None) -> bool:
    # SynthRS names its files <scene>_<n>.png after one of its scene classes.
    return scene in SCENE_CLASSES and PurePosixPath(image_id).stem.rsplit("_", 1)[0] == scene


def synthrs_case(w: Writers) -> Case:
    # 51 = 3 images for each of the 17 classes, the smallest build the config accepts.
    options = {"num_images": 3 * len(SCENE_CLASSES), "image_size": 32, "data_root": str(w.tmp_path / "synthrs")}
    return Case(options, scene_rule=synthrs_scene_ok)


def synthshapes_case(w: Writers) -> Case:
    # Six images, one each in val and test; the corpus has no scene classes, so every scene is None.
    options = {
        "num_images": 6,
        "image_size": 32,
        "val_fraction": 0.2,
        "test_fraction": 0.2,
        "data_root": str(w.tmp_path / "synthshapes"),
    }
    return Case(options, scene_rule=lambda image_id, scene: scene is None)


CASES: dict[str, Callable[[Writers], Case]] = {
    "rsitmd": rsitmd_case,
    "rsicd": rsicd_case,
    "ucm": ucm_case,
    "sydney": sydney_case,
    "karpathy": karpathy_case,
    "precomp": precomp_case,
    "nwpu": nwpu_case,
    "synthrs": synthrs_case,
    "synthshapes": synthshapes_case,
}

SYNTHETIC = {"synthrs", "synthshapes"}


def has_option(name: str, option: str) -> bool:
    return option in {f.name for f in dataclasses.fields(get_registry("dataset").get(name).config_cls)}


@pytest.fixture
def writers(tmp_path: Path, make_karpathy, make_precomp, image_writer) -> Writers:
    return Writers(tmp_path, make_karpathy, make_precomp, image_writer)


def case_for(name: str, writers: Writers) -> Case:
    if name not in CASES:
        pytest.fail(
            f"dataset '{name}' is registered but has no fixture: add a function writing a tiny copy of its "
            f"on-disk layout to CASES in {Path(__file__).name}"
        )
    return CASES[name](writers)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_registered_dataset_loads_its_fixture(name: str, writers: Writers) -> None:
    case = case_for(name, writers)
    ds = load_dataset(name, case.options)

    assert ds.name == name
    assert ds.records, f"{name}: no records"
    assert ds.synthetic == (name in SYNTHETIC)
    assert ds.problems == [], f"{name}: a clean fixture should have no problems"
    sizes = ds.split_sizes()
    for split in SPLITS:
        assert sizes[split] > 0, f"{name}: split {split} is empty ({sizes})"
    assert set(sizes) == set(SPLITS)

    root = ds.root.resolve()
    for record in ds.records:
        assert record.image.is_file(), record
        assert record.image.resolve().is_relative_to(root), f"{record.image} is outside {root}"
        assert record.image.as_posix().endswith(record.image_id), record
        assert record.captions and all(c.strip() == c and c for c in record.captions), record
    if case.scenes is not None:
        assert {r.image_id: r.scene for r in ds.records} == case.scenes
    else:
        assert case.scene_rule is not None
        wrong = [(r.image_id, r.scene) for r in ds.records if not case.scene_rule(r.image_id, r.scene)]
        assert not wrong, f"{name}: records whose scene breaks the dataset's rule: {wrong[:5]}"

    again = load_dataset(name, case.options)
    assert again.content_hash() == ds.content_hash()
    assert [(r.image_id, r.captions, r.scene, r.split) for r in again.records] == [
        (r.image_id, r.captions, r.scene, r.split) for r in ds.records
    ]


def test_every_fixture_names_a_registered_dataset() -> None:
    assert not set(CASES) - set(DATASET_NAMES), "CASES has fixtures for datasets that are no longer registered"


@pytest.mark.parametrize("name", [n for n in DATASET_NAMES if has_option(n, "on_bad_image")])
def test_missing_image_errors_or_is_skipped(name: str, writers: Writers) -> None:
    case = case_for(name, writers)
    assert case.removable is not None, f"{name}: its fixture must name an image the test can delete"
    image_id, path = case.removable
    path.unlink()

    with pytest.raises(DataError) as err:
        load_dataset(name, case.options | {"on_bad_image": "error"})
    assert PurePosixPath(image_id).name in str(err.value) and "missing" in str(err.value)

    ds = load_dataset(name, case.options | {"on_bad_image": "skip"})
    assert image_id not in {r.image_id for r in ds.records}
    assert case.scenes is not None
    assert len(ds.records) == len(case.scenes) - 1
    assert any(image_id in problem for problem in ds.problems), ds.problems
