"""Which config keys are evaluation-side: they change how a trained model is evaluated, never the model.

``rsbench eval --set`` accepts only these; a sweep's variants that differ only in them share one training
(rsbench/sweep/sharing.py). A section listed whole (``strategy``) covers every option of it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rsbench.errors import ConfigError

EVAL_SECTIONS: tuple[str, ...] = ("strategy", "reranker", "captioner")
EVAL_KEYS: tuple[str, ...] = (
    "augmenter.at_eval", "augmenter.class_prompt", "eval.report_on", "eval.batch_size", "device", "results_dir",
)


def is_eval_key(dotted: str) -> bool:
    """Whether ``dotted`` (``strategy.candidates``, ``augmenter.at_eval``) only changes evaluation."""
    return dotted.split(".")[0] in EVAL_SECTIONS or dotted in EVAL_KEYS


def check_eval_sets(sets: list[str], data: bool = True) -> None:
    """A ConfigError naming the first ``--set KEY=VALUE`` whose key would change the trained model. With
    ``data``, ``dataset.*`` is allowed too: ``rsbench eval`` may evaluate a model on other data."""
    for item in sets:
        key = item.partition("=")[0].strip()
        if key and not (is_eval_key(key) or (data and key.split(".")[0] == "dataset")):
            allowed = ", ".join([f"{s}.*" for s in (*EVAL_SECTIONS, *(("dataset",) if data else ()))]
                                + list(EVAL_KEYS))
            raise ConfigError(f"--set {key}: a training key; rsbench eval changes only how the model is "
                              f"evaluated ({allowed}); train another model with rsbench run")


def training_identity(config: dict[str, Any]) -> dict[str, Any]:
    """The resolved ``config`` without its evaluation-side keys (and seed, paths, device): two configs with the
    same training identity and seed train the same model."""
    from rsbench.results.leaderboard import config_identity

    identity = config_identity(config)
    for section in EVAL_SECTIONS:
        identity.pop(section, None)
    for key in EVAL_KEYS:
        section, _, leaf = key.partition(".")
        if leaf and isinstance(identity.get(section), dict):
            identity[section] = {k: v for k, v in identity[section].items() if k != leaf}
    return identity


def training_digest(config: dict[str, Any], weights: str | None, seed: int) -> str:
    """A short digest of the training identity, the backbone weights' digest and the seed."""
    payload = {"training": training_identity(config), "weights": weights, "seed": seed}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
