"""CMER's scene-label augmentation (§3.3, Eq. 14): the image's scene class is put in front of its caption as a prompt.

Training captions get the true class of their image. Queries get the true class (``oracle``), a class
predicted from the query text by the model being evaluated (``predicted``), or nothing (``none``); result
records say which (``dataset.scene_at_eval``) and the leaderboard labels the rows ``scene@oracle``,
``scene@predicted`` and ``scene@none``. The paper does not say where a test query's label comes from: ``oracle``
is our assumption, not its stated setting (docs/cmer-recipe.md argues it, and why it is the recipe's default).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rsbench.data.record import Record
from rsbench.errors import ConfigError, RsbenchError
from rsbench.text.augmenters.base import Augmenter
from rsbench.text.augmenters.config import SceneConfig

if TYPE_CHECKING:
    import torch

# Class labels as the datasets spell them (RSITMD/RSICD file prefixes, RSICD class lists lower-cased,
# UC Merced, SynthRS) -> words. Keys are lower-case with spaces, '_' and '-' removed; labels not listed
# fall back to splitting on '_', '-' and camelCase.
SCENE_WORDS: dict[str, str] = {
    "bareland": "bare land",
    "baseballdiamond": "baseball diamond",
    "baseballfield": "baseball field",
    "basketballcourt": "basketball court",
    "denseresidential": "dense residential",
    "golfcourse": "golf course",
    "groundtrackfield": "ground track field",
    "mediumresidential": "medium residential",
    "mobilehomepark": "mobile home park",
    "parking": "parking lot",
    "parkinglot": "parking lot",
    "railwaystation": "railway station",
    "sparseresidential": "sparse residential",
    "storagetank": "storage tank",
    "storagetanks": "storage tanks",
    "tenniscourt": "tennis court",
}


# Where a test query's scene label came from, as the record says it (extra.eval.scene_source).
SCENE_SOURCES: dict[str, str] = {
    "oracle": "the true class of the query's image: an assumption, the CMER paper does not say how test queries "
              "get their scene label, and a deployed system has no such label",
    "predicted": "the class whose prompt the evaluated model's text encoder puts closest to the query",
    "none": "no scene prompt on queries (training captions still have one)",
}


def _key(label: str) -> str:
    return re.sub(r"[\s_\-]+", "", label.lower())


def scene_words(label: str, overrides: dict[str, str] | None = None) -> str:
    """The words for a scene class label: ``storagetanks`` -> "storage tanks", ``parking`` -> "parking lot"."""
    overrides = overrides or {}
    if label in overrides:
        return overrides[label]
    key = _key(label)
    for table in ({_key(k): v for k, v in overrides.items()}, SCENE_WORDS):
        if key in table:
            return table[key]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", label)  # BareLand -> Bare Land
    return " ".join(re.split(r"[\s_\-]+", spaced)).strip().lower()


def scene_prompt(caption: str, words: str, template: str = "{scene}, {caption}") -> str:
    """The caption with its scene words as a metadata prompt (CMER Eq. 14: t = Concat(t_meta, t_cont))."""
    return template.format(scene=words, caption=caption)


class SceneAugmenter(Augmenter):
    """Prepends the scene class to training captions and, as ``at_eval`` says, to queries.

    ``predicted`` needs the model: before ``at_query`` runs on a split, the engine calls
    ``prepare_queries(records, encode_text)`` with the split's records and a function that embeds a
    list of strings with the model's text encoder (eval mode, no grad). Each distinct query is then
    given the class whose ``class_prompt`` embedding has the highest cosine similarity to the query's
    own (unaugmented) embedding: zero-shot classification of the query text.
    """

    def __init__(self, config: SceneConfig, scenes: Sequence[str]) -> None:
        self.config = config
        self.scenes = list(scenes)
        self.predicted: dict[str, str] | None = None  # query text -> class label, set by prepare_queries
        self.prediction_accuracy: float | None = None  # share of labelled queries given their true class

    def check_dataset(self, dataset: Any) -> None:
        """Before any training: the prompts need the dataset's scene labels, and ``scene_names`` must name them."""
        if not self.scenes:
            raise ConfigError(f"augmenter scene writes each caption's scene label into it, and dataset "
                              f"'{dataset.name}' has no scene labels (`rsbench data inspect` shows them); train "
                              f"with --aug none, or give the dataset labels (its scene_rule option)")
        known = {_key(scene) for scene in self.scenes}
        unknown = sorted(name for name in self.config.scene_names if _key(name) not in known)
        if unknown:
            raise ConfigError(f"augmenter.scene_names names {', '.join(map(repr, unknown))}, not a scene of dataset "
                              f"'{dataset.name}'; its scenes are {', '.join(sorted(self.scenes))}")

    def words(self, label: str) -> str:
        return scene_words(label, self.config.scene_names)

    def prompt(self, caption: str, label: str | None) -> str:
        return caption if label is None else scene_prompt(caption, self.words(label), self.config.template)

    def augment(self, caption: str, record: Record, rng: random.Random) -> str:
        return self.prompt(caption, record.scene)

    def at_query(self, caption: str, record: Record) -> str:
        mode = self.config.at_eval
        if mode == "none":
            return caption
        if mode == "oracle":
            return self.prompt(caption, record.scene)
        if not self.scenes:  # a dataset without scene labels: nothing to predict
            return caption
        if self.predicted is None or caption not in self.predicted:
            raise RsbenchError(
                "augmenter 'scene' with at_eval=predicted needs prepare_queries(records, encode_text) on the "
                "evaluated split before at_query; the engine must call it (or set augmenter.at_eval to oracle/none)"
            )
        return self.prompt(caption, self.predicted[caption])

    def prepare_queries(self, records: Sequence[Record], encode_text: Callable[[list[str]], torch.Tensor]) -> None:
        """Predict each query's scene from its text with ``encode_text`` (only when ``at_eval`` is 'predicted')."""
        if self.config.at_eval != "predicted":
            return
        self.predicted, self.prediction_accuracy = {}, None
        if not self.scenes:
            return
        import torch.nn.functional as F

        queries = sorted({caption for record in records for caption in record.captions})
        if not queries:
            return
        prompts = [self.config.class_prompt.format(scene=self.words(s)) for s in self.scenes]
        classes = F.normalize(encode_text(prompts).float(), dim=-1)
        texts = F.normalize(encode_text(queries).float(), dim=-1).to(classes.device)
        best = (texts @ classes.t()).argmax(dim=1).tolist()
        self.predicted = {q: self.scenes[b] for q, b in zip(queries, best, strict=True)}
        truth = [(self.predicted[c], r.scene) for r in records if r.scene is not None for c in r.captions]
        self.prediction_accuracy = sum(p == t for p, t in truth) / len(truth) if truth else None

    def describe_eval(self) -> dict:
        """What the record keeps about the queries' scene (``extra.eval``; ``scene_at_eval`` also in ``dataset``)."""
        mode = self.config.at_eval if self.scenes else "none"
        source = SCENE_SOURCES[mode] if self.scenes else "the dataset has no scene labels: queries unchanged"
        described: dict = {"scene_at_eval": mode, "scene_source": source}
        if self.config.at_eval == "predicted" and self.prediction_accuracy is not None:
            described["scene_prediction_accuracy"] = round(100 * self.prediction_accuracy, 2)
        return described


def build(config: SceneConfig, dataset) -> SceneAugmenter:
    """Scene class as a caption prompt (CMER §3.3); queries: oracle, predicted or none."""
    return SceneAugmenter(config, dataset.scenes)
