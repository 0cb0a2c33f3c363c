"""The ``file`` captioner (JSON, JSONL, RSRT files) and the SynthRS ``oracle`` (captions from what was drawn)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from rsbench.captioning import caption_records
from rsbench.captioning.oracle import variants
from rsbench.captioning.prompt import parse_structured
from rsbench.data.synthrs.captions import NOUNS
from rsbench.errors import ConfigError, DataError, RsbenchError


def write(path, content: str):
    path.write_text(content, encoding="utf-8")
    return str(path)


# --- file ---------------------------------------------------------------------------------------------------------

def test_json_of_lists_and_of_single_captions(image_records, tmp_path):
    mapping = {r.image_id: [f"first of {r.image_id}", f"second of {r.image_id}"] for r in image_records[:3]}
    mapping |= {r.image_id: f"only one for {r.image_id}" for r in image_records[3:5]}
    path = write(tmp_path / "caps.json", json.dumps(mapping))
    out = caption_records(image_records, "file", {"path": path}, cache_dir=tmp_path / "c")
    assert out.per_image[:3] == [[f"first of {r.image_id}", f"second of {r.image_id}"] for r in image_records[:3]]
    assert out.per_image[3:5] == [[f"only one for {r.image_id}"] for r in image_records[3:5]]
    # the sixth image is not in the file: a counted failure, not a crash
    assert out.per_image[5] == [] and out.failures == 1
    assert "has no captions for toy_5.png" in out.provenance["failure_examples"][0]["reason"]


def test_jsonl_with_captions_caption_and_rsrt_variants(image_records, tmp_path):
    rsrt = [{"one_sentence": f"One {i}.", "feature": f"a pond in the west {i}", "caption": f"Long {i}."}
            for i in range(5)]
    lines = [
        {"image": "images/toy_0.png", "captions": ["a", "b"]},
        {"filename": "toy_1.png", "caption": "single"},
        {"image": "toy_2.png", "variants": rsrt},
        {"image": "toy_3.png", "caption": "first line"},
        {"image": "toy_3.png", "caption": "second line"},  # lines of one image add up (flat RSRT files)
    ]
    path = write(tmp_path / "caps.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    out = caption_records(image_records[:4], "file", {"path": path}, cache_dir=tmp_path / "c")
    assert out.per_image[0] == ["a", "b"] and out.per_image[1] == ["single"]
    assert out.per_image[2] == parse_structured(json.dumps({"variants": rsrt}))  # joined as the prompt's parser does
    assert out.per_image[3] == ["first line", "second line"]


def test_keys_match_by_image_id_or_by_an_unambiguous_file_name(tmp_path, image_records):
    nested = [replace(r, image_id=f"{'a' if i % 2 else 'b'}/{r.image_id}") for i, r in enumerate(image_records[:3])]
    twins = [replace(image_records[3], image_id="x/same.png"), replace(image_records[4], image_id="y/same.png")]
    path = write(tmp_path / "caps.json", json.dumps({
        "toy_0.png": "by name", "a/toy_1.png": "by id", "./b/toy_2.png": "by id too",
        "x/same.png": "x", "z/same.png": "z"}))
    out = caption_records(nested + twins, "file", {"path": path}, cache_dir=tmp_path / "c")
    assert out.per_image == [["by name"], ["by id"], ["by id too"], ["x"], []]  # y/same.png: x/ or z/? neither


def test_a_file_that_names_none_of_the_images_is_one_error(image_records, tmp_path):
    path = write(tmp_path / "caps.json", json.dumps({"other_1.png": "x", "other_2.png": "y"}))
    with pytest.raises(DataError, match="names none of the 6 images .*other_1.png.*toy_0.png"):
        caption_records(image_records, "file", {"path": path}, cache_dir=tmp_path / "c")
    with pytest.raises(DataError, match="holds no captions"):
        caption_records(image_records, "file", {"path": write(tmp_path / "empty.jsonl", "\n")},
                        cache_dir=tmp_path / "c")


@pytest.mark.parametrize(("name", "content", "error", "message"), [
    ("bad.json", '{"toy_0.png": ["a", 3]}', DataError, "captions must be strings"),
    ("bad.jsonl", '{"image": "toy_0.png", "captions": ["a"]}\n{oops\n', DataError, r"bad.jsonl:2 is neither JSON"),
    ("bad2.jsonl", '{"captions": ["a"]}\n', DataError, "no image file name"),
    ("bad3.jsonl", '{"image": "toy_0.png"}\n', DataError, "no 'captions', 'caption' or 'variants'"),
    ("bad.json", '{"toy_0.png": ', DataError, "is not valid JSON"),
])
def test_malformed_files_say_where(image_records, tmp_path, name, content, error, message):
    path = write(tmp_path / name, content)
    with pytest.raises(error, match=message):
        caption_records(image_records, "file", {"path": path}, cache_dir=tmp_path / "c")


def test_missing_path_and_missing_file(image_records, tmp_path):
    with pytest.raises(ConfigError, match="needs captioner.path"):
        caption_records(image_records, "file", {}, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="cannot read captions file .*nope.json"):
        caption_records(image_records, "file", {"path": str(tmp_path / "nope.json")}, cache_dir=tmp_path)


def test_an_edited_file_is_another_cache_entry(image_records, tmp_path):
    path = tmp_path / "caps.json"
    write(path, json.dumps({"toy_0.png": "old"}))
    assert caption_records(image_records[:1], "file", {"path": str(path)}, cache_dir=tmp_path / "c").per_image == [
        ["old"]]
    write(path, json.dumps({"toy_0.png": "new"}))
    assert caption_records(image_records[:1], "file", {"path": str(path)}, cache_dir=tmp_path / "c").per_image == [
        ["new"]]


# --- oracle -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthrs():
    from rsbench.data import load_dataset

    return load_dataset("synthrs", {"num_images": 60, "image_size": 32})


def test_oracle_writes_by_hand_what_the_metadata_says():
    meta = {"scene": "harbor", "objects": [
        {"kind": "boat", "count": 2, "colour": "white", "area_fraction": 0.001, "total_area_fraction": 0.002,
         "position": "top left"},
        {"kind": "pier", "count": 1, "colour": None, "area_fraction": 0.05, "total_area_fraction": 0.05,
         "position": None}],
        "relations": [{"subject": "boat", "relation": "moored next to", "object": "pier"}], "facts": {}}
    first = variants(meta, 5)[0]
    assert first == {
        "one_sentence": "An aerial view of a harbor with a pier and two white boats.",
        "feature": "A medium-sized pier spread across the image; two tiny white boats in the north-west.",
        "caption": "The image shows a harbor. There is a medium-sized pier spread across the image. There are two "
                   "tiny white boats in the north-west. The boats are moored next to the pier.",
    }


def test_oracle_captions_every_synthrs_image_from_its_metadata(synthrs, tmp_path):
    records = synthrs.split("test")
    meta = json.loads((synthrs.root / "synthrs_meta.json").read_text())["images"]
    out = caption_records(records, "oracle", {}, cache_dir=tmp_path)
    assert out.failures == 0 and out.provenance["oracle"] is True and out.provenance["model"] == "synthrs-metadata"
    for record, captions in zip(records, out.per_image, strict=True):
        assert len(captions) == 5 and len(set(captions)) == 5
        assert all(not re.search(r"\d|%", c) for c in captions), "sizes and counts in words, never numbers"
        feature = captions[0].split("\nFEATURE: ")[1].split("\nCAPTION: ")[0].lower()
        for obj in meta[record.image.name]["objects"]:
            singular, plural = NOUNS[obj["kind"]]
            assert (singular if obj["count"] == 1 else plural) in feature, (record.image_id, obj)
            if obj["colour"] not in (None, "mixed"):
                assert obj["colour"] in feature
            if obj["position"]:  # top is north, left is west, as the prompt says
                row, _, col = obj["position"].partition(" ")
                words = {"top": "north", "bottom": "south", "left": "west", "right": "east", "center": "centre"}
                assert "-".join(words[w] for w in (row, col) if w) in feature


def test_oracle_with_the_plain_prompt_writes_one_sentence(synthrs, tmp_path):
    out = caption_records(synthrs.split("test")[:3], "oracle", {}, prompt="plain", cache_dir=tmp_path)
    assert all(len(c) == 1 and c[0].startswith("An aerial view of ") for c in out.per_image)


def test_oracle_on_a_dataset_without_synthrs_metadata_is_one_error(image_records, tmp_path):
    with pytest.raises(RsbenchError, match="not SynthRS.*rsbench list captioner"):
        caption_records(image_records, "oracle", {}, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        caption_records(image_records, "oracle", {"metadata": str(tmp_path / "none.json")}, cache_dir=tmp_path)


def test_oracle_metadata_given_by_path_and_an_image_it_lacks(synthrs, image_records, tmp_path):
    records = synthrs.split("test")[:2] + image_records[:1]
    out = caption_records(records, "oracle", {"metadata": str(synthrs.root / "synthrs_meta.json")},
                          cache_dir=tmp_path)
    assert [bool(c) for c in out.per_image] == [True, True, False]
    assert out.provenance["failure_examples"][0]["reason"] == "no SynthRS metadata for toy_0.png"
