"""What every captioner shares: the per-image failure, the reply type and a base class with the contract's defaults.

The contract itself (``rsbench.hooks.specs.Captioner``, docs/plugins.md): ``caption(records, prompt, device=...,
retry=...)`` returns one reply per record, ``describe()`` names what makes the captions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from rsbench.captioning.prompt import Prompt
    from rsbench.data.record import Record


@dataclass(frozen=True)
class CaptionFailure:
    """One image that got no usable captions, and why (a timeout, a reply that does not parse, a missing entry)."""

    reason: str


# str: the model's text, read by the prompt's parser; list[str]: variants already made; or a failure.
Reply = Union[str, list[str], CaptionFailure]  # noqa: UP007  (a runtime alias; `|` on these needs py3.10 types)


class Captioner(ABC):
    """Base class with the contract's defaults: replies depend on the prompt, and a failed image is asked again once.

    Subclasses implement ``caption`` and ``describe``.
    """

    uses_prompt: bool = True
    retry_failures: bool = True

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """``{"model": str, "oracle": bool, "settings": {...}}``: what makes the captions, stable between calls."""

    @abstractmethod
    def caption(self, records: Sequence[Record], prompt: Prompt, *, device: str = "cpu",
                retry: bool = False) -> list[Reply]:
        """One reply per record, in order; ``retry`` is True when these records failed once already."""
