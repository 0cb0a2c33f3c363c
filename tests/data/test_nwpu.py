from __future__ import annotations

import json

import pytest

from rsbench.data.config import NwpuConfig
from rsbench.data.nwpu import load_nwpu
from rsbench.errors import DataError


def nwpu_entry(filename, imgid, split, n=5):
    entry = {"filename": filename, "imgid": imgid, "split": split, "raw": f"{filename} caption 0"}
    for k in range(1, n):
        entry[f"raw_{k}"] = f"{filename} caption {k}"
    return entry


def write_nwpu(tmp_path, image_writer, data, images=True):
    root = tmp_path / "NWPU-Captions"
    root.mkdir()
    (root / "dataset_nwpu.json").write_text(json.dumps(data))
    if images:
        for category, entries in data.items():
            for entry in entries:
                image_writer(root / "NWPU_images" / category / entry["filename"])
    return root


def test_nwpu_layout(tmp_path, image_writer):
    data = {
        "airplane": [nwpu_entry("airplane_001.jpg", 0, "train"), nwpu_entry("airplane_002.jpg", 1, "test")],
        "storage_tank": [nwpu_entry("storage_tank_001.jpg", 2, "val", n=4)],
    }
    root = write_nwpu(tmp_path, image_writer, data)
    ds = load_nwpu(NwpuConfig(data_root=str(root)))
    assert ds.name == "nwpu"
    assert ds.split_sizes() == {"train": 1, "val": 1, "test": 1}
    assert [r.image_id for r in ds.records] == [
        "airplane/airplane_001.jpg",
        "airplane/airplane_002.jpg",
        "storage_tank/storage_tank_001.jpg",
    ]
    assert [r.scene for r in ds.records] == ["airplane", "airplane", "storage_tank"]
    assert ds.records[0].captions == tuple(f"airplane_001.jpg caption {k}" for k in range(5))
    assert len(ds.records[2].captions) == 4
    assert ds.records[0].image == (root / "NWPU_images" / "airplane" / "airplane_001.jpg").resolve()
    assert ds.problems == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], r"expected a JSON object keyed by category, got list"),
        ({"airplane": {"x": 1}}, r'category "airplane" must hold a list of entries, got dict'),
        ({"airplane": ["x"]}, r"airplane\[0\]: expected an object, got str"),
        ({"airplane": [{"filename": "a.jpg", "split": "train"}]}, r'airplane\[0\]: missing key "raw"'),
        ({"airplane": [{**nwpu_entry("a.jpg", 0, "train"), "raw_2": 5}]}, r'airplane\[0\]: "raw_2" must be a str'),
        ({"airplane": [nwpu_entry("a.jpg", 0, "restval")]}, r"\(a\.jpg\): \"split\" must be one of train, val, test"),
    ],
)
def test_malformed_nwpu(tmp_path, data, message):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "dataset_nwpu.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=message):
        load_nwpu(NwpuConfig(data_root=str(root), check_images=False))


def test_category_cannot_lead_out_of_the_image_folder(tmp_path, image_writer):
    image_writer(tmp_path / "a.jpg")
    root = tmp_path / "ds"
    (root / "NWPU_images").mkdir(parents=True)
    (root / "dataset_nwpu.json").write_text(json.dumps({"../..": [nwpu_entry("a.jpg", 0, "train")]}))
    with pytest.raises(DataError, match=r"image path '\.\./\.\./a\.jpg'.*outside"):
        load_nwpu(NwpuConfig(data_root=str(root)))


def test_missing_nwpu_annotation_lists_the_root(tmp_path):
    (tmp_path / "NWPU_images").mkdir()
    with pytest.raises(DataError, match=r"dataset_nwpu\.json not found in .*NWPU_images/"):
        load_nwpu(NwpuConfig(data_root=str(tmp_path)))
