"""The augmenter contract: ``augment`` for training captions, ``at_query`` for evaluation queries."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from rsbench.data.record import Record


class Augmenter:
    """Leaves captions unchanged; subclasses override what they rewrite.

    ``augment`` is called on each training caption with a seeded ``random.Random``;
    ``at_query`` on each test caption before it is encoded as a query (deterministic).

    An augmenter that sets ``needs_captioner = True`` uses generated captions: the engine refuses a run without
    a ``captioner`` section before anything trains, and calls ``prepare_training`` once, before the first
    epoch, with the training records and that section.
    """

    needs_captioner: bool = False

    def prepare_training(self, records: Sequence[Record], captioner: tuple[str, Any] | None, device: str = "cpu",
                         progress: bool = False) -> None:
        """Called once before training (and before any ``augment``) with the training records, the run's
        captioner section ``(name, options)`` or None, and the run's device."""

    def extra_pairs(self, records: Sequence[Record], rng: random.Random) -> list[tuple[int, str]]:
        """Training pairs to add to an epoch: ``(index into records, caption)``; the caption is used as it is
        (``augment`` is not applied to it). Called once per epoch with an rng seeded from (seed, epoch). Return
        the same number of pairs every epoch: the schedule's length is counted from the first."""
        return []

    def augment(self, caption: str, record: Record, rng: random.Random) -> str:
        return caption

    def at_query(self, caption: str, record: Record) -> str:
        return caption

    def prepare_queries(self, records: Sequence[Record], encode_text: Callable[[list[str]], Any]) -> None:
        """Called before each evaluation with the current model's text encoder (e.g. to predict scenes)."""

    def describe_eval(self) -> dict:
        """What a result record should know about how queries were changed at evaluation."""
        return {}
