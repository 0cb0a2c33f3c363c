"""Text encoders: map strings to sentence embeddings, for text-to-text retrieval (captions against queries).

Built-ins: ``sentence-transformers`` (any model folder; all-MiniLM-L6-v2 by default, offline) and ``clip-text``
(a CLIP backbone's own text tower). ``build_text_encoder`` builds a registered one by name with its options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rsbench.text.encoders.base import TextEncoder


def build_text_encoder(name: str, options: Mapping[str, Any] | None = None, where: str = "text_encoder.",
                       **kwargs: Any) -> TextEncoder:
    """The registered text encoder ``name`` built with ``options`` (checked like any config section: an unknown
    key or a wrong type is a ConfigError naming ``where`` + the key); ``kwargs`` go to its factory.
    ``rsbench.components.build("text_encoder", ...)`` under its older name."""
    from rsbench.components import build

    return build("text_encoder", {"name": name, **(options or {})}, where=where, **kwargs)
