from __future__ import annotations

import pytest

from rsbench.data.scenes import (
    SYDNEY_CLASS_SIZES,
    SYDNEY_RANGES,
    UCM_CLASSES,
    load_rsicd_classes,
    rsicd_class_of,
    scene_from_prefix,
    sydney_scene,
    ucm_scene,
)
from rsbench.errors import DataError


@pytest.mark.parametrize(
    ("filename", "scene"),
    [
        ("storagetanks_12.tif", "storagetanks"),
        ("boat_3.tif", "boat"),
        ("airport_0.jpg", "airport"),
        ("baseball_field_3.png", "baseball_field"),  # only the last _<n> is the index
        ("dense_residential_2_10.png", "dense_residential_2"),
        ("images/bridge_44.tif", "bridge"),  # a folder part is not the class
        ("00001.jpg", None),
        ("airport.jpg", None),
        ("airport_.jpg", None),
        ("_12.jpg", None),
    ],
)
def test_scene_from_prefix(filename, scene):
    assert scene_from_prefix(filename) == scene


def test_ucm_classes_are_the_21_alphabetical_uc_merced_classes():
    assert len(UCM_CLASSES) == 21
    assert list(UCM_CLASSES) == sorted(UCM_CLASSES)


@pytest.mark.parametrize(
    ("filename", "scene"),
    [
        ("1.tif", "agricultural"),
        ("100.tif", "agricultural"),
        ("101.tif", "airplane"),
        ("200.tif", "airplane"),
        ("201.tif", "baseballdiamond"),
        ("1900.tif", "sparseresidential"),
        ("2001.tif", "tenniscourt"),
        ("2100.tif", "tenniscourt"),
        ("0.tif", None),
        ("2101.tif", None),
        ("airplane_1.tif", None),
    ],
)
def test_ucm_scene(filename, scene):
    assert ucm_scene(filename) == scene


def test_sydney_ranges_cover_613_images_without_gaps():
    assert sum(size for _, size in SYDNEY_CLASS_SIZES) == 613
    assert SYDNEY_RANGES[0][1] == 1 and SYDNEY_RANGES[-1][2] == 613
    for (_, _, last), (_, first, _) in zip(SYDNEY_RANGES, SYDNEY_RANGES[1:], strict=False):
        assert first == last + 1


@pytest.mark.parametrize(
    ("filename", "scene"),
    [
        ("1.tif", "residential"),
        ("242.tif", "residential"),
        ("243.tif", "airport"),
        ("264.tif", "airport"),
        ("265.tif", "meadow"),
        ("314.tif", "meadow"),
        ("315.tif", "river"),
        ("359.tif", "river"),
        ("360.tif", "ocean"),
        ("451.tif", "ocean"),
        ("452.tif", "industrial"),
        ("547.tif", "industrial"),
        ("548.tif", "runway"),
        ("613.tif", "runway"),
        ("614.tif", None),
        ("0.tif", None),
    ],
)
def test_sydney_scene_at_range_boundaries(filename, scene):
    assert sydney_scene(filename) == scene


def test_rsicd_class_lists_lowercase_the_class_and_match_by_name_or_stem(tmp_path):
    lists = tmp_path / "txtclasses_rsicd"
    lists.mkdir()
    (lists / "BareLand.txt").write_text("00001.jpg\n00002.jpg\n\n")
    (lists / "RailwayStation.txt").write_text("00003\nrailwaystation_1.jpg\n")
    classes = load_rsicd_classes(lists)
    assert rsicd_class_of(classes, "00001.jpg") == "bareland"
    assert rsicd_class_of(classes, "00003.jpg") == "railwaystation"  # listed without extension
    assert rsicd_class_of(classes, "railwaystation_1.jpg") == "railwaystation"
    assert rsicd_class_of(classes, "00009.jpg") is None


def test_rsicd_class_lists_nested_folder_and_conflicts(tmp_path):
    nested = tmp_path / "txtclasses_rsicd" / "txtclasses_rsicd"
    nested.mkdir(parents=True)
    (nested / "Airport.txt").write_text("00001.jpg\n00002.jpg\n")
    (nested / "Beach.txt").write_text("00002.jpg\n")
    classes = load_rsicd_classes(tmp_path / "txtclasses_rsicd")
    assert classes["00001.jpg"] == "airport"
    assert classes["00002.jpg"] is None  # under two classes: unknown


def test_rsicd_class_lists_errors(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        load_rsicd_classes(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no <Class>.txt files"):
        load_rsicd_classes(tmp_path / "empty")
