from __future__ import annotations

import pytest

from rsbench.data.config import PrecompConfig
from rsbench.data.precomp import load_precomp
from rsbench.errors import ConfigError, DataError


def caps(prefix, n=5):
    return [f"{prefix} caption {k}" for k in range(n)]


def amfmn_files():
    """train/val: 5 caption lines per file-name line; test: one file-name line per caption."""
    return {
        "train_caps.txt": caps("airport") + caps("boat"),
        "train_filename.txt": ["airport_0.tif", "boat_1.tif"],
        "val_caps.txt": caps("beach"),
        "val_filename.txt": ["beach_2.tif"],
        "test_caps.txt": caps("church") + caps("storagetanks"),
        "test_filename.txt": ["church_3.tif"] * 5 + ["storagetanks_4.tif"] * 5,
    }


IMAGES = ["airport_0.tif", "boat_1.tif", "beach_2.tif", "church_3.tif", "storagetanks_4.tif"]


def test_amfmn_layout(make_precomp):
    root = make_precomp(amfmn_files(), IMAGES)
    ds = load_precomp(PrecompConfig(data_root=str(root)))
    assert ds.name == "precomp"
    assert ds.split_sizes() == {"train": 2, "val": 1, "test": 2}
    by_id = {r.image_id: r for r in ds.records}
    assert by_id["boat_1.tif"].captions == tuple(caps("boat"))
    assert by_id["storagetanks_4.tif"].captions == tuple(caps("storagetanks"))
    assert by_id["storagetanks_4.tif"].split == "test"
    assert by_id["storagetanks_4.tif"].scene == "storagetanks"
    assert by_id["church_3.tif"].image == (root / "images" / "church_3.tif").resolve()
    assert ds.problems == []


def test_missing_val_split_is_skipped_and_scene_rules_apply(make_precomp):
    files = {
        "train_caps.txt": caps("a") + caps("b"),
        "train_filename.txt": ["1.tif", "101.tif"],
        "test_caps.txt": caps("c", 3),
        "test_filename.txt": ["2100.tif"] * 3,
    }
    root = make_precomp(files, ["1.tif", "101.tif", "2100.tif"])
    ds = load_precomp(PrecompConfig(data_root=str(root), scene_rule="ucm"))
    assert ds.split_sizes() == {"train": 2, "val": 0, "test": 1}
    assert [r.scene for r in ds.records] == ["agricultural", "airplane", "tenniscourt"]
    ds = load_precomp(PrecompConfig(data_root=str(root), scene_rule="none"))
    assert ds.scenes == [] and ds.problems == []
    ds = load_precomp(PrecompConfig(data_root=str(root)))  # prefix rule on numeric names: reported
    assert len(ds.problems) == 1 and "3 image(s) have no scene label" in ds.problems[0]


def test_repeated_image_that_is_not_consecutive_stays_two_entries(make_precomp):
    files = {
        "test_caps.txt": ["x1", "x2", "y1", "x3"],
        "test_filename.txt": ["a_1.tif", "a_1.tif", "b_2.tif", "a_1.tif"],
    }
    root = make_precomp(files, ["a_1.tif", "b_2.tif"])
    ds = load_precomp(PrecompConfig(data_root=str(root)))
    assert [(r.image_id, r.captions) for r in ds.records] == [
        ("a_1.tif", ("x1", "x2")),
        ("b_2.tif", ("y1",)),
        ("a_1.tif", ("x3",)),
    ]
    assert ds.problems == ["1 image(s) listed more than once: a_1.tif (test, test)"]


def test_trailing_blank_lines_are_ignored_but_inner_empty_captions_reported(make_precomp):
    files = {"train_caps.txt": ["one", "", "three", "four", "five", "", ""], "train_filename.txt": ["a_1.tif", ""]}
    root = make_precomp(files, ["a_1.tif"])
    ds = load_precomp(PrecompConfig(data_root=str(root)))
    assert ds.records[0].captions == ("one", "three", "four", "five")
    assert ds.problems == ["dropped 1 empty caption(s): a_1.tif (caption 2)"]


def test_line_count_mismatch(make_precomp):
    root = make_precomp({"train_caps.txt": caps("a", 7), "train_filename.txt": ["a_1.tif", "b_2.tif"]})
    with pytest.raises(DataError) as info:
        load_precomp(PrecompConfig(data_root=str(root)))
    message = str(info.value)
    assert "train_caps.txt has 7 lines but train_filename.txt has 2" in message
    assert "expected 10 (5 captions per file name) or 2 (one file name per caption)" in message


def test_empty_file_name_line(make_precomp):
    root = make_precomp({"test_caps.txt": ["a", "b", "c"], "test_filename.txt": ["a_1.tif", " ", "a_1.tif"]})
    with pytest.raises(DataError, match=r"test_filename\.txt line 2: empty file name"):
        load_precomp(PrecompConfig(data_root=str(root)))


def test_split_with_only_one_of_its_files(make_precomp):
    root = make_precomp({"train_caps.txt": caps("a")})
    with pytest.raises(DataError, match=r"has train_caps\.txt but not train_filename\.txt"):
        load_precomp(PrecompConfig(data_root=str(root)))


def test_folder_without_precomp_files(make_precomp):
    root = make_precomp({"readme.txt": ["hello"]})
    with pytest.raises(DataError, match=r"no precomp split found in .*expected train_caps\.txt.*readme\.txt"):
        load_precomp(PrecompConfig(data_root=str(root)))


def test_escaping_file_name_is_refused(make_precomp):
    root = make_precomp({"test_caps.txt": ["a"], "test_filename.txt": ["../../etc/passwd"]})
    with pytest.raises(DataError, match=r"test_filename\.txt line 1: image path '\.\./\.\./etc/passwd'.*outside"):
        load_precomp(PrecompConfig(data_root=str(root), on_bad_image="skip"))


def test_missing_image_names_the_file(make_precomp):
    root = make_precomp(amfmn_files(), IMAGES[:-1])
    with pytest.raises(DataError, match=r"1 image\(s\) named in train_caps\.txt.*storagetanks_4\.tif \(missing\)"):
        load_precomp(PrecompConfig(data_root=str(root)))


def test_precomp_needs_a_data_root():
    with pytest.raises(ConfigError, match=r"dataset\.data_root is required for dataset 'precomp'"):
        load_precomp(PrecompConfig())
