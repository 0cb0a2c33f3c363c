"""Published figures shipped as data (``published/<paper>.json``), matched to leaderboard rows.

Each entry names a paper's table row by the dataset and the config values that define it (dotted keys such
as ``adapter.name`` or ``sampler.queue_multiple``); options it leaves unnamed are at their defaults. A
configuration with the same dataset, backbone and method sections (adapter, sampler, augmenter, loss,
strategy, every option) shows that row's mR beside its own; whether the two can be compared (weights, data,
training) is ``comparability.py``'s question. A paper file may also hold its ``setting`` (hardware, recipe,
dataset sizes), ``costs`` (peak memory and throughput rows, matched to ``rsbench profile`` records by backbone
and method) and ``reference_rows`` (other papers' methods it lists: shown, never run).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PUBLISHED_DIR = Path(__file__).with_name("published")


@cache
def published_documents() -> tuple[dict[str, Any], ...]:
    """Every paper file, parsed."""
    return tuple(json.loads(path.read_text(encoding="utf-8")) for path in sorted(PUBLISHED_DIR.glob("*.json")))


def _rows(key: str) -> tuple[dict[str, Any], ...]:
    return tuple({"paper": doc["paper"], **row} for doc in published_documents() for row in doc.get(key, ()))


@cache
def published_entries() -> tuple[dict[str, Any], ...]:
    """Every published accuracy row of every paper file, each with its paper's name."""
    return _rows("entries")


@cache
def published_costs() -> tuple[dict[str, Any], ...]:
    """Every published training-cost row (peak memory in MB, throughput in pairs/s), each with its paper's name."""
    return _rows("costs")


@cache
def reference_rows() -> tuple[dict[str, Any], ...]:
    """Other papers' methods a paper's tables list, with their published figures: shown, never run."""
    return _rows("reference_rows")


def paper_setting(paper: str) -> dict[str, Any]:
    """The setting a paper's figures were measured in (``setting`` of its file), {} when it gives none."""
    for doc in published_documents():
        if doc["paper"] == paper:
            return doc.get("setting") or {}
    return {}


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


def cost_matches(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The published cost rows of a profiled configuration: same backbone name and adapter (CMER's rows are the
    Focus-Adapter with text LoRA). A profile trains on random inputs, so the augmenter does not change what it
    measures; the sampler only tells Table 4's focus rows apart (the queue costs 4 MB, §4.4.1), so Table 3's rows,
    one sampler per method, match a profile of either."""
    from rsbench.results.record import component_name

    backbone = (component_name(config.get("backbone")) or "").replace("/", "-")
    adapter = config.get("adapter") if isinstance(config.get("adapter"), dict) else {"name": config.get("adapter")}
    if adapter.get("name") == "focus" and adapter.get("text", "lora") != "lora":
        return []
    sampler = component_name(config.get("sampler"))
    return [row for row in published_costs()
            if row["config"].get("backbone.name") == backbone and row["config"].get("adapter.name") == adapter["name"]
            and (row["table"] != "4" or sampler is None or row["config"].get("sampler.name") == sampler)]


def published_figure(config: dict[str, Any], dataset: str) -> tuple[float | None, str]:
    """The published mR for a configuration and where it is from (``CMER T1 (CMER ViT-B-16)``), or (None, "")."""
    matches = published_matches(config, dataset)
    if not matches:
        return None, ""
    sources = ", ".join(f"{m['paper']} T{m['table']}" for m in matches)
    return float(matches[0]["metrics"]["mR"]), sources
