"""The ``oracle`` captioner: SynthRS only. Writes what a perfect VLM would answer, from what the painter drew.

Each SynthRS build keeps ``synthrs_meta.json``: per image the scene class, every object group (kind, count,
colour, area of one instance, position) and the relations between groups. The oracle turns these into the reply
the prompt asks for (strict JSON of N variants for a structured prompt, one sentence otherwise), which then goes
through the prompt's own parser like any model's reply. Positions are given as compass directions (top = north,
left = west) and sizes as words, never percentages, as the TRSLLaVA prompt asks. It knows nothing a caption could
not say, and it never errs: the upper bound of caption quality, labelled ``oracle`` in every record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsbench.captioning.base import Captioner, CaptionFailure, Reply
from rsbench.captioning.config import OracleCaptionerConfig
from rsbench.data.caption_grammar import article, capital
from rsbench.data.synthrs.build import META
from rsbench.data.synthrs.captions import NOUNS, NUMBER_WORDS
from rsbench.errors import ConfigError, DataError

if TYPE_CHECKING:
    from rsbench.captioning.prompt import Prompt
    from rsbench.data.record import Record

# Bump when the writing below changes: part of the cache key, so cached oracle captions are made again.
ORACLE_VERSION = "1"

SCENES = {
    "airport": "an airport", "baseballfield": "a baseball field", "beach": "a beach", "bridge": "a bridge",
    "desert": "a desert", "farmland": "farmland", "forest": "a forest", "harbor": "a harbor",
    "industrial": "an industrial area", "intersection": "a road intersection", "meadow": "a meadow",
    "parking": "a parking area", "playground": "a playground", "pond": "a pond", "residential": "a residential area",
    "river": "a river", "storagetanks": "a storage tank depot",
}
COMPASS = {
    "center": "in the centre", "top": "in the north", "bottom": "in the south", "left": "in the west",
    "right": "in the east", "top left": "in the north-west", "top right": "in the north-east",
    "bottom left": "in the south-west", "bottom right": "in the south-east",
}
NORTH_TO_SOUTH = ["top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right"]
# Size of one instance, as a fraction of the image: qualitative words only (the prompt forbids percentages).
SIZES = ((0.002, "tiny"), (0.02, "small"), (0.08, "medium-sized"), (0.3, "large"))
VERB_RELATIONS = {"crosses": ("crosses", "cross"), "extend into": ("extends into", "extend into")}

SUMMARIES = (
    "An aerial view of {scene} with {things}.",
    "This image shows {scene} containing {things}.",
    "{Scene} seen from above, with {things}.",
    "A satellite image of {scene} in which {things} can be seen.",
    "From overhead, {scene} holding {things}.",
)


def size_word(area_fraction: float) -> str:
    return next((word for limit, word in SIZES if area_fraction < limit), "very large")


def noun(kind: str, count: int) -> str:
    singular, plural = NOUNS.get(kind, (kind, kind + "s"))
    return singular if count == 1 else plural


def where(obj: dict[str, Any]) -> str:
    return COMPASS.get(obj.get("position") or "", "spread across the image")


def phrase(obj: dict[str, Any], *, size: bool = False) -> str:
    """``three small white planes``: count, size, colour and noun of one object group."""
    count = int(obj["count"])
    words = [size_word(float(obj.get("area_fraction", 0)))] if size else []
    if obj.get("colour") and obj["colour"] != "mixed":
        words.append(obj["colour"])
    elif obj.get("colour") == "mixed":
        words.append("differently coloured")
    words.append(noun(obj["kind"], count))
    if count == 1:
        return f"{article(words[0])} {' '.join(words)}"
    quantity = NUMBER_WORDS.get(count, "many")
    return f"{quantity} {' '.join(words)}"


def listing(items: list[str]) -> str:
    if not items:
        return "no distinct objects"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def orders(objects: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Five orders of the object groups (by area, north to south, by count, by name, smallest first)."""
    by_area = sorted(objects, key=lambda o: -float(o.get("total_area_fraction", 0)))
    position = {p: i for i, p in enumerate(NORTH_TO_SOUTH)}
    by_place = sorted(objects, key=lambda o: position.get(o.get("position") or "", len(position)))
    by_count = sorted(objects, key=lambda o: -int(o["count"]))
    by_name = sorted(objects, key=lambda o: (noun(o["kind"], 1), o.get("colour") or ""))
    return [by_area, by_place, by_count, by_name, by_area[::-1]]


def relation_sentences(meta: dict[str, Any]) -> list[str]:
    counts: dict[str, int] = {}
    for obj in meta["objects"]:
        counts[obj["kind"]] = counts.get(obj["kind"], 0) + int(obj["count"])
    out = []
    for rel in meta.get("relations", []):
        subject, name, obj = rel["subject"], rel["relation"], rel["object"]
        if subject not in counts or obj not in counts:
            continue
        many = counts[subject] > 1
        head = f"The {noun(subject, counts[subject])}"
        if name in VERB_RELATIONS:
            sentence = f"{head} {VERB_RELATIONS[name][many]} the {noun(obj, counts[obj])}."
        else:
            sentence = f"{head} {'are' if many else 'is'} {name} the {noun(obj, counts[obj])}."
        if sentence not in out:
            out.append(sentence)
    return out


def variants(meta: dict[str, Any], n: int) -> list[dict[str, str]]:
    """``n`` distinct (one_sentence, feature, caption) descriptions of one image's metadata."""
    scene = SCENES.get(meta.get("scene", ""), f"a {meta.get('scene', 'scene')} scene")
    relations = relation_sentences(meta)
    out = []
    for i in range(n):
        order = orders(meta["objects"])[(i + i // len(SUMMARIES)) % 5]
        things = listing([phrase(o) for o in order])
        summary = SUMMARIES[i % len(SUMMARIES)].format(scene=scene, Scene=capital(scene), things=things)
        features = "; ".join(f"{phrase(o, size=True)} {where(o)}" for o in order) or "no separate objects"
        body = [f"The image shows {scene}."]
        for o in order:
            be = "is" if int(o["count"]) == 1 else "are"
            body.append(f"There {be} {phrase(o, size=True)} {where(o)}.")
        if relations:  # each variant starts the relations at another one
            shift = i % len(relations)
            body += relations[shift:] + relations[:shift]
        out.append({"one_sentence": summary, "feature": capital(features) + ".", "caption": " ".join(body)})
    return out


class OracleCaptioner(Captioner):
    """Captions written from SynthRS's drawing metadata (object classes, colours, counts, sizes, positions)."""

    retry_failures = False  # the same metadata gives the same reply

    def __init__(self, config: OracleCaptionerConfig) -> None:
        self.config = config
        self._meta: dict[Path, dict[str, Any]] = {}

    def describe(self) -> dict[str, Any]:
        return {"model": "synthrs-metadata", "oracle": True, "version": ORACLE_VERSION}

    def _meta_file(self, record: Record) -> Path | None:
        if self.config.metadata:
            path = Path(self.config.metadata).expanduser()
            if not path.is_file():
                raise ConfigError(f"captioner.metadata: no such file {path}")
            return path
        image = Path(record.image)
        return next((p / META for p in (image.parent, image.parent.parent) if (p / META).is_file()), None)

    def metadata(self, record: Record) -> dict[str, Any] | None:
        """The drawing metadata of ``record``'s image, or None when its dataset has none or lacks the image."""
        path = self._meta_file(record)
        if path is None:
            return None
        if path not in self._meta:
            try:
                self._meta[path] = json.loads(path.read_text(encoding="utf-8"))["images"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise DataError(f"cannot read SynthRS metadata {path}: {exc}") from None
        return self._meta[path].get(Path(record.image_id).name)

    def check(self, records: Sequence[Record]) -> None:
        """One error when the records come from a dataset without SynthRS metadata."""
        if records and all(self._meta_file(r) is None for r in records):
            raise DataError(
                f"the oracle captioner writes captions from what SynthRS drew ({META}, next to its images/ "
                f"folder); {records[0].image_id} and the other images have none, so this is not SynthRS. Use "
                f"another captioner (rsbench list captioner), or captioner.metadata=FILE")

    def caption(self, records: Sequence[Record], prompt: Prompt, *, device: str = "cpu",
                retry: bool = False) -> list[Reply]:
        replies: list[Reply] = []
        for record in records:
            meta = self.metadata(record)
            if meta is None:
                replies.append(CaptionFailure(f"no SynthRS metadata for {record.image_id}"))
            elif prompt.parser == "structured":
                replies.append(json.dumps({"variants": variants(meta, prompt.variants)}))
            else:
                replies.append(variants(meta, 1)[0]["one_sentence"])
        return replies


def build(config: OracleCaptionerConfig) -> OracleCaptioner:
    """SynthRS oracle captions from the drawing metadata."""
    return OracleCaptioner(config)
