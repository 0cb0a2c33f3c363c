"""The caption grammar of SynthShapes: short English sentences about one image, written from its metadata.

Everything a sentence says is read from what was measured on the drawn sheet (``Sheet.to_json()``): the
objects grouped by kind and colour with their counts, sizes and places, the spatial relations between
single objects, and the background. There is no class label to say: the corpus has no scene classes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rsbench.data.caption_grammar import WHERE, article, capital
from rsbench.data.synthshapes.shapes import KINDS

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
SIZE_WORDS = ("small", "large")  # "medium" objects get no size word
MAX_WORDS = 24  # the tiny CLIP reads 32 tokens; a caption stays well inside them

# How a background is named after "on": {tone} is light or dark, {direction} the stripes' direction.
BACKGROUND_PLACES: dict[str, tuple[str, ...]] = {
    "plain": ("a plain {tone} background",),
    "stripes": ("a {tone} striped background", "{tone} {direction} stripes"),
    "checks": ("a {tone} checked background", "a {tone} checkerboard"),
    "dots": ("a {tone} dotted background", "a {tone} polka dot background"),
    "gradient": ("a {tone} gradient background", "a smooth {tone} gradient"),
    "paper": ("{tone} paper", "a {tone} paper background"),
    "fabric": ("{tone} fabric", "a {tone} fabric background"),
}

BACKGROUND_SENTENCES: dict[str, tuple[str, ...]] = {
    "plain": ("The background is plain and {tone}.", "It is drawn on a plain {tone} background."),
    "stripes": ("The background has {tone} {direction} stripes.", "The background is {tone} and striped."),
    "checks": ("The background is a {tone} checkerboard.", "The background is {tone} and checked."),
    "dots": ("The background has {tone} polka dots.", "The background is {tone} and dotted."),
    "gradient": ("The background is a {tone} gradient.", "The {tone} background fades smoothly."),
    "paper": ("The background looks like {tone} paper.", "It is drawn on {tone} paper."),
    "fabric": ("The background looks like {tone} fabric.", "It is drawn on {tone} woven fabric."),
}

# Relation templates: {A}/{B} the two objects as definite phrases ("the small red star"), {a} indefinite.
RELATIONS: dict[str, tuple[str, ...]] = {
    "inside": ("{A} is inside {B}.", "There is {a} inside {B}.", "{B} has {a} inside it."),
    "left of": ("{A} is to the left of {B}.", "{B} is to the right of {A}.", "{A} is left of {B}."),
    "above": ("{A} is above {B}.", "{B} is below {A}.", "{B} is under {A}."),
    "next to": ("{A} is next to {B}.", "{A} is beside {B}.", "{A} and {B} are side by side."),
}


@dataclass
class Group:
    """The objects of one kind and colour, in drawing order of their first member."""

    kind: str
    colour: str
    members: list[int] = field(default_factory=list)
    sizes: set[str] = field(default_factory=set)
    positions: set[str | None] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def size(self) -> str | None:
        """The size word all members share, if any."""
        return next(iter(self.sizes)) if len(self.sizes) == 1 and self.sizes <= set(SIZE_WORDS) else None

    def noun(self) -> str:
        kind = KINDS[self.kind]
        return kind.plural if self.count > 1 else kind.singular


def groups_of(meta: dict[str, Any]) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    for index, obj in enumerate(meta["objects"]):
        group = groups.setdefault((obj["kind"], obj["colour"]), Group(obj["kind"], obj["colour"]))
        group.members.append(index)
        group.sizes.add(obj["size"])
        group.positions.add(obj["position"])
    return list(groups.values())


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def noun_phrase(group: Group, rng: random.Random, sizes: bool = True, one: bool = False) -> str:
    """ "two small red stars", "a blue cup", "one large pink heart": counted, sized when all agree, coloured.

    ``one`` says "one" instead of "a" for a single object, which reads naturally only next to other counts.
    """
    words = f"{group.colour} {group.noun()}"
    if sizes and group.size is not None:
        words = f"{group.size} {words}"
    if group.count == 1:
        quantity = "one" if one else article(words)
    else:
        quantity = NUMBER_WORDS[group.count]
    return f"{quantity} {words}"


def _single(obj: dict[str, Any], rng: random.Random, definite: bool) -> str:
    """A single object as "the red star" or "a small red star" (its size said half of the time)."""
    words = f"{obj['colour']} {KINDS[obj['kind']].singular}"
    if obj["size"] in SIZE_WORDS and rng.random() < 0.5:
        words = f"{obj['size']} {words}"
    return f"{'the' if definite else article(words)} {words}"


def _be(groups: Sequence[Group]) -> str:
    return "is" if len(groups) == 1 and groups[0].count == 1 else "are"


def _background_place(meta: dict[str, Any], rng: random.Random) -> str:
    background = meta["background"]
    template = rng.choice(BACKGROUND_PLACES[background["pattern"]])
    return template.format(tone=background["tone"], direction=background.get("direction", ""))


def inventory(meta: dict[str, Any], rng: random.Random, exclude: Sequence[str] = ()) -> str | None:
    """A sentence naming every object with its count and colour; None when every template is in ``exclude``."""
    groups = groups_of(meta)
    few = len(groups) <= 3
    templates = [
        "there {be} {all} on {place}",
        "{all} {be} on {place}",
        "the picture shows {all}",
        "we can see {all}",
        "there {be} {all} in the picture",
        "there {be} {all} in the image",
    ]
    rng.shuffle(templates)
    one = any(g.count > 1 for g in groups) and rng.random() < 0.5  # "two red stars and one blue cup"
    # "there is a cup and two keys", but "a cup and two keys are on ..."
    be = {"there": "is" if groups[0].count == 1 else "are", "all": _be(groups)}
    for template in templates:
        for sizes in (few, False):
            phrase = _join([noun_phrase(g, rng, sizes, one) for g in groups])
            place = _background_place(meta, rng)
            verb = be["there"] if template.startswith("there") else be["all"]
            sentence = capital(template.format(be=verb, all=phrase, place=place)) + "."
            if len(sentence.split()) <= MAX_WORDS and sentence not in exclude:
                return sentence
    return None


def _count_sentence(meta: dict[str, Any], rng: random.Random) -> str:
    n = len(meta["objects"])
    if n == 1:
        return rng.choice(("There is only one object in the picture.", "There is just one thing in the picture."))
    tone = meta["background"]["tone"]
    return rng.choice(
        (
            f"There are {NUMBER_WORDS[n]} objects in the image.",
            f"{NUMBER_WORDS[n].capitalize()} things are on the {tone} background.",
            f"The picture has {NUMBER_WORDS[n]} objects.",
        )
    )


def _colour_sentence(meta: dict[str, Any], rng: random.Random) -> str | None:
    colours = list(dict.fromkeys(o["colour"] for o in meta["objects"]))
    if len(meta["objects"]) < 2:
        return None
    if len(colours) == 1:
        return rng.choice((f"All the objects are {colours[0]}.", f"Everything in the picture is {colours[0]}."))
    if len(colours) > 3:
        return None
    return rng.choice((f"The objects are {_join(colours)}.", f"There are {_join(colours)} objects."))


def _position_sentence(group: Group, where: str, rng: random.Random) -> str:
    phrase = noun_phrase(group, rng)
    spot = rng.choice(WHERE[where])
    be = "is" if group.count == 1 else "are"
    template = rng.choice(("{S} {be} {spot}", "there {be} {S} {spot}", "{spot}, there {be} {S}"))
    return capital(template.format(S=phrase, be=be, spot=spot)) + "."


def _relation_sentences(meta: dict[str, Any], groups: list[Group], rng: random.Random) -> dict[str, str]:
    """One sentence per pair of lone objects (the only one of their kind and colour) that stand in a relation."""
    alone = {g.members[0] for g in groups if g.count == 1}
    by_pair: dict[tuple[int, int], list[tuple[int, str, int]]] = {}
    for relation in meta["relations"]:
        subject, name, obj = relation["subject"], relation["relation"], relation["object"]
        if subject in alone and obj in alone:
            by_pair.setdefault((min(subject, obj), max(subject, obj)), []).append((subject, name, obj))
    out = {}
    for pair, facts in by_pair.items():
        subject, name, obj = rng.choice(facts)
        a, b = meta["objects"][subject], meta["objects"][obj]
        template = rng.choice(RELATIONS[name])
        sentence = template.format(A=_single(a, rng, True), B=_single(b, rng, True), a=_single(a, rng, False))
        out[f"relation:{pair[0]}:{pair[1]}"] = capital(sentence)
    return out


def _size_sentence(meta: dict[str, Any], groups: list[Group], rng: random.Random) -> str | None:
    alone = [meta["objects"][g.members[0]] for g in groups if g.count == 1]
    large = [o for o in alone if o["size"] == "large"]
    small = [o for o in alone if o["size"] == "small"]
    if not large or not small:
        return None
    big, little = rng.choice(large), rng.choice(small)
    big_words = f"the {big['colour']} {KINDS[big['kind']].singular}"
    little_words = f"the {little['colour']} {KINDS[little['kind']].singular}"
    return rng.choice(
        (
            capital(f"{big_words} is much bigger than {little_words}."),
            capital(f"{little_words} is much smaller than {big_words}."),
        )
    )


def fine_sentences(meta: dict[str, Any], rng: random.Random) -> tuple[dict[str, str], dict[str, str]]:
    """Candidate sentences besides the inventory, keyed by topic: (about single objects, about the whole image)."""
    groups = groups_of(meta)
    specific = _relation_sentences(meta, groups, rng)
    for index, group in enumerate(groups):
        places = group.positions
        if len(places) == 1 and None not in places:
            specific[f"position:{index}"] = _position_sentence(group, next(iter(places)), rng)
    size = _size_sentence(meta, groups, rng)
    if size is not None:
        specific["size"] = size
    background = meta["background"]
    general = {
        "background": rng.choice(BACKGROUND_SENTENCES[background["pattern"]]).format(
            tone=background["tone"], direction=background.get("direction", "")
        ),
        "count": _count_sentence(meta, rng),
    }
    colour = _colour_sentence(meta, rng)
    if colour is not None:
        general["colour"] = colour
    return specific, general


def captions_for(meta: dict[str, Any], rng: random.Random, count: int = 3) -> list[str]:
    """``count`` captions for one image: an inventory of its objects, then sentences about single objects and
    the image as a whole, shuffled; a plain image may repeat a sentence rather than invent one."""
    first = inventory(meta, rng)
    assert first is not None, "an inventory template always fits"  # one group of five is 12 words at most
    chosen = [first]
    specific, general = fine_sentences(meta, rng)
    specific_order, general_order = list(specific.values()), list(general.values())
    rng.shuffle(specific_order)
    rng.shuffle(general_order)
    if specific_order:  # the second caption is about one object or pair when there is such a sentence
        chosen.append(specific_order.pop())
    rest = specific_order + general_order
    rng.shuffle(rest)
    chosen += rest
    chosen = chosen[:count]
    while len(chosen) < count:
        more = inventory(meta, rng, exclude=chosen)
        chosen.append(more if more is not None else rng.choice(chosen))
    rng.shuffle(chosen)
    return chosen
