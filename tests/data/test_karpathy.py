from __future__ import annotations

import pytest

from rsbench.data.config import GenericKarpathyConfig, KarpathyConfig, RsicdConfig
from rsbench.data.karpathy import (
    load_karpathy,
    load_karpathy_dataset,
    load_rsicd,
    load_rsitmd,
    load_sydney,
    load_ucm,
)
from rsbench.data.scenes import scene_from_prefix
from rsbench.errors import ConfigError

FIVE = ("a first caption", "a second caption", "a third caption", "a fourth caption", "a fifth caption")


def test_rsitmd_splits_scenes_and_paths(make_karpathy):
    root = make_karpathy(
        [
            ("storagetanks_12.tif", "train", FIVE),
            ("boat_3.tif", "restval", FIVE),  # restval counts as train
            ("airport_1.tif", "val", FIVE[:4]),
            ("playground_7.tif", "test", ["  padded caption.  ", *FIVE[1:]]),
        ],
        annotation="dataset_RSITMD.json",
    )
    ds = load_rsitmd(KarpathyConfig(data_root=str(root)))
    assert ds.name == "rsitmd" and not ds.synthetic
    assert ds.split_sizes() == {"train": 2, "val": 1, "test": 1}
    assert {r.image_id: r.scene for r in ds.records} == {
        "storagetanks_12.tif": "storagetanks",
        "boat_3.tif": "boat",
        "airport_1.tif": "airport",
        "playground_7.tif": "playground",
    }
    assert ds.scenes == ["airport", "boat", "playground", "storagetanks"]
    test = ds.split("test")[0]
    assert test.captions[0] == "padded caption."
    assert test.image == (root / "images" / "playground_7.tif").resolve()
    assert len(ds.split("val")[0].captions) == 4
    assert ds.problems == []


def test_rsitmd_reports_files_without_class_prefix(make_karpathy):
    root = make_karpathy([("airport_1.tif", "train", FIVE), ("oddname.tif", "test", FIVE)], "dataset_RSITMD.json")
    ds = load_rsitmd(KarpathyConfig(data_root=str(root)))
    assert [r.scene for r in ds.records] == ["airport", None]
    assert len(ds.problems) == 1
    assert "1 image(s) have no scene label" in ds.problems[0] and "oddname.tif" in ds.problems[0]


def test_rsicd_numeric_files_take_their_class_from_txtclasses(make_karpathy):
    root = make_karpathy(
        [
            ("airport_1.jpg", "train", FIVE),
            ("00001.jpg", "train", FIVE),
            ("00002.jpg", "val", FIVE),
            ("00003.jpg", "test", FIVE),
        ],
        annotation="dataset_rsicd.json",
        image_dir="RSICD_images",
    )
    lists = root / "txtclasses_rsicd"
    lists.mkdir()
    (lists / "BareLand.txt").write_text("00001.jpg\n")
    (lists / "Airport.txt").write_text("airport_1.jpg\n00002.jpg\n")
    ds = load_rsicd(RsicdConfig(data_root=str(root)))
    scenes = {r.image_id: r.scene for r in ds.records}
    assert scenes == {"airport_1.jpg": "airport", "00001.jpg": "bareland", "00002.jpg": "airport", "00003.jpg": None}
    assert ds.records[0].image.parent == (root / "RSICD_images").resolve()
    assert len(ds.problems) == 1
    assert "00003.jpg" in ds.problems[0] and "txtclasses_rsicd" in ds.problems[0]


def test_rsicd_without_class_lists_and_with_disagreeing_lists(make_karpathy):
    root = make_karpathy(
        [("beach_4.jpg", "train", FIVE), ("00001.jpg", "test", FIVE)], "dataset_rsicd.json", "RSICD_images"
    )
    ds = load_rsicd(RsicdConfig(data_root=str(root)))
    assert [r.scene for r in ds.records] == ["beach", None]
    assert any("txtclasses_rsicd/ not found" in p for p in ds.problems)

    lists = root / "txtclasses_rsicd"
    lists.mkdir()
    (lists / "Desert.txt").write_text("beach_4.jpg\n00001.jpg\n")
    ds = load_rsicd(RsicdConfig(data_root=str(root)))
    assert [r.scene for r in ds.records] == ["beach", "desert"]  # the file name wins, and it is reported
    assert any("disagrees" in p and "beach_4.jpg" in p for p in ds.problems)


def test_ucm_scenes_by_id(make_karpathy):
    root = make_karpathy(
        [("1.tif", "train", FIVE), ("101.tif", "train", FIVE), ("2100.tif", "val", FIVE), ("1050.tif", "test", FIVE)],
        image_dir="imgs",
    )
    ds = load_ucm(KarpathyConfig(data_root=str(root)))
    assert {r.image_id: r.scene for r in ds.records} == {
        "1.tif": "agricultural",
        "101.tif": "airplane",
        "2100.tif": "tenniscourt",
        "1050.tif": "harbor",
    }
    assert ds.split_sizes() == {"train": 2, "val": 1, "test": 1}
    assert ds.problems == []


def test_sydney_scenes_by_id_range(make_karpathy):
    root = make_karpathy(
        [("242.tif", "train", FIVE), ("243.tif", "train", FIVE), ("548.tif", "val", FIVE), ("613.tif", "test", FIVE)],
        image_dir="imgs",
    )
    ds = load_sydney(KarpathyConfig(data_root=str(root)))
    assert [r.scene for r in ds.records] == ["residential", "airport", "runway", "runway"]


def test_image_dir_option_and_root_fallback(make_karpathy):
    root = make_karpathy([("airport_1.tif", "train", FIVE)], "dataset_RSITMD.json", image_dir=None)
    ds = load_rsitmd(KarpathyConfig(data_root=str(root)))
    assert ds.records[0].image == (root / "airport_1.tif").resolve()

    root = make_karpathy([("airport_1.tif", "train", FIVE)], "dataset_RSITMD.json", image_dir="pics")
    ds = load_rsitmd(KarpathyConfig(data_root=str(root), image_dir="pics"))
    assert ds.records[0].image == (root / "pics" / "airport_1.tif").resolve()


def test_generic_karpathy_with_filepath_and_scene_rules(make_karpathy):
    root = make_karpathy([("beach_2.png", "train", FIVE), ("river_9.png", "test", FIVE)], "my.json", filepath="set1")
    ds = load_karpathy_dataset(GenericKarpathyConfig(data_root=str(root), annotation="my.json"))
    assert ds.name == "karpathy"
    assert [r.image_id for r in ds.records] == ["set1/beach_2.png", "set1/river_9.png"]
    assert [r.scene for r in ds.records] == ["beach", "river"]

    ds = load_karpathy_dataset(GenericKarpathyConfig(data_root=str(root), annotation="my.json", scene_rule="none"))
    assert [r.scene for r in ds.records] == [None, None]
    assert ds.problems == []  # no rule, so no scene is expected


def test_generic_karpathy_needs_an_annotation_name(tmp_path):
    with pytest.raises(ConfigError, match="dataset.annotation is required"):
        load_karpathy_dataset(GenericKarpathyConfig(data_root=str(tmp_path)))


@pytest.mark.parametrize("factory", [load_rsitmd, load_ucm, load_sydney, load_rsicd])
def test_empty_data_root_is_a_config_error(factory):
    with pytest.raises(ConfigError, match=r"dataset\.data_root is required"):
        factory(RsicdConfig())


@pytest.mark.parametrize(
    ("config", "kwargs", "message"),
    [
        (KarpathyConfig, {"on_bad_image": "ignore"}, "on_bad_image must be one of 'error', 'skip'; got 'ignore'"),
        (GenericKarpathyConfig, {"scene_rule": "folder"}, "scene_rule must be one of"),
    ],
)
def test_config_choices_are_validated(config, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        config(**kwargs)


def test_load_karpathy_for_a_synthetic_dataset(make_karpathy):
    root = make_karpathy([("farmland_0.png", "train", FIVE), ("forest_1.png", "test", FIVE)])
    ds = load_karpathy(
        root,
        "dataset.json",
        name="synthetic",
        scene_rule=scene_from_prefix,
        image_dir=None,
        on_bad_image="error",
        check_images=False,
        synthetic=True,
    )
    assert ds.synthetic and ds.name == "synthetic"
    assert ds.scenes == ["farmland", "forest"]
    assert ds.records[0].image == (root / "images" / "farmland_0.png").resolve()
