"""The leaderboard: result records grouped by configuration, mean ± std over seeds, with costs.

Rendered as a rich table, Markdown, CSV and LaTeX by ``rsbench.results.tables``; always from the records,
never edited by hand.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rsbench.errors import RsbenchError
from rsbench.results.comparability import comparability, comparability_note, scene_note
from rsbench.results.published import published_matches
from rsbench.results.record import COST_KEYS, METRIC_KEYS, component_name, method_label


@dataclass(frozen=True)
class MetricInfo:
    """How to read one leaderboard figure: its label, its unit and which direction is better."""

    label: str
    higher_is_better: bool
    unit: str  # "%", "params", "bytes", "pairs/s" or "s"; decides the display format


# Every figure of the leaderboard, accuracy first; the one place that says which way is better.
METRICS: dict[str, MetricInfo] = {
    "i2t_r1": MetricInfo("i2t R@1", True, "%"),
    "i2t_r5": MetricInfo("i2t R@5", True, "%"),
    "i2t_r10": MetricInfo("i2t R@10", True, "%"),
    "t2i_r1": MetricInfo("t2i R@1", True, "%"),
    "t2i_r5": MetricInfo("t2i R@5", True, "%"),
    "t2i_r10": MetricInfo("t2i R@10", True, "%"),
    "mR": MetricInfo("mR", True, "%"),
    "trainable_params": MetricInfo("Trainable params", False, "params"),
    "total_params": MetricInfo("Total params", False, "params"),
    "saved_activation_bytes": MetricInfo("Saved activations", False, "bytes"),
    "peak_memory_bytes": MetricInfo("Peak memory", False, "bytes"),
    "throughput_pairs_per_s": MetricInfo("Throughput (pairs/s)", True, "pairs/s"),
    "train_seconds": MetricInfo("Train time", False, "s"),
}

# Config keys that do not change what is measured: runs differing only in these are seeds of
# one configuration. Dropped at any depth; the dataset's location is replaced by its content hash.
NON_IDENTIFYING_KEYS: frozenset[str] = frozenset(
    {"seed", "device", "results_dir", "output_dir", "out_dir", "checkpoint_dir", "cache_dir", "data_root",
     "dist_backend"}
)
# Training options added after records existed, at the value that trains as before: dropped from the identity,
# so a new record and an older one of the same configuration stay one row.
LATER_TRAIN_DEFAULTS: dict[str, Any] = {"image_augmentation": "backbone", "cache_features": False}
# The same for strategy options (text-to-text's and hybrid's image->text protocol, issue 24).
LATER_STRATEGY_DEFAULTS: dict[str, Any] = {"index_options": {}, "image_queries": "variants",
                                           "query_prompt": "trsllava-query"}
DATASET_LOCATION_KEYS: frozenset[str] = frozenset({"root", "data_root", "path"})

ID_COLUMNS: tuple[str, ...] = (
    "config_id",
    "method",
    "epochs",
    "lr",
    "lr_chosen",
    "dataset",
    "synthetic",
    "backbone",
    "selected_on",
    "n",
    "seeds",
)
# Recall within the size groups a dataset defines (SynthRS: objects described small or large).
SIZE_GROUPS: tuple[str, ...] = ("small", "large")
SIZE_RECALLS: tuple[str, ...] = ("i2t_r1", "i2t_r10", "t2i_r1", "t2i_r10")
SIZE_COLUMNS: tuple[str, ...] = tuple(f"{g}_{k}" for g in SIZE_GROUPS for k in SIZE_RECALLS)
COLUMNS: tuple[str, ...] = (
    ID_COLUMNS
    + tuple(f"{k}_{stat}" for k in METRIC_KEYS for stat in ("mean", "std"))
    + tuple(f"{k}_{stat}" for k in SIZE_COLUMNS for stat in ("mean", "std"))
    + tuple(f"{k}_mean" for k in COST_KEYS)
    + ("paper_mR", "paper", "paper_comparable", "paper_note", "pareto", "run_ids")
)
BUILTIN_PROVIDER = "rsbench.builtin"


def config_identity(config: dict) -> dict:
    """The part of a resolved config that defines a configuration (seed, device, paths removed)."""

    def strip(value: Any, parent: str | None) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v, k)
                for k, v in value.items()
                if k not in NON_IDENTIFYING_KEYS and not (parent == "dataset" and k in DATASET_LOCATION_KEYS)
            }
        if isinstance(value, list | tuple):
            return [strip(v, None) for v in value]
        return value

    identity = strip(config, None)
    if component_name(identity.get("reranker")) == "none":
        identity.pop("reranker")  # no reranker: the same configuration as a record from before rerankers existed
    strategy = identity.get("strategy")
    if isinstance(strategy, dict):  # options added later, at the value that retrieves as before
        identity["strategy"] = {k: v for k, v in strategy.items() if LATER_STRATEGY_DEFAULTS.get(k, object()) != v}
    reranker = identity.get("reranker")
    if component_name(reranker) == "qb-norm" and isinstance(reranker, dict) and reranker.get("k", 1) == 1 \
            and reranker.get("activation") == "top1":
        # added later; at k = 1 both activations normalise the same queries (at k > 1 the default changed, and
        # an older record, made with the whole-top-k test, is another configuration)
        identity["reranker"] = {k: v for k, v in reranker.items() if k != "activation"}
    train = identity.get("train")
    if isinstance(train, dict):
        identity["train"] = {k: v for k, v in train.items() if LATER_TRAIN_DEFAULTS.get(k, object()) != v}
    return identity


def group_key(record: dict) -> str:
    """Hex digest identifying a record's configuration: config identity, dataset content, selection split."""
    identity = {
        "config": config_identity(record["config"]),
        "dataset_hash": record["dataset"].get("content_hash"),
        "selected_on": record["selected_on"],
    }
    weights = record["backbone"].get("weights_sha256")
    if weights:  # the same tag with other weights (a re-made `synthetic`) is another configuration
        identity["weights"] = weights
    providers = third_party_providers(record)
    if providers:  # two versions of a plugin's loss are two configurations
        identity["providers"] = providers
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def third_party_providers(record: dict) -> dict[str, list]:
    """``section -> [plugin, version]`` for the components a record says came from a third-party plugin.

    Built-in components are left out, so rows of one configuration stay together across rsbench
    versions (records carry ``rsbench_version`` for that), and older records without
    ``components`` group as before.
    """
    components = record.get("components")
    if not isinstance(components, dict):
        return {}
    out = {}
    for section, info in sorted(components.items()):
        if isinstance(info, dict) and info.get("provider") not in (None, BUILTIN_PROVIDER, "open_clip"):
            out[section] = [info.get("provider"), info.get("version")]
    return out


def provider_label(record: dict) -> str:
    """`` [plugin version, ...]`` naming the third-party plugins (and their versions) behind a record's components,
    so two versions of a plugin's component, which are two rows, read as two; empty for built-ins only."""
    plugins = sorted({(str(p), str(v)) for p, v in third_party_providers(record).values()})
    return f" [{', '.join(f'{p} {v}' for p, v in plugins)}]" if plugins else ""


def one_per_seed(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Keep the newest record of each (configuration, seed); return (kept, repeats left out).

    Re-running a configuration with a seed it already has measures nothing new: counting both
    would inflate n and shrink the std. ``records`` is oldest first, as ``load_records`` gives it.
    A record that evaluates its own parent's model in the parent's own setting (``rsbench eval --model`` with
    nothing changed) restates the parent's figures: the parent is kept, and the copy is no repeat to warn of.
    """
    newest: dict[tuple[str, Any], dict] = {}
    restated: set[int] = set()
    for record in records:
        key = (group_key(record), record["seed"])
        parent = record.get("parent_run_id")
        if parent is not None and key in newest and newest[key]["run_id"] == parent:
            restated.add(id(record))
            continue
        newest[key] = record
    kept_ids = {id(r) for r in newest.values()}
    kept = [r for r in records if id(r) in kept_ids]
    repeats = [r for r in records if id(r) not in kept_ids and id(r) not in restated]
    return kept, repeats


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is missing, not a number, NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def train_epochs(config: dict) -> int | None:
    """``train.epochs`` of a record's config, or None for a record without it (nothing trained, or older)."""
    train = config.get("train")
    epochs = train.get("epochs") if isinstance(train, dict) else None
    return epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None


def train_lr(config: dict) -> float | None:
    """``train.lr`` of a record's config as a float, or None for a record without one (or not a finite number)."""
    train = config.get("train")
    return _number(train.get("lr")) if isinstance(train, dict) else None


def lr_text(value: Any) -> str:
    """A learning rate as the tables show it, compactly (5e-3 -> 0.005, 2e-4 -> 0.0002); a dash where there is none."""
    number = _number(value)
    return "–" if number is None else format(number, "g")


def record_method(record: dict) -> str:
    """The leaderboard's method label of a record: adapter/sampler/augmenter (+ strategy, scene, providers)."""
    return method_label(record["config"], record["dataset"].get("scene_at_eval")) + provider_label(record)


def _cost(record: dict, key: str) -> float | None:
    """A record's cost figure, or None where it was not measured. A CPU peak of 0 for a run that trained is read
    as unmeasured: before ``rsbench.rss``, the CPU peak was the growth of the process's lifetime peak, so every
    training after a bigger one in the same process (a sweep's second run) recorded 0."""
    value = _number(record["cost"].get(key))
    if key == "peak_memory_bytes" and value == 0 and (_number(record["cost"].get("train_seconds")) or 0) > 0:
        return None
    return value


def chosen_rates(records: list[dict]) -> dict[tuple[str, str], float]:
    """(dataset, method) -> the learning rate its newest tuned record chose (a sweep's ``extra.sweep.tuned.chosen``).

    A sweep that tunes ``train.lr`` writes its choice into every seed record; when a grid is widened and swept
    again, the newest choice is the method's rate, and rows at the rates earlier grids chose stay as records."""
    newest: dict[tuple[str, str], tuple[str, float]] = {}
    for record in records:
        tuned = ((record.get("extra") or {}).get("sweep") or {}).get("tuned") or {}
        lr = _number((tuned.get("chosen") or {}).get("train.lr"))
        if lr is None:
            continue
        key = (str(record["dataset"].get("name")), record_method(record))
        stamp = str(record.get("created_at", ""))
        if key not in newest or stamp > newest[key][0]:
            newest[key] = (stamp, lr)
    return {key: lr for key, (_, lr) in newest.items()}


def backbone_label(backbone: dict) -> str:
    name = component_name(backbone) or "?"
    pretrained = backbone.get("pretrained")
    return f"{name} ({pretrained})" if pretrained else f"{name} (random init)"  # a measure of another thing


def leaderboard(records: list[dict]) -> pd.DataFrame:
    """One row per configuration: n seeds, mean and sample std (ddof 1; NaN for n = 1) of every
    metric, mean of every cost, and whether the row is on its dataset's mR / trainable-params
    Pareto front. Sorted by dataset, then mR (best first).
    """
    records, _ = one_per_seed(records)
    chosen = chosen_rates(records)
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(group_key(record), []).append(record)

    rows = []
    for key, members in groups.items():
        first = members[0]
        trains_nothing = (first.get("cost") or {}).get("trainable_params") == 0
        row: dict[str, Any] = {
            "config_id": key[:10],
            "method": record_method(first),
            # part of the identity: one value per row; none for a row that trained nothing (frozen, zero-shot)
            "epochs": None if trains_nothing else train_epochs(first["config"]),
            # the same for the learning rate: rows of one method at one epochs can differ in it alone (an lr sweep)
            "lr": None if trains_nothing else train_lr(first["config"]),
            "dataset": str(first["dataset"].get("name")),
            "synthetic": bool(first["dataset"].get("synthetic")),
            "backbone": backbone_label(first["backbone"]),
            "selected_on": first["selected_on"],
            "n": len(members),
            "seeds": ",".join(str(s) for s in sorted(r["seed"] for r in members)),
            "run_ids": ",".join(r["run_id"] for r in members),
        }
        for k in METRIC_KEYS:
            values = [float(r["metrics"][k]) for r in members]
            row[f"{k}_mean"] = statistics.fmean(values)
            row[f"{k}_std"] = statistics.stdev(values) if len(values) > 1 else math.nan
        for group in SIZE_GROUPS:
            for k in SIZE_RECALLS:
                values = [v for r in members if (v := _number(_size_recall(r, group, k))) is not None]
                row[f"{group}_{k}_mean"] = statistics.fmean(values) if values else math.nan
                row[f"{group}_{k}_std"] = statistics.stdev(values) if len(values) > 1 else math.nan
        for k in COST_KEYS:
            values = [v for r in members if (v := _cost(r, k)) is not None]
            row[f"{k}_mean"] = statistics.fmean(values) if values else math.nan
        row.update(paper_columns(first, row["dataset"], row["trainable_params_mean"]))
        # false for a row at a rate its method's newest learning-rate tuning did not choose (an earlier grid's)
        row["lr_chosen"] = row["lr"] is None or chosen.get((row["dataset"], row["method"])) in (None, row["lr"])
        rows.append(row)

    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "pareto"])
    if df.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    df["epochs"] = df["epochs"].astype("Int64")  # whole numbers, <NA> where a record has none
    df["lr"] = df["lr"].astype("Float64")  # <NA> where nothing trains or the config has no train.lr
    df = df.sort_values(["dataset", "mR_mean"], ascending=[True, False], kind="stable").reset_index(drop=True)
    df.insert(len(df.columns) - 1, "pareto", df.index.isin(pareto_front(df).index))
    return df


def paper_columns(record: dict, dataset: str, trainable_params: float | None) -> dict[str, Any]:
    """The published mR a record's configuration matches, where it is from, and whether it can be compared.

    ``paper_note`` says "comparable" or "not comparable: random init / 60 of 4,743 images / ..." (every reason
    ``comparability`` finds), and for a scene-prompt row where its queries' scene came from, which the paper
    does not say. A row without a published match has NaN, "" and None.
    """
    matches = published_matches(record["config"], dataset)
    if not matches:
        return {"paper_mR": math.nan, "paper": "", "paper_comparable": None, "paper_note": ""}
    reasons = comparability(record, matches[0], trainable_params)
    notes = [comparability_note(reasons)]
    scene = scene_note(record["config"])
    if scene:
        notes.append(scene)
    return {
        "paper_mR": float(matches[0]["metrics"]["mR"]),
        "paper": ", ".join(f"{m['paper']} T{m['table']}" for m in matches),
        "paper_comparable": not reasons,
        "paper_note": "; ".join(notes),
    }


def _size_recall(record: dict, group: str, key: str) -> Any:
    by_size = record["metrics"].get("by_object_size")
    per_group = by_size.get(group) if isinstance(by_size, dict) else None
    return per_group.get(key) if isinstance(per_group, dict) else None


def pareto_front(
    df: pd.DataFrame, accuracy: str = "mR", cost: str = "trainable_params", by: tuple[str, ...] = ("dataset",)
) -> pd.DataFrame:
    """The rows no other row (in the same ``by`` group) beats on both ``accuracy`` and ``cost``.

    Directions come from METRICS (mR: higher is better; trainable params: lower). A row with a
    missing value in either is never on the front. Equal rows do not dominate each other.
    """
    acc_col, cost_col = _figure_column(df, accuracy), _figure_column(df, cost)
    acc_sign = 1.0 if METRICS[accuracy].higher_is_better else -1.0
    cost_sign = 1.0 if METRICS[cost].higher_is_better else -1.0
    front: list[Any] = []
    groups = df.groupby(list(by), sort=False, dropna=False) if by else [(None, df)]
    for _, group in groups:
        # Turn both figures into "bigger is better" scores, then keep rows nobody dominates.
        points = [
            (idx, acc_sign * float(a), cost_sign * float(c))
            for idx, a, c in zip(group.index, group[acc_col], group[cost_col], strict=True)
            if not (math.isnan(float(a)) or math.isnan(float(c)))
        ]
        for idx, a, c in points:
            dominated = any(a2 >= a and c2 >= c and (a2 > a or c2 > c) for _, a2, c2 in points)
            if not dominated:
                front.append(idx)
    return df.loc[[i for i in df.index if i in set(front)]]


def leaderboard_rows(df: pd.DataFrame) -> list[dict]:
    """The rows as plain JSON-ready dicts (NaN → None), for ``--json``."""
    rows = []
    for row in df.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if hasattr(value, "item"):  # numpy scalar
                value = value.item()
            if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                value = None
            clean[key] = value
        rows.append(clean)
    return rows


def format_figure(key: str, mean: float, std: float = math.nan) -> str:
    """``mean ± std`` with 2 decimals in the figure's unit; just the mean when std is unknown."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    unit = METRICS[key].unit
    scale, suffix = 1.0, ""
    if unit == "params":
        scale, suffix = 1e6, " M"
    elif unit == "bytes":
        scale, suffix = (2**30, " GiB") if mean >= 2**30 else (2**20, " MiB")
    elif unit == "s":
        suffix = " s"
    text = f"{mean / scale:.2f}"
    if std is not None and not math.isnan(std):
        text += f" ± {std / scale:.2f}"
    return text + suffix


def _figure_column(df: pd.DataFrame, key: str) -> str:
    if key not in METRICS:
        raise RsbenchError(f"unknown leaderboard figure {key!r}; known: {', '.join(METRICS)}")
    return f"{key}_mean"
