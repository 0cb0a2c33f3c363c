"""The one table of component kinds: for each, the hook that registers it, where a run config names it, what its
factory takes besides its config, and the contract check ``rsbench.testing`` runs on it.

Everything that enumerates kinds reads this table (the registries, the plugin manager's hooks, the config's
sections, the contract checks). Adding a kind is one row here plus its hookspec in ``rsbench/hooks/specs.py`` and
its section in docs/plugins.md. Checks are named by ``"module:attr"`` so this ground-floor module imports nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    """One component kind.

    ``section``: the config key that names the component: a top-level section (``adapter``), or
    ``<section>.<field>`` for a kind another component's options name (``strategy.index``).
    ``optional``: a top-level section a run has only when it names it (``captioner``).
    ``build_args``: what ``factory(config, *build_args)`` takes after the config. ``check``: the contract check,
    ``"module:attr"``; for a kind with build arguments it receives ``factory(*build_args)``, else the built object.
    ``doc``: the heading of the kind's section in docs/plugins.md.
    """

    name: str
    hook: str
    section: str
    build_args: tuple[str, ...]
    check: str
    doc: str
    optional: bool = False

    @property
    def top_level(self) -> bool:
        """Whether a run config has a section of its own for this kind (else another section's field names it)."""
        return "." not in self.section

    def load_check(self) -> Callable[..., Any]:
        module_name, _, attr = self.check.partition(":")
        return getattr(importlib.import_module(module_name), attr)


# In the order of a run config: its required sections first, then the kinds other options name, then optional ones.
KIND_TABLE: tuple[Kind, ...] = (
    Kind("dataset", "register_datasets", "dataset", (), "rsbench.testing:check_dataset", "Dataset"),
    Kind("backbone", "register_backbones", "backbone", (), "rsbench.testing:check_backbone", "Backbone"),
    Kind("adapter", "register_adapters", "adapter", ("backbone",), "rsbench.testing:check_adapter", "Adapter"),
    Kind("sampler", "register_samplers", "sampler", ("loss",), "rsbench.testing:check_sampler", "Sampler"),
    Kind("augmenter", "register_augmenters", "augmenter", ("dataset",), "rsbench.testing:check_augmenter",
         "Augmenter"),
    Kind("strategy", "register_strategies", "strategy", (), "rsbench.testing:check_strategy", "Strategy"),
    Kind("reranker", "register_rerankers", "reranker", (), "rsbench.testing:check_reranker", "Reranker"),
    Kind("loss", "register_losses", "loss", (), "rsbench.testing:check_loss", "Loss"),
    Kind("index", "register_indexes", "strategy.index", ("dim",), "rsbench.testing:check_index", "Index"),
    Kind("text_encoder", "register_text_encoders", "strategy.text_encoder", (),
         "rsbench.testing:check_text_encoder", "Text encoder"),
    Kind("captioner", "register_captioners", "captioner", (), "rsbench.testing:check_captioner", "Captioner",
         optional=True),
)

KIND_OF: dict[str, Kind] = {kind.name: kind for kind in KIND_TABLE}
KINDS: tuple[str, ...] = tuple(KIND_OF)
