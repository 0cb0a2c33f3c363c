"""The retrieval-strategy contract: an evaluation split and an encoder view in, scores per direction out.

A strategy sees the split's records (ids, image paths, captions, scenes) and the query strings, not pre-made
batches, so that one that does not embed images at all (text-to-text retrieval: caption the images, search
caption strings) fits the same call as dual-stream and fast-then-fine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rsbench.data.record import Record
from rsbench.retrieval.encoder import Encoder
from rsbench.retrieval.scores import RetrievalScores


@dataclass
class EvalSplit:
    """One evaluation split: its records, the query captions (as the augmenter rewrote them) and their images.

    ``train_records`` is the run's training split, for a strategy that fits something of its own on the trained
    model's features before it scores (a fusion head, say); it is empty when the caller has none. Never fit on
    the evaluation split's own captions: its labels are what the recalls measure.

    ``captioner`` is the run's captioner section, ``(name, options)``, for a strategy that captions the gallery
    (text-to-text); None when the run names none. ``select`` is the run's selection split (val), given to a
    strategy that declares ``needs_selection_split = True`` so it can choose a setting there (hybrid's weight);
    on it, choosing by the recalls is what selection means.
    """

    records: Sequence[Record]
    captions: list[str]
    caption_to_image: list[int]
    train_records: Sequence[Record] = ()
    captioner: tuple[str, Any] | None = None
    select: EvalSplit | None = None

    def __post_init__(self) -> None:
        if len(self.captions) != len(self.caption_to_image):
            raise ValueError(f"{len(self.captions)} captions but {len(self.caption_to_image)} image indices")

    @property
    def n_images(self) -> int:
        return len(self.records)

    @property
    def n_captions(self) -> int:
        return len(self.captions)


@dataclass
class RetrievalResult:
    """A strategy's scores, its stage-1 shortlists when it has a second stage, and wall seconds per stage."""

    scores: RetrievalScores
    stage1: RetrievalScores | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    """Turns an evaluation split and an encoder view of the trained model into scores per direction.

    ``split`` is an ``EvalSplit`` (records, query captions, each caption's image); ``encoder`` a
    ``rsbench.retrieval.encoder.Encoder`` (``images(records, tokens=False)``, ``texts(captions, tokens=False)``:
    normalised embeddings, and joint-space tokens on request). The result is a ``RetrievalResult`` whose
    ``scores`` hold, per direction, a dense matrix or ``Candidates``. The one definition: the hooks
    (``rsbench.hooks.specs.Strategy``) and docs/plugins.md name this one.
    """

    def retrieve(self, split: EvalSplit, encoder: Encoder) -> RetrievalResult: ...
