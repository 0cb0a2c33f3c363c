"""Whether a leaderboard row can be read against the published figure it matches, and if not, why.

``published.py`` matches a row to a paper's row by what the method is (dataset, backbone name, method sections).
That says which figure to look at, not that the two numbers measure the same thing: a run from random weights, on
a 60-image folder named like RSITMD, or stopped after 2 steps, has the paper's method and none of its setting.
The reasons returned here are what the leaderboard prints beside the figure ("not comparable: ..."); a row with
none is comparable as far as the record can tell.
"""

from __future__ import annotations

from typing import Any

from rsbench.results.published import paper_setting


def _train(config: dict) -> dict:
    train = config.get("train")
    return train if isinstance(train, dict) else {}


def weight_reason(record: dict, setting: dict) -> str | None:
    """Why the record's backbone weights are not the paper's, or None."""
    backbone = record.get("backbone") or {}
    name = str(backbone.get("name") or "").replace("/", "-")
    pretrained = backbone.get("pretrained")
    weights = setting.get("weights") or {}
    expected = weights.get(name, weights.get("default"))
    if not pretrained:
        return "random init"
    if expected is None:  # the paper does not say which weights: any pretrained tag is accepted
        return None
    if str(pretrained) != expected:
        return f"weights {pretrained} (paper: {expected} CLIP)"
    return None


def data_reasons(record: dict, setting: dict) -> list[str]:
    """Why the record's dataset is not the paper's: its split sizes against the published ones."""
    dataset = record.get("dataset") or {}
    if dataset.get("synthetic"):
        return ["synthetic data"]
    published = (setting.get("datasets") or {}).get(str(dataset.get("name")))
    sizes = dataset.get("split_sizes")
    if not published or not isinstance(sizes, dict):
        return [] if published is None else ["split sizes not recorded"]
    splits = published["split_images"]
    if all(sizes.get(split) == expected for split, expected in splits.items()):
        return []
    images = sum(v for v in sizes.values() if isinstance(v, int))
    ours = "/".join(f"{sizes.get(split, '?'):,}" if isinstance(sizes.get(split), int) else "?" for split in splits)
    paper = "/".join(f"{expected:,}" for expected in splits.values())
    return [f"{images:,} of {published['images']:,} images ({'/'.join(splits)} {ours}, paper {paper})"]


def training_reasons(config: dict, setting: dict) -> list[str]:
    """Why the record's training is not the paper's: stopped early, fewer epochs, another batch or caption count."""
    train = _train(config)
    reasons = []
    if train.get("max_steps") is not None:
        reasons.append(f"{train['max_steps']} steps (train.max_steps)")
    for key, label in (("epochs", "epochs"), ("batch_size", "batch"), ("captions_per_epoch", "captions per epoch")):
        expected, got = setting.get(key), train.get(key)
        if expected is not None and got is not None and got != expected:
            reasons.append(f"{label} {got} (paper {expected})")
    return reasons


def size_reason(row_params: float | None, entry: dict) -> str | None:
    """Why the row's model is not the size the paper lists (more than 5 % off its trainable parameters), or None."""
    paper = entry.get("trainable_params_m")
    if row_params is None or paper is None or row_params != row_params:  # NaN: not measured
        return None
    ours = row_params / 1e6
    if abs(ours - paper) > 0.05 * paper:
        return f"{ours:.2f} M trainable params (paper {paper:.2f} M)"
    return None


def comparability(record: dict, entry: dict, row_params: float | None = None) -> list[str]:
    """Every reason the record cannot be compared with the published ``entry`` it matches; [] when it can."""
    setting = paper_setting(entry["paper"])
    reasons = []
    weights = weight_reason(record, setting)
    if weights:
        reasons.append(weights)
    reasons += data_reasons(record, setting)
    reasons += training_reasons(record.get("config") or {}, setting)
    size = size_reason(row_params, entry)
    if size:
        reasons.append(size)
    if record.get("selected_on") not in (None, "val"):
        reasons.append(f"selected on {record['selected_on']} (paper: val)")
    return reasons


def comparability_note(reasons: list[str]) -> str:
    """What the leaderboard prints after the paper's figure."""
    return "comparable" if not reasons else "not comparable: " + " / ".join(reasons)


def scene_note(config: dict[str, Any]) -> str | None:
    """The assumption behind a scene-prompt row's match: the paper does not say where a query's scene comes from."""
    augmenter = config.get("augmenter")
    if isinstance(augmenter, dict) and augmenter.get("name") == "scene":
        return f"query scene {augmenter.get('at_eval') or 'oracle'}: not stated by the paper"
    return None
