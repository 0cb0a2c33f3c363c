"""Every bad input a loader can meet: unsafe paths, missing and corrupt images, empty captions, malformed files."""

from __future__ import annotations

import json

import pytest

from rsbench.data.config import KarpathyConfig
from rsbench.data.karpathy import load_rsitmd
from rsbench.errors import DataError

FIVE = ("a first caption", "a second caption", "a third caption", "a fourth caption", "a fifth caption")
ANN = "dataset_RSITMD.json"


def load(root, **options):
    return load_rsitmd(KarpathyConfig(data_root=str(root), **options))


# --- paths that leave the data root: always fatal, naming the file -------------------------------------------


def test_dotdot_path_is_refused_even_when_the_file_exists(make_karpathy, image_writer, tmp_path):
    image_writer(tmp_path / "secret_1.png")  # exists, so only the path check can stop it
    root = make_karpathy([("airport_1.tif", "train", FIVE), ("../../secret_1.png", "test", FIVE)], ANN)
    for on_bad_image in ("error", "skip"):
        with pytest.raises(DataError, match=r"images\[1\].*'\.\./\.\./secret_1\.png'.*outside the image folder"):
            load(root, on_bad_image=on_bad_image)


def test_absolute_path_is_refused(make_karpathy, image_writer, tmp_path):
    outside = image_writer(tmp_path / "abs_1.png")
    root = make_karpathy([("airport_1.tif", "train", FIVE)], ANN)
    data = json.loads((root / ANN).read_text())
    data["images"][0]["filename"] = str(outside)
    (root / ANN).write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"images\[0\].*is absolute"):
        load(root, on_bad_image="skip")


def test_symlink_escaping_the_root_is_refused(make_karpathy, image_writer, tmp_path):
    outside = image_writer(tmp_path / "elsewhere" / "beach_1.png")
    root = make_karpathy([("beach_1.png", "train", FIVE)], ANN, write_images=False)
    (root / "images" / "beach_1.png").symlink_to(outside)
    with pytest.raises(DataError, match=r"'beach_1\.png' resolves to .*elsewhere.*outside"):
        load(root)


def test_symlinked_image_folder_is_fine(make_karpathy, image_writer, tmp_path):
    # datasets often live on another disk with a link to their images: that is not an escape
    image_writer(tmp_path / "disk" / "beach_1.png")
    root = make_karpathy([("beach_1.png", "train", FIVE)], ANN, image_dir=None, write_images=False)
    (root / "images").symlink_to(tmp_path / "disk")
    ds = load(root)
    assert ds.records[0].image == (tmp_path / "disk" / "beach_1.png").resolve()


# --- missing and corrupt images: collected; error or skip ------------------------------------------------------


def test_missing_images_error_gives_count_and_first_five(make_karpathy):
    entries = [(f"airport_{i}.tif", "train", FIVE) for i in range(9)]
    root = make_karpathy(entries, ANN)
    for i in range(7):
        (root / "images" / f"airport_{i}.tif").unlink()
    with pytest.raises(DataError) as info:
        load(root)
    message = str(info.value)
    assert message.startswith("7 image(s) named in dataset_RSITMD.json are missing or unreadable")
    assert "airport_0.tif (missing)" in message and "airport_4.tif (missing)" in message
    assert "airport_5.tif" not in message and "... and 2 more" in message
    assert "on_bad_image=skip" in message


def test_missing_images_skip_drops_and_reports(make_karpathy):
    root = make_karpathy([("airport_1.tif", "train", FIVE), ("airport_2.tif", "test", FIVE)], ANN)
    (root / "images" / "airport_2.tif").unlink()
    ds = load(root, on_bad_image="skip")
    assert [r.image_id for r in ds.records] == ["airport_1.tif"]
    assert ds.problems == ["skipped 1 missing or unreadable image(s): airport_2.tif (missing)"]


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("beach_1.png", lambda data: b"this is not an image"),
        ("beach_1.jpg", lambda data: data[: len(data) // 2]),  # truncated JPEG: opens, fails to decode
        ("beach_1.png", lambda data: data[:-20] + bytes(20)),  # broken PNG chunk
    ],
)
def test_corrupt_images_error_and_skip(make_karpathy, name, damage):
    root = make_karpathy([(name, "train", FIVE), ("beach_2.png", "test", FIVE)], ANN)
    path = root / "images" / name
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=rf"1 image\(s\) named in .*{name} \(corrupt"):
        load(root)
    ds = load(root, on_bad_image="skip")
    assert [r.image_id for r in ds.records] == ["beach_2.png"]
    assert len(ds.problems) == 1 and f"{name} (corrupt" in ds.problems[0]


def test_check_images_off_skips_decoding_but_not_the_existence_check(make_karpathy):
    root = make_karpathy([("beach_1.png", "train", FIVE), ("beach_2.png", "test", FIVE)], ANN)
    (root / "images" / "beach_1.png").write_bytes(b"garbage")
    assert len(load(root, check_images=False).records) == 2
    (root / "images" / "beach_2.png").unlink()
    with pytest.raises(DataError, match=r"beach_2\.png \(missing\)"):
        load(root, check_images=False)


def test_folder_in_place_of_an_image(make_karpathy):
    root = make_karpathy([("beach_1.png", "train", FIVE)], ANN, write_images=False)
    (root / "images" / "beach_1.png").mkdir()
    with pytest.raises(DataError, match=r"beach_1\.png \(not a file\)"):
        load(root)


# --- captions ---------------------------------------------------------------------------------------------------


def test_empty_captions_are_dropped_and_reported(make_karpathy):
    root = make_karpathy(
        [
            ("airport_1.tif", "train", ["a plane", "", "   ", "a runway"]),
            ("airport_2.tif", "test", ["", " \t "]),
            ("airport_3.tif", "test", []),
        ],
        ANN,
    )
    ds = load(root)
    assert [r.image_id for r in ds.records] == ["airport_1.tif"]
    assert ds.records[0].captions == ("a plane", "a runway")
    assert ds.problems == [
        "dropped 4 empty caption(s): airport_1.tif (caption 2), airport_1.tif (caption 3), "
        "airport_2.tif (caption 1), airport_2.tif (caption 2)",
        "dropped 2 image(s) left with no captions: airport_2.tif, airport_3.tif",
    ]


def test_duplicate_captions_are_kept(make_karpathy):
    root = make_karpathy([("airport_1.tif", "train", ["same", "same", "other"])], ANN)
    ds = load(root)
    assert ds.records[0].captions == ("same", "same", "other")
    assert ds.problems == []


@pytest.mark.parametrize("second_name", ["airport_1.tif", "./airport_1.tif"])
def test_image_listed_twice_is_reported(make_karpathy, second_name):
    root = make_karpathy([("airport_1.tif", "train", FIVE), (second_name, "test", FIVE)], ANN)
    ds = load(root)
    assert len(ds.records) == 2
    assert ds.problems == ["1 image(s) listed more than once: airport_1.tif (train, test)"]


# --- malformed or missing annotation files ----------------------------------------------------------------------


def write_annotation(tmp_path, content):
    root = tmp_path / "ds"
    root.mkdir()
    (root / ANN).write_text(content if isinstance(content, str) else json.dumps(content))
    return root


GOOD = {"filename": "airport_1.tif", "split": "train", "sentences": [{"raw": "a plane"}]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"images": [', r"dataset_RSITMD\.json: invalid JSON at line 1, column \d+"),
        ([1, 2], r'expected a JSON object with an "images" list'),
        ({"images": {"a": 1}}, r'"images" must be a list, got dict'),
        ({"images": [GOOD, "x"]}, r"images\[1\]: expected an object, got str"),
        ({"images": [GOOD, {"split": "train", "sentences": []}]}, r'images\[1\]: missing key "filename"'),
        ({"images": [{**GOOD, "filename": 7}]}, r'images\[0\]: "filename" must be a str, got int'),
        ({"images": [{**GOOD, "filename": " "}]}, r'images\[0\]: "filename" is empty'),
        ({"images": [{**GOOD, "sentences": "a plane"}]}, r'images\[0\]: "sentences" must be a list, got str'),
        ({"images": [{**GOOD, "sentences": [{"tokens": []}]}]}, r"airport_1\.tif\): sentences\[0\] must be an object"),
        ({"images": [{**GOOD, "sentences": [{"raw": None}]}]}, r"sentences\[0\]\.raw must be a str, got NoneType"),
        ({"images": [{**GOOD, "split": "dev"}]}, r'"split" must be one of train, restval, val, test; got \'dev\''),
        ({"images": [{**GOOD, "filepath": 3}]}, r'"filepath" must be a str, got int'),
    ],
)
def test_malformed_annotation(tmp_path, content, message):
    root = write_annotation(tmp_path, content)
    with pytest.raises(DataError, match=message):
        load(root, check_images=False)


def test_missing_annotation_lists_the_root(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "dataset.json").write_text("{}")
    with pytest.raises(DataError) as info:
        load(root)
    message = str(info.value)
    assert "annotation file dataset_RSITMD.json not found in" in message
    assert "dataset.json, images/" in message


def test_missing_data_root(tmp_path):
    with pytest.raises(DataError, match="data root .*nowhere does not exist"):
        load(tmp_path / "nowhere")


def test_missing_image_dir(make_karpathy):
    root = make_karpathy([("airport_1.tif", "train", FIVE)], ANN)
    with pytest.raises(DataError, match=r"image folder .*pics.*does not exist.*images/"):
        load(root, image_dir="pics")
