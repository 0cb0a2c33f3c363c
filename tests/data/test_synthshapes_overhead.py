"""Overhead tiles in the pretraining corpus: never a benchmark image or caption, never a scene name, captions
that say what was drawn, and a minority of the pairs."""

from __future__ import annotations

import hashlib
import random
import re

import numpy as np
import pytest
from PIL import Image

from rsbench.data.caption_grammar import tokens
from rsbench.data.synthrs import SynthRSConfig
from rsbench.data.synthrs.captions import NOUNS
from rsbench.data.synthrs.config import SCENE_CLASSES
from rsbench.data.synthrs.dataset import load_synthrs
from rsbench.data.synthshapes import SynthShapesConfig, load_synthshapes, load_synthshapes_meta
from rsbench.data.synthshapes.build import cache_key
from rsbench.data.synthshapes.overhead import BANNED_WORDS, TileSpec, alt_texts, render_tile, sayable
from rsbench.errors import ConfigError

# Tiles 1..34 are numbers 1-2 of every class; the benchmark build below paints numbers 1-3 of every class,
# both with seed 0, so a tile that shared SynthRS's random stream would repeat a benchmark image exactly.
CORPUS = {"num_images": 68, "overhead_tiles": 34, "image_size": 32, "val_fraction": 0.1, "test_fraction": 0.1}
BENCHMARK = {"num_images": 3 * len(SCENE_CLASSES), "image_size": 32, "seed": 0}


def pixels_digest(path) -> str:
    return hashlib.sha256(np.asarray(Image.open(path).convert("RGB")).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    cfg = SynthShapesConfig(data_root=str(tmp_path_factory.mktemp("mix") / "corpus"), **CORPUS)
    return load_synthshapes(cfg), load_synthshapes_meta(cfg)


@pytest.fixture(scope="module")
def bench_synthrs(tmp_path_factory):
    return load_synthrs(SynthRSConfig(data_root=str(tmp_path_factory.mktemp("bench") / "synthrs"), **BENCHMARK))


def tiles_of(dataset):
    return [r for r in dataset.records if r.image.name.startswith("aerial_")]


def test_tiles_join_train_only_and_stay_a_minority(corpus):
    dataset, _ = corpus
    tiles = tiles_of(dataset)
    assert len(tiles) == CORPUS["overhead_tiles"]
    assert {r.split for r in tiles} == {"train"}
    pairs = sum(len(r.captions) for r in dataset.records)
    assert sum(len(r.captions) for r in tiles) <= pairs / 3
    assert all(r.scene is None for r in dataset.records)  # the corpus carries no scene label


def test_no_benchmark_image_is_in_the_corpus(corpus, bench_synthrs):
    dataset, _ = corpus
    bench = {pixels_digest(r.image) for r in bench_synthrs.records}
    assert len(bench) == len(bench_synthrs.records)
    assert not {pixels_digest(r.image) for r in dataset.records} & bench
    # The same painter with the benchmark's own stream does give the benchmark's image: the check can see one.
    scene, number = SCENE_CLASSES[0], 1
    original = next(r for r in bench_synthrs.records if r.image.name == f"{scene}_{number}.png")
    from rsbench.data.synthrs.build import ImageSpec, render

    same, _, _ = render(ImageSpec(scene, number, 0, "train"), SynthRSConfig(**BENCHMARK))
    assert hashlib.sha256(np.asarray(same.convert("RGB")).tobytes()).hexdigest() == pixels_digest(original.image)


def test_no_benchmark_caption_and_no_scene_name_in_the_corpus(corpus, bench_synthrs):
    dataset, _ = corpus
    bench_captions = {c for r in bench_synthrs.records for c in r.captions}
    corpus_captions = [c for r in tiles_of(dataset) for c in r.captions]
    assert corpus_captions and not set(corpus_captions) & bench_captions
    for caption in corpus_captions:
        assert not set(tokens(caption)) & BANNED_WORDS, caption
    assert set(SCENE_CLASSES) <= BANNED_WORDS


def test_tile_captions_name_only_what_was_drawn(corpus):
    dataset, meta = corpus
    nouns = {form: kind for kind, forms in NOUNS.items() for form in forms}
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, nouns), key=len, reverse=True)) + r")\b")
    said = 0
    for record in tiles_of(dataset):
        drawn = {o["kind"] for o in meta[record.image.name]["objects"] if o["count"]}
        for caption in record.captions:
            for word in pattern.findall(caption.lower()):
                assert nouns[word] in drawn, (caption, drawn)
                said += 1
    assert said >= len(tiles_of(dataset))  # most captions name something


def test_counts_and_colours_follow_the_metadata():
    meta = {"objects": [{"kind": "boat", "count": 3, "colour": "white", "position": "top left"},
                        {"kind": "runway", "count": 1, "colour": "grey", "position": "center"},
                        {"kind": "tank", "count": 2, "colour": "grey", "position": None}],
            "relations": [{"subject": "boat", "relation": "near", "object": "runway"}]}
    captions = alt_texts(meta, random.Random(0), 4)
    assert len(set(captions)) == 4
    text = " ".join(captions).lower()
    assert "three white boats" in text
    assert "runway" not in text and "tank" not in text  # "runway" and "storage tank" give the class away
    assert not sayable("runway") and not sayable("tank") and sayable("boat")


def test_the_same_tile_is_painted_the_same_and_other_seeds_differ():
    spec = TileSpec(5, 0)
    a, meta_a, captions_a = render_tile(spec, 32, 0, 3)
    b, meta_b, captions_b = render_tile(spec, 32, 0, 3)
    c, _, _ = render_tile(spec, 32, 1, 3)
    assert a.tobytes() == b.tobytes() and (meta_a, captions_a) == (meta_b, captions_b)
    assert a.tobytes() != c.tobytes()


def test_options_are_checked_and_a_shapes_only_build_keeps_its_key():
    with pytest.raises(ConfigError, match="at most half"):
        SynthShapesConfig(num_images=10, overhead_tiles=6)
    with pytest.raises(ConfigError, match="overhead_seed"):
        SynthShapesConfig(overhead_seed=-1)
    assert cache_key(SynthShapesConfig()) != cache_key(SynthShapesConfig(overhead_tiles=10))
    assert cache_key(SynthShapesConfig(overhead_seed=3)) == cache_key(SynthShapesConfig())
