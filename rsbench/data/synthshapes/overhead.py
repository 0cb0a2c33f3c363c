"""Overhead tiles in the pretraining corpus: SynthRS's painters, a seed stream of their own, alt-text captions.

Real CLIP transfers zero-shot to aerial benchmarks because its web corpus holds some overhead imagery among
everything else, captioned by whoever posted it, never with a benchmark's class names. ``synthshapes.overhead_tiles``
does the same for the tiny CLIP: that many tiles, painted by SynthRS's scene painters (classes in turn), join
SynthShapes' train split. Two things keep them apart from the benchmark:

* **Seeds.** A tile's random stream is ``SeedSequence([OVERHEAD_DOMAIN, overhead_seed, class, number])``; SynthRS
  draws from ``SeedSequence([seed, class, number])``, so no tile can repeat a benchmark image whatever the seeds.
* **Captions.** They are written here, from what the painter drew (kinds, colours, counts, places, relations),
  in the register of web alt-text ("aerial photo of two white boats and a pier"), not by SynthRS's grammar. No
  caption says a scene-class name or a word that gives the class away (``BANNED_WORDS``): an object whose noun
  holds one (``storage tank``, ``baseball field``, ``runway``) is left unsaid. This word list is our choice,
  the one the calibration experiment measured (``leaderboard/README.md``).

Tiles go to train only: the corpus's val and test stay SynthShapes, so pretraining's model selection never
looks at overhead imagery.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from rsbench.data.caption_grammar import WHERE, article, tokens
from rsbench.data.synthrs.captions import MANY, NOUNS, NUMBER_WORDS
from rsbench.data.synthrs.config import SCENE_CLASSES
from rsbench.data.synthrs.scenes import paint

OVERHEAD_DOMAIN = 0x4F56_4852  # "OVHR": mixed into every tile's seed, a stream SynthRS never draws from
# Words that name or give away a scene class; captions never hold them.
SCENE_GIVEAWAYS = frozenset(
    {"baseball", "football", "storage", "parking", "runway", "depot", "port", "playground", "crossroads", "dunes"}
)
BANNED_WORDS = frozenset(SCENE_CLASSES) | SCENE_GIVEAWAYS
MAX_GROUPS = 3  # an inventory caption lists at most this many kinds, as short alt-text does

INVENTORY = ("aerial photo of {list}", "top-down view of {list}", "{list}, seen from above",
             "satellite image with {list}", "overhead shot showing {list}")  # fmt: skip
PLACED = ("{phrase} {where}, aerial view", "overhead image: {phrase} {where}", "{phrase} {where}, from above")
RELATED = ("{subject} {relation} {object}, seen from above", "from above: {subject} {relation} {object}")
MASS_NOUNS = frozenset({"water", "sea"})  # said without an article or a count
FALLBACK = ("aerial photo of open ground", "top-down view of the land", "overhead image of the ground")


@dataclass(frozen=True)
class TileSpec:
    """One overhead tile to paint: its number (from 1) and Karpathy id; its class follows from the number."""

    number: int
    imgid: int
    split: str = "train"

    @property
    def filename(self) -> str:
        return f"aerial_{self.number:06d}.png"

    @property
    def scene(self) -> str:
        return SCENE_CLASSES[(self.number - 1) % len(SCENE_CLASSES)]

    @property
    def class_number(self) -> int:
        return (self.number - 1) // len(SCENE_CLASSES) + 1


def noun(kind: str, count: int) -> str:
    singular, plural = NOUNS[kind]
    return plural if count > 1 else singular


def sayable(kind: str) -> bool:
    """Whether a caption may name this kind: its noun holds no banned word."""
    return not set(tokens(NOUNS[kind][1])) & BANNED_WORDS and not set(tokens(NOUNS[kind][0])) & BANNED_WORDS


def counted(obj: dict[str, Any], rng: random.Random) -> str:
    """ "three white boats", "a grey building", "lots of trees": one group with its count and colour."""
    if obj["kind"] in MASS_NOUNS:
        return NOUNS[obj["kind"]][0]
    words = noun(obj["kind"], obj["count"])
    if obj["colour"] not in (None, "mixed"):
        words = f"{obj['colour']} {words}"
    if obj["count"] == 1:
        return f"{article(words)} {words}"
    return f"{NUMBER_WORDS[obj['count']] if obj['count'] <= 6 else rng.choice(MANY)} {words}"


def joined(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def alt_texts(meta: dict[str, Any], rng: random.Random, count: int) -> list[str]:
    """``count`` distinct alt-text captions of one tile from its painted metadata (``Scene.to_json()``)."""
    objects = [o for o in meta["objects"] if o["count"] and sayable(o["kind"])]
    by_kind = {o["kind"]: o for o in objects}
    pool: list[str] = []
    if objects:
        for _ in range(3):
            chosen = rng.sample(objects, min(MAX_GROUPS, len(objects)))
            pool.append(rng.choice(INVENTORY).format(list=joined([counted(o, rng) for o in chosen])))
    for obj in objects:
        if obj["position"]:
            where = rng.choice(WHERE[obj["position"]])
            pool.append(rng.choice(PLACED).format(phrase=counted(obj, rng), where=where))
    for relation in meta["relations"]:
        subject, obj = by_kind.get(relation["subject"]), by_kind.get(relation["object"])
        if subject is None or obj is None or subject is obj:
            continue
        words = [w for w in tokens(relation["relation"]) if w not in BANNED_WORDS]
        if words != tokens(relation["relation"]):
            continue
        pool.append(rng.choice(RELATED).format(subject=counted(subject, rng), relation=relation["relation"],
                                               object=f"the {noun(obj['kind'], obj['count'])}"))
    distinct = list(dict.fromkeys(pool))
    rng.shuffle(distinct)
    captions = distinct[:count]
    fallbacks = [f for f in FALLBACK if f not in captions]
    while len(captions) < count:  # a tile with little to say repeats what it can, as alt-text does
        captions.append(fallbacks.pop(0) if fallbacks else captions[len(captions) % max(1, len(distinct))])
    return [c[:1].upper() + c[1:] + "." for c in captions]


def render_tile(spec: TileSpec, image_size: int, overhead_seed: int, captions: int) -> tuple[Image.Image,
                                                                                            dict[str, Any], list[str]]:
    """Paint one tile with SynthRS's painter of its class; returns the image, its metadata and alt-text captions."""
    layout, grain, words = np.random.SeedSequence(
        [OVERHEAD_DOMAIN, overhead_seed, zlib.crc32(spec.scene.encode()), spec.class_number]
    ).spawn(3)
    image, scene = paint(spec.scene, np.random.default_rng(layout), np.random.default_rng(grain), image_size)
    meta = {"source": "overhead", **scene.to_json()}
    return image, meta, alt_texts(meta, random.Random(int(words.generate_state(1)[0])), captions)
