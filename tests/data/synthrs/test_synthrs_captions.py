"""SynthRS captions: the grammar's phrases, and that every caption agrees with the objects that were drawn."""

from __future__ import annotations

import random
import re

import pytest

from rsbench.data.synthrs.build import plan, render
from rsbench.data.synthrs.captions import NOUNS, NUMBER_WORDS, captions_for, definite, noun_phrase
from rsbench.data.synthrs.config import SCENE_CLASSES, SynthRSConfig
from rsbench.data.synthrs.objects import COLOURS, Measured, ObjectGroup, Scene, position_label

WORD_COUNTS = {word: n for n, word in NUMBER_WORDS.items()}
NOUN_KIND = {form: kind for kind, forms in NOUNS.items() for form in forms}
_nouns = "|".join(sorted(map(re.escape, NOUN_KIND), key=len, reverse=True))
_colours = "|".join(COLOURS)
# "three white planes", "many cars", "a lot of green trees": a quantity, maybe a colour, a noun
COUNTED = re.compile(rf"\b(one|two|three|four|five|six|many|lots of|a lot of) (?:({_colours}) )?({_nouns})\b")
COLOURED = re.compile(rf"\b({_colours}) ({_nouns})\b")
NOUN = re.compile(rf"\b({_nouns})\b")
MASS_NOUNS = {"water"}  # also said of ponds and rivers ("calm water"), not only of the harbor's water group


def group(kind: str, count: int, colour: str | None = None) -> ObjectGroup:
    g = ObjectGroup(kind, colour)
    for _ in range(count):
        g.record(Measured(0.01, (0.5, 0.5)))
    return g


@pytest.fixture(scope="module")
def rendered() -> list[tuple[str, dict, list[str]]]:
    """Ten images of every class (captions and metadata), painted small."""
    cfg = SynthRSConfig(num_images=10 * len(SCENE_CLASSES), image_size=32, seed=3)
    out = []
    for spec in plan(cfg):
        _, meta, captions = render(spec, cfg)
        out.append((spec.filename, meta, captions))
    return out


def _matching(meta: dict, kind: str, colour: str | None) -> list[dict]:
    return [o for o in meta["objects"] if o["kind"] == kind and (colour is None or o["colour"] == colour)]


def test_count_words_match_object_counts(rendered: list) -> None:
    checked = 0
    for filename, meta, captions in rendered:
        for caption in captions:
            for quantity, colour, noun in COUNTED.findall(caption.lower()):
                objects = _matching(meta, NOUN_KIND[noun], colour or None)
                total = sum(o["count"] for o in objects)
                if quantity in WORD_COUNTS:
                    assert total == WORD_COUNTS[quantity], (filename, caption, meta["objects"])
                else:
                    assert total > 6, (filename, caption, meta["objects"])
                checked += 1
    assert checked > 100  # the grammar does produce counted phrases


def test_colour_words_match_object_colours(rendered: list) -> None:
    for filename, meta, captions in rendered:
        for caption in captions:
            for colour, noun in COLOURED.findall(caption.lower()):
                assert _matching(meta, NOUN_KIND[noun], colour), (filename, caption, meta["objects"])


def test_every_named_object_was_drawn(rendered: list) -> None:
    for filename, meta, captions in rendered:
        kinds = {o["kind"] for o in meta["objects"]}
        for caption in captions:
            for match in NOUN.finditer(caption.lower()):
                negated = caption.lower()[: match.start()].endswith("no ")  # "there are no trees"
                if match.group(1) not in MASS_NOUNS and not negated:
                    assert NOUN_KIND[match.group(1)] in kinds, (filename, caption, sorted(kinds))


def test_relations_in_captions_are_recorded(rendered: list) -> None:
    for filename, meta, captions in rendered:
        relations = {(r["subject"], r["relation"], r["object"]) for r in meta["relations"]}
        for caption in captions:
            if re.search(r"\bbridge (crosses|spans) the river\b", caption.lower()):
                assert ("bridge", "crosses", "river") in relations, filename
            if "moored next to" in caption or "docked at" in caption:
                assert any(r[1] == "moored next to" for r in relations), filename


def test_five_captions_mixing_fine_and_generic(rendered: list) -> None:
    by_class: dict[str, set[str]] = {}
    fine_seen = 0
    for _filename, meta, captions in rendered:
        assert len(captions) == 5
        assert all(c[0].isupper() and c.endswith(".") for c in captions)
        by_class.setdefault(meta["scene"], set()).update(captions)
        fine_seen += any(COUNTED.search(c.lower()) for c in captions)
    # generic sentences are shared: a class's ten images use far fewer than 50 distinct captions
    assert all(len(s) < 50 for s in by_class.values())
    assert fine_seen > len(rendered) // 2
    all_captions = [c for _, _, captions in rendered for c in captions]
    assert len(set(all_captions)) > len(all_captions) // 4  # and yet wording varies


def test_noun_phrases() -> None:
    rng = random.Random(0)
    assert noun_phrase([group("plane", 3, "white")], rng) == "three white planes"
    assert noun_phrase([group("umbrella", 1, "orange")], rng) == "an orange umbrella"
    assert noun_phrase([group("tank", 2)], rng) == "two storage tanks"
    assert noun_phrase([group("car", 9, "mixed")], rng).split(" ")[-1] == "cars"
    assert re.fullmatch(r"(many|lots of|a lot of) cars", noun_phrase([group("car", 9, "mixed")], rng))
    joined = noun_phrase([group("boat", 2, "white"), group("boat", 1, "red")], rng)
    assert re.fullmatch(r"two white boats and (a|one) red boat", joined)
    three = noun_phrase([group("field", 2, "green"), group("field", 1, "brown"), group("field", 3, "yellow")], rng)
    assert re.fullmatch(r"two green fields, (a|one) brown field and three yellow fields", three)
    assert definite([group("runway", 2)], rng) == "the runways"
    assert definite([group("road", 2)], rng, one=True) == "the road"


def test_captions_come_from_the_scene_objects() -> None:
    scene = Scene("airport")
    runway = scene.groups.append(group("runway", 1)) or scene.groups[-1]
    planes = scene.groups.append(group("plane", 4, "grey")) or scene.groups[-1]
    scene.relate(planes, "parked near", runway)
    texts = []
    for seed in range(20):
        captions = captions_for(scene, random.Random(seed))
        assert len(captions) == 5
        texts.append(" ".join(captions).lower())
    assert not any(word in text for text in texts for word in ("white", "three", "boat", "one plane"))
    assert any("four grey planes" in text for text in texts)
    assert any(re.search(r"four grey planes are (parked near|parked next to|beside) the runway", t) for t in texts)


def test_position_words() -> None:
    assert position_label(0.1, 0.1) == "top left"
    assert position_label(0.5, 0.5) == "center"
    assert position_label(0.9, 0.5) == "right"
    assert position_label(0.5, 0.9) == "bottom"
