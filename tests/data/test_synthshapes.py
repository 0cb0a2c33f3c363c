"""SynthShapes, the still-life pretraining corpus: options, the plan, determinism, captions that agree with
what was drawn, no SynthRS vocabulary, no scene labels, caching and atomic builds."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rsbench.data.caption_grammar import WHERE, tokens
from rsbench.data.synthrs.captions import NOUNS as SYNTHRS_NOUNS
from rsbench.data.synthrs.captions import PLACES as SYNTHRS_PLACES
from rsbench.data.synthrs.config import SCENE_CLASSES as SYNTHRS_SCENES
from rsbench.data.synthshapes import SynthShapesConfig, build_synthshapes, load_synthshapes, load_synthshapes_meta
from rsbench.data.synthshapes import build as shapes_build
from rsbench.data.synthshapes.build import MARKER, META, cache_key, plan, render
from rsbench.data.synthshapes.captions import BACKGROUND_PLACES, BACKGROUND_SENTENCES, MAX_WORDS, RELATIONS
from rsbench.data.synthshapes.captions import captions_for as shapes_captions
from rsbench.data.synthshapes.shapes import COLOURS, KINDS
from rsbench.data.synthshapes.sheet import LARGE_EXTENT, SMALL_EXTENT, draw_mask, position_label
from rsbench.errors import ConfigError, DataError

SMALL = {"num_images": 40, "image_size": 32, "val_fraction": 0.1, "test_fraction": 0.1}

NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
NOUN_KIND = {form: name for name, kind in KINDS.items() for form in (kind.singular, kind.plural)}
_nouns = "|".join(sorted(NOUN_KIND, key=len, reverse=True))
_colours = "|".join(COLOURS)
# "two small red stars", "a blue cup": a quantity, maybe a size, a colour, a noun
COUNTED = re.compile(rf"\b(a|an|one|two|three|four|five) (?:(small|large) )?({_colours}) ({_nouns})\b")
# "the large pink heart": one object named by kind and colour
NAMED = rf"(?:the|a|an) (?:(?:small|large) )?(?:{_colours}) (?:{_nouns})"
DEFINITE = re.compile(rf"\bthe (?:(small|large) )?({_colours}) ({_nouns})\b")
TOTAL = re.compile(r"\b(one|two|three|four|five) (?:objects?|things?)\b")


@pytest.fixture(scope="module")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthshapes(SynthShapesConfig(data_root=str(tmp_path_factory.mktemp("shapes") / "small"), **SMALL))


@pytest.fixture(scope="module")
def rendered() -> list[tuple[str, dict, list[str]]]:
    """Captions and metadata of 240 images (seed 3, four captions each), painted small."""
    cfg = SynthShapesConfig(num_images=240, image_size=32, seed=3, captions_per_image=4)
    return [(spec.filename, *render(spec, cfg)[1:]) for spec in plan(cfg)]


def _objects(meta: dict, kind: str, colour: str) -> list[dict]:
    return [o for o in meta["objects"] if o["kind"] == kind and o["colour"] == colour]


def _named(meta: dict, phrase: str) -> int:
    """The index of the one object a definite or indefinite phrase names ("the small red star")."""
    words = phrase.split()
    kind, colour = NOUN_KIND[words[-1]], words[-2]
    matches = [i for i, o in enumerate(meta["objects"]) if o["kind"] == kind and o["colour"] == colour]
    assert len(matches) == 1, (phrase, meta["objects"])
    if words[1] in ("small", "large"):
        assert meta["objects"][matches[0]]["size"] == words[1], (phrase, meta["objects"])
    return matches[0]


# --- config and plan ---


def test_defaults_give_the_pretraining_corpus() -> None:
    cfg = SynthShapesConfig()
    assert (cfg.seed, cfg.num_images, cfg.image_size, cfg.captions_per_image) == (0, 10_000, 64, 3)
    specs = plan(cfg)
    assert Counter(s.split for s in specs) == {"train": 9000, "val": 500, "test": 500}
    assert len(specs) * cfg.captions_per_image >= 20_000  # the floor on image-caption pairs
    assert len({s.filename for s in specs}) == len(specs) == 10_000
    assert [s.imgid for s in specs] == list(range(10_000))


def test_splits_are_shuffled_with_the_seed() -> None:
    val = [s.imgid for s in plan(SynthShapesConfig()) if s.split == "val"]
    assert val != list(range(val[0], val[0] + len(val)))  # not one block of the drawing order
    assert val != [s.imgid for s in plan(SynthShapesConfig(seed=1)) if s.split == "val"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_images": 2}, "num_images"),
        ({"num_images": 10**9}, "num_images"),
        ({"num_images": True}, "num_images"),
        ({"image_size": 16}, "image_size"),
        ({"image_size": "64"}, "image_size"),
        ({"captions_per_image": 0}, "captions_per_image"),
        ({"captions_per_image": 11}, "captions_per_image"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"val_fraction": 0}, "val_fraction"),
        ({"test_fraction": 0.9}, "test_fraction"),
        ({"val_fraction": "a tenth"}, "val_fraction must be a number"),
        ({"num_images": 4, "val_fraction": 0.45, "test_fraction": 0.45}, "no train image"),
        ({"data_root": None}, "data_root must be a string"),
    ],
)
def test_bad_options_raise_config_error_naming_the_field(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SynthShapesConfig(**options)


def test_every_field_has_help_text() -> None:
    for f in dataclasses.fields(SynthShapesConfig):
        assert f.metadata.get("help"), f.name


def test_config_import_does_not_load_numpy_or_pil() -> None:
    code = (
        "import sys; import rsbench.data.synthshapes; from rsbench.data.synthshapes import SynthShapesConfig; "
        "SynthShapesConfig(); print(sorted(m for m in ('numpy', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- the build on disk ---


def test_karpathy_layout(small_build: Path) -> None:
    data = json.loads((small_build / "dataset.json").read_text())
    assert data["dataset"] == "synthshapes"
    images = data["images"]
    assert [im["imgid"] for im in images] == list(range(SMALL["num_images"]))
    assert Counter(im["split"] for im in images) == {"train": 32, "val": 4, "test": 4}
    sentids = [sid for im in images for sid in im["sentids"]]
    assert len(set(sentids)) == len(sentids) == 3 * len(images)
    for im in images:
        assert re.fullmatch(r"\d{6}\.png", im["filename"])  # no class in the name: there is none
        for s in im["sentences"]:
            assert s["imgid"] == im["imgid"] and s["tokens"] == tokens(s["raw"])
        with Image.open(small_build / "images" / im["filename"]) as picture:
            assert picture.size == (32, 32) and picture.mode == "RGB"
    assert len(list((small_build / "images").iterdir())) == len(images)


def test_records_have_no_scene_label(small_build: Path) -> None:
    ds = load_synthshapes(SynthShapesConfig(data_root=str(small_build), **SMALL))
    assert ds.name == "synthshapes" and ds.synthetic and ds.problems == []
    assert all(r.scene is None for r in ds.records)
    assert ds.scenes == []
    assert {len(r.captions) for r in ds.records} == {3}


def test_meta_sidecar_records_every_drawn_object(small_build: Path) -> None:
    meta = load_synthshapes_meta(SynthShapesConfig(data_root=str(small_build), **SMALL))
    data = json.loads((small_build / "dataset.json").read_text())
    assert set(meta) == {im["filename"] for im in data["images"]}
    for entry in meta.values():
        assert 1 <= len(entry["objects"]) <= 5
        for obj in entry["objects"]:
            assert obj["kind"] in KINDS and obj["colour"] in COLOURS
            x0, y0, x1, y1 = obj["bbox"]
            assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
            assert 0 < obj["area_fraction"] <= (x1 - x0) * (y1 - y0) + 1e-6
            assert obj["visible_fraction"] >= 0.75
            extent = max(x1 - x0, y1 - y0)
            expected = "small" if extent <= SMALL_EXTENT else "large" if extent >= LARGE_EXTENT else "medium"
            assert obj["size"] == expected
            assert obj["position"] == position_label((x0 + x1) / 2, (y0 + y1) / 2)


def test_same_seed_gives_identical_files_serial_or_parallel(tmp_path: Path, small_build: Path) -> None:
    again = build_synthshapes(SynthShapesConfig(data_root=str(tmp_path / "again"), **SMALL), workers=2)
    for name in ("dataset.json", META):
        assert (again / name).read_bytes() == (small_build / name).read_bytes()
    for path in sorted((small_build / "images").iterdir()):
        assert (again / "images" / path.name).read_bytes() == path.read_bytes(), path.name


def test_another_seed_gives_other_images_and_captions() -> None:
    spec = plan(SynthShapesConfig(**SMALL))[0]
    image_a, _, captions_a = render(spec, SynthShapesConfig(seed=0, **SMALL))
    image_b, _, captions_b = render(spec, SynthShapesConfig(seed=1, **SMALL))
    assert not np.array_equal(np.asarray(image_a), np.asarray(image_b))
    assert captions_a != captions_b


def test_layout_and_captions_do_not_depend_on_image_size() -> None:
    for spec in plan(SynthShapesConfig(**SMALL))[::5]:
        _, meta_small, captions_small = render(spec, SynthShapesConfig(**SMALL))
        _, meta_large, captions_large = render(spec, SynthShapesConfig(**(SMALL | {"image_size": 96})))
        assert (meta_small, captions_small) == (meta_large, captions_large)


def test_second_call_reuses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RSBENCH_CACHE", str(tmp_path / "cache"))
    cfg = SynthShapesConfig(**SMALL)
    root = build_synthshapes(cfg)
    assert root == tmp_path / "cache" / "synthshapes" / cache_key(cfg)
    assert json.loads((root / MARKER).read_text())["key"] == cache_key(cfg)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt a cached dataset")

    monkeypatch.setattr(shapes_build, "write_dataset", fail)
    assert build_synthshapes(SynthShapesConfig(**SMALL)) == root


def test_cache_key_changes_with_every_option_but_the_folder() -> None:
    base = cache_key(SynthShapesConfig(**SMALL))
    assert cache_key(SynthShapesConfig(**(SMALL | {"data_root": "/elsewhere"}))) == base
    for change in ({"seed": 1}, {"num_images": 41}, {"image_size": 64}, {"captions_per_image": 2}):
        assert cache_key(SynthShapesConfig(**(SMALL | change))) != base, change
    assert cache_key(SynthShapesConfig(**(SMALL | {"val_fraction": 0.2}))) != base


def test_partial_builds_do_not_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an interrupted build leaves nothing under the dataset's name ...
    root = tmp_path / "ds"
    cfg = SynthShapesConfig(data_root=str(root), **SMALL)

    def interrupted(cfg: SynthShapesConfig, target: Path, workers: int = 1) -> None:
        (target / "images").mkdir()
        (target / "dataset.json").write_text('{"images": [')
        raise KeyboardInterrupt

    monkeypatch.setattr(shapes_build, "write_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_synthshapes(cfg)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()

    # ... the temporary folder of a killed build is neither used nor kept ...
    leftover = tmp_path / ".ds.tmp-999999999-deadbeef"  # no such process
    (leftover / "images").mkdir(parents=True)
    (leftover / "dataset.json").write_text('{"images": [')
    assert build_synthshapes(cfg) == root
    assert not leftover.exists()
    assert len(json.loads((root / "dataset.json").read_text())["images"]) == SMALL["num_images"]

    # ... and a folder with files but no marker is not taken for a build
    (root / MARKER).unlink()
    with pytest.raises(DataError, match="not a complete SynthShapes build"):
        build_synthshapes(cfg)


# --- captions against what was drawn ---


def test_counted_phrases_match_the_drawn_objects(rendered: list) -> None:
    checked = 0
    for filename, meta, captions in rendered:
        for caption in captions:
            for quantity, size, colour, noun in COUNTED.findall(caption.lower()):
                objects = _objects(meta, NOUN_KIND[noun], colour)
                assert len(objects) == NUMBERS[quantity], (filename, caption, meta["objects"])
                assert (NUMBERS[quantity] == 1) == (noun == KINDS[NOUN_KIND[noun]].singular), caption
                if size:
                    assert {o["size"] for o in objects} == {size}, (filename, caption, meta["objects"])
                checked += 1
            for size, colour, noun in DEFINITE.findall(caption.lower()):
                objects = _objects(meta, NOUN_KIND[noun], colour)
                assert len(objects) == 1 and size in ("", objects[0]["size"]), (filename, caption, meta["objects"])
            for quantity in TOTAL.findall(caption.lower()):
                assert len(meta["objects"]) == NUMBERS[quantity], (filename, caption)
    assert checked > 300


def test_every_object_is_named_by_some_inventory(rendered: list) -> None:
    for filename, meta, captions in rendered:
        named = Counter()
        for caption in captions:
            found = {(NOUN_KIND[n], c): NUMBERS[q] for q, _, c, n in COUNTED.findall(caption.lower())}
            if sum(found.values()) == len(meta["objects"]):
                named = Counter(found)
        assert named == Counter((o["kind"], o["colour"]) for o in meta["objects"]), (filename, captions)


def test_colour_sentences_match(rendered: list) -> None:
    for filename, meta, captions in rendered:
        colours = {o["colour"] for o in meta["objects"]}
        for caption in captions:
            text = caption.lower().rstrip(".")
            single = re.fullmatch(rf"(?:all the objects are|everything in the picture is) ({_colours})", text)
            if single:
                assert colours == {single.group(1)}, (filename, caption)
            listed = re.fullmatch(r"(?:the objects are|there are) (.+?)(?: objects)?", text)
            words = re.split(r", | and ", listed.group(1)) if listed else []
            if words and all(w in COLOURS for w in words):
                assert set(words) == colours, (filename, caption)


RELATION_FORMS = [  # (regex with groups x, y, the relation it asserts, whether x is its subject)
    (rf"(?P<x>{NAMED}) is inside (?P<y>{NAMED})", "inside", True),
    (rf"there is (?P<x>{NAMED}) inside (?P<y>{NAMED})", "inside", True),
    (rf"(?P<y>{NAMED}) has (?P<x>{NAMED}) inside it", "inside", True),
    (rf"(?P<x>{NAMED}) is (?:to the )?left of (?P<y>{NAMED})", "left of", True),
    (rf"(?P<x>{NAMED}) is to the right of (?P<y>{NAMED})", "left of", False),
    (rf"(?P<x>{NAMED}) is above (?P<y>{NAMED})", "above", True),
    (rf"(?P<x>{NAMED}) is (?:below|under) (?P<y>{NAMED})", "above", False),
    (rf"(?P<x>{NAMED}) is (?:next to|beside) (?P<y>{NAMED})", "next to", None),
    (rf"(?P<x>{NAMED}) and (?P<y>{NAMED}) are side by side", "next to", None),
]


def test_relation_sentences_hold_in_the_metadata(rendered: list) -> None:
    seen = Counter()
    for filename, meta, captions in rendered:
        facts = {(r["subject"], r["relation"], r["object"]) for r in meta["relations"]}
        for caption in captions:
            for pattern, relation, x_first in RELATION_FORMS:
                found = re.fullmatch(pattern, caption.lower().rstrip("."))
                if not found:
                    continue
                x, y = _named(meta, found["x"]), _named(meta, found["y"])
                pairs = [(x, y)] if x_first else [(y, x)] if x_first is False else [(x, y), (y, x)]
                assert any((s, relation, o) in facts for s, o in pairs), (filename, caption, facts)
                seen[relation] += 1
                break
    assert set(seen) == set(RELATIONS), seen


def test_relations_agree_with_the_boxes(rendered: list) -> None:
    for filename, meta, _ in rendered:
        boxes = [o["bbox"] for o in meta["objects"]]
        for r in meta["relations"]:
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes[r["subject"]], boxes[r["object"]]
            if r["relation"] == "inside":
                assert bx0 <= ax0 and ax1 <= bx1 and by0 <= ay0 and ay1 <= by1, (filename, r)
            elif r["relation"] in ("left of", "next to"):
                assert ax1 <= bx0 + 0.01, (filename, r)
            else:
                assert ay1 <= by0 + 0.01, (filename, r)


_SPOTS = {phrase: where for where, phrases in WHERE.items() for phrase in phrases}
_spot = "|".join(sorted(map(re.escape, _SPOTS), key=len, reverse=True))
_group = rf"(?:a|an|one|two|three|four|five) (?:(?:small|large) )?(?:{_colours}) (?:{_nouns})"
POSITION_FORMS = [
    rf"(?P<g>{_group}) (?:is|are) (?P<s>{_spot})",
    rf"there (?:is|are) (?P<g>{_group}) (?P<s>{_spot})",
    rf"(?P<s>{_spot}), there (?:is|are) (?P<g>{_group})",
]


def test_position_sentences_hold_for_every_object_named(rendered: list) -> None:
    checked = 0
    for filename, meta, captions in rendered:
        for caption in captions:
            for pattern in POSITION_FORMS:
                found = re.fullmatch(pattern, caption.lower().rstrip("."))
                if found:
                    words = found["g"].split()
                    objects = _objects(meta, NOUN_KIND[words[-1]], words[-2])
                    assert objects and {o["position"] for o in objects} == {_SPOTS[found["s"]]}, (filename, caption)
                    checked += 1
    assert checked > 50


BACKGROUND_WORDS = {
    "striped": "stripes",
    "stripes": "stripes",
    "checked": "checks",
    "checkerboard": "checks",
    "dotted": "dots",
    "polka": "dots",
    "gradient": "gradient",
    "paper": "paper",
    "fabric": "fabric",
    "plain": "plain",
}


def test_background_words_match(rendered: list) -> None:
    for filename, meta, captions in rendered:
        background = meta["background"]
        for caption in captions:
            words = set(tokens(caption))
            for word in words & set(BACKGROUND_WORDS):
                assert BACKGROUND_WORDS[word] == background["pattern"], (filename, caption, background)
            for tone in words & {"light", "dark"}:
                assert tone == background["tone"], (filename, caption, background)
            for direction in words & {"horizontal", "vertical", "diagonal"}:
                assert direction == background.get("direction"), (filename, caption, background)


def test_captions_are_short_and_mostly_distinct(rendered: list) -> None:
    for filename, _, captions in rendered:
        assert len(captions) == 4
        assert all(len(c.split()) <= MAX_WORDS and c[0].isupper() and c.endswith(".") for c in captions), captions
        assert len(set(captions)) >= 3, (filename, captions)


# --- the vocabulary: a second domain ---

# Words of SynthRS's scenes and objects (and of aerial imagery generally) that SynthShapes must never say.
AERIAL_WORDS = {
    "aerial", "airport", "building", "buildings", "car", "cars", "farmland", "field", "forest", "grass", "harbor",
    "house", "houses", "lawn", "meadow", "plane", "planes", "port", "river", "road", "roads", "roof", "runway",
    "sand", "ship", "ships", "street", "tank", "tree", "trees", "water",
}  # fmt: skip


def synthrs_vocabulary() -> set[str]:
    words = set(AERIAL_WORDS) | set(SYNTHRS_SCENES)
    for kind, forms in SYNTHRS_NOUNS.items():
        words |= set(tokens(" ".join((kind, *forms))))
    for places in SYNTHRS_PLACES.values():
        words |= set(tokens(" ".join(places)))
    # "image", "area" and "green" also name things in any picture; the overlap is intended
    return words - {"image", "area", "green"}


def test_no_synthrs_scene_or_object_vocabulary(rendered: list) -> None:
    said = {w for _, _, captions in rendered for c in captions for w in tokens(c)}
    templates = [*WHERE.values(), *BACKGROUND_PLACES.values(), *BACKGROUND_SENTENCES.values(), *RELATIONS.values()]
    said |= {w for phrases in templates for p in phrases for w in tokens(p)}
    said |= {w for kind in KINDS.values() for w in (kind.singular, kind.plural)} | set(COLOURS)
    forbidden = synthrs_vocabulary()
    assert {"plane", "runway", "airport", "harbor", "storagetanks", "storage", "tank", "pool"} <= forbidden
    assert said & forbidden == set()
    # the generic words that should carry over from SynthShapes to SynthRS are there
    assert {"left", "right", "top", "bottom", "center", "next", "small", "large", "two", "red"} <= said


def test_no_scene_label_sentence(rendered: list) -> None:
    for _, _, captions in rendered:
        for caption in captions:
            assert not re.match(r"(this|it) is an? ", caption.lower()), caption


# --- the object kinds ---


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_draws_inside_its_frame(kind: str) -> None:
    mask = draw_mask(kind, 0.5, 0.5, 0.25, 0.0)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    size = mask.shape[0]
    assert mask.sum() > 0.15 * (0.5 * size) ** 2  # a visible body, not a sliver
    assert rows[0] >= 0.24 * size and rows[-1] < 0.76 * size and cols[0] >= 0.24 * size and cols[-1] < 0.76 * size


def test_kinds_and_colours_are_many_and_distinct() -> None:
    assert 15 <= len(KINDS) <= 25
    nouns = [form for kind in KINDS.values() for form in (kind.singular, kind.plural)]
    assert len(set(nouns)) == len(nouns)
    assert not set(COLOURS) & set(NOUN_KIND)


def test_a_single_object_still_gets_distinct_captions() -> None:
    meta = {
        "background": {"pattern": "plain", "tone": "light"},
        "objects": [{"kind": "star", "colour": "red", "size": "medium", "position": None}],
        "relations": [],
    }
    captions = shapes_captions(meta, random.Random(0), 3)
    assert len(captions) == 3 and len(set(captions)) == 3
    assert any("a red star" in c.lower() for c in captions)
