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
    """

    def augment(self, caption: str, record: Record, rng: random.Random) -> str:
        return caption

    def at_query(self, caption: str, record: Record) -> str:
        return caption

    def prepare_queries(self, records: Sequence[Record], encode_text: Callable[[list[str]], Any]) -> None:
        """Called before each evaluation with the current model's text encoder (e.g. to predict scenes)."""

    def describe_eval(self) -> dict:
        """What a result record should know about how queries were changed at evaluation."""
        return {}
