"""Published figures shipped as data (``published/<paper>.json``), matched to leaderboard rows.

Each entry names a paper's table row by the dataset and the config values that define it (dotted keys such
as ``adapter.name`` or ``sampler.queue_multiple``); options it leaves unnamed are at their defaults. A
configuration with the same dataset, backbone and method sections (adapter, sampler, augmenter, loss,
strategy, every option) shows that row's mR beside its own; the training recipe is not compared.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PUBLISHED_DIR = Path(__file__).with_name("published")


@cache
def published_entries() -> tuple[dict[str, Any], ...]:
    """Every published row of every paper file, each with its paper's name."""
    entries = []
    for path in sorted(PUBLISHED_DIR.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries += [{"paper": doc["paper"], **entry} for entry in doc["entries"]]
    return tuple(entries)


METHOD_SECTIONS = ("adapter", "sampler", "augmenter", "loss", "strategy", "reranker")


def method_identity(config: dict[str, Any]) -> dict[str, Any]:
    """What a published row and a configuration must share: backbone name and the method sections."""
    from rsbench.results.record import component_name

    name = component_name(config.get("backbone")) or ""
    backbone = name.replace("/", "-")  # papers write ViT-B/16, open_clip ViT-B-16
    identity = {"backbone": backbone, **{section: config.get(section) for section in METHOD_SECTIONS}}
    if identity["reranker"] is None:  # a record from before rerankers existed was not reranked
        identity["reranker"] = {"name": "none"}
    return identity


@cache
def _entry_identity(index: int) -> dict[str, Any]:
    from rsbench.config import build_config, dotted_layer

    entry = published_entries()[index]
    return method_identity(build_config(None, dotted_layer(entry["config"])).to_dict())


def published_matches(config: dict[str, Any], dataset: str) -> list[dict[str, Any]]:
    """The published rows a configuration reproduces: same dataset, backbone and method sections."""
    identity = method_identity(config)
    return [entry for index, entry in enumerate(published_entries())
            if entry["dataset"] == dataset and _entry_identity(index) == identity]


def published_figure(config: dict[str, Any], dataset: str) -> tuple[float | None, str]:
    """The published mR for a configuration and where it is from (``CMER T1 (CMER ViT-B-16)``), or (None, "")."""
    matches = published_matches(config, dataset)
    if not matches:
        return None, ""
    sources = ", ".join(f"{m['paper']} T{m['table']}" for m in matches)
    return float(matches[0]["metrics"]["mR"]), sources
