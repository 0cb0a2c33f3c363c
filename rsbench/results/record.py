"""The result record: one JSON file per run and seed, written once and atomically, never edited.

Every leaderboard table is rendered from these files (schema: DESIGN.md, "The result record").
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import re
import subprocess
import uuid
import warnings
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import rsbench
from rsbench.atomic import write_text_atomically
from rsbench.errors import RsbenchError
from rsbench.safe_load import ArtefactError, read_json

METRIC_KEYS: tuple[str, ...] = ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR")
COST_KEYS: tuple[str, ...] = (
    "trainable_params",
    "total_params",
    "saved_activation_bytes",
    "peak_memory_bytes",
    "throughput_pairs_per_s",
    "train_seconds",
)
DATASET_KEYS: tuple[str, ...] = ("name", "synthetic", "content_hash", "split_sizes", "scene_at_eval")
BACKBONE_KEYS: tuple[str, ...] = ("name", "pretrained")
SELECTED_ON: tuple[str | None, ...] = ("val", "test", None)  # None: a run that selected nothing (trained nothing)
# Keys a record must have for the leaderboard to use it.
RECORD_KEYS: tuple[str, ...] = (
    "run_id",
    "created_at",
    "rsbench_version",
    "git_sha",
    "seed",
    "selected_on",
    "config",
    "dataset",
    "backbone",
    "metrics",
    "cost",
    "env",
)
# The record layout's version: a reader refuses records of a newer one and migrates older ones (a record without
# the field is version 0, which differs from 1 only by lacking it).
SCHEMA_VERSION = 1
MAX_RECORD_BYTES = 64 << 20  # a record with a long training history is well under 1 MiB
# A strategy other than this one is shown in the method label.
DEFAULT_STRATEGIES: frozenset[str] = frozenset({"dual_stream", "dual-stream"})


class SkippedRecordWarning(UserWarning):
    """A file in a results directory could not be read as a result record and was skipped."""


def make_record(
    *,
    config: dict,
    seed: int,
    selected_on: str | None,
    dataset: dict,
    backbone: dict,
    metrics: dict,
    cost: dict,
    extra: dict | None = None,
    env: dict | None = None,
    components: dict | None = None,
    parent_run_id: str | None = None,
) -> dict:
    """A complete result record: the caller's parts plus run id, time, versions and git commit.

    ``env`` adds to (and overrides) the detected package versions, e.g. ``{"device": "cuda:0"}``.
    ``components`` says who provided each component: ``{section: {name, provider, version}}``.
    ``parent_run_id`` is the training record's ``run_id`` of a record that only evaluated a trained model
    (``rsbench eval``, a sweep's evaluate-only runs); None for a run that trained, and for a frozen backbone.
    Paths, dataclasses and numpy scalars in the parts are turned into JSON values; the returned
    dict is exactly what ``write_record`` writes and ``load_records`` reads back.
    """
    if not isinstance(config, dict):
        raise RsbenchError(f"a result record needs the resolved config as a dict, got {type(config).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RsbenchError(f"seed must be an int, got {seed!r}")
    if selected_on not in SELECTED_ON:
        raise RsbenchError(f"selected_on must be one of {SELECTED_ON} (the split that chose the checkpoint), "
                           f"got {selected_on!r}")
    _require_keys("dataset", dataset, DATASET_KEYS)
    _require_keys("backbone", backbone, BACKBONE_KEYS)
    _require_keys("metrics", metrics, METRIC_KEYS)
    _require_keys("cost", cost, COST_KEYS)
    if not isinstance(dataset["synthetic"], bool):
        raise RsbenchError(f"dataset.synthetic must be true or false, got {dataset['synthetic']!r}")
    clean_metrics = {key: _percentage(key, metrics[key]) for key in METRIC_KEYS}
    record = {
        **record_header(),
        "parent_run_id": parent_run_id,
        "seed": seed,
        "selected_on": selected_on,
        "config": config,
        "dataset": dataset,
        "backbone": backbone,
        "metrics": clean_metrics | {k: v for k, v in metrics.items() if k not in METRIC_KEYS},
        "cost": cost,
        "env": package_versions() | (env or {}),
        "components": components or {},
        "extra": extra or {},
    }
    try:
        return json.loads(json.dumps(record, default=_to_json_value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RsbenchError(
            f"the result record cannot be written as JSON: {exc} (use None for a value that was not measured)"
        ) from exc


def _percentage(key: str, value: Any) -> float:
    """A recall or mR as a float, refused unless it is a finite percentage."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0.0 <= number <= 100.0):
        raise RsbenchError(f"metric {key} must be a percentage between 0 and 100, got {value!r}")
    return number


def record_header() -> dict[str, Any]:
    """What every record starts with: a fresh run id, the time, the rsbench version and git commit."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "rsbench_version": rsbench.__version__,
        "git_sha": git_sha(),
    }


def git_sha(cwd: Path | None = None) -> str | None:
    """The commit checked out in the repository around ``cwd``, or None outside a git checkout.

    The default is the folder of the rsbench package itself: a record names the code that made
    it, whatever folder the command was started from.
    """
    if cwd is None:
        cwd = Path(rsbench.__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def package_versions() -> dict[str, str | None]:
    """Versions of python, torch and open_clip, read from package metadata (no heavy imports)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for key, dist in (("torch", "torch"), ("open_clip", "open_clip_torch")):
        try:
            versions[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[key] = None
    return versions


def component_name(value: Any) -> str | None:
    """The name of a component as a config holds it: a bare string or a section with a ``name``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        return str(name) if name is not None else None
    return None


SCENE_AT_EVAL: tuple[str, ...] = ("oracle", "predicted", "none")


def method_label(config: dict, scene_at_eval: Any = None) -> str:
    """The training method in a config: ``adapter/sampler/augmenter``, plus ``+strategy`` if not the default
    and ``+rerank:NAME`` when a reranker other than ``none`` rescored the results.

    The scene augmenter says where test queries got their scene label: ``focus/queue/scene@oracle`` (the true
    class of the query's image: an assumption, the CMER paper does not say how its queries were labelled),
    ``@predicted`` or ``@none``. ``scene_at_eval`` is what a record's ``dataset.scene_at_eval`` says happened (a
    dataset without scene labels gives ``none`` whatever was asked); without it the config's ``at_eval`` is used,
    ``oracle`` when a config predates the option. Another augmenter with an ``at_eval`` other than ``oracle`` shows
    it the same way. A config with a captioner names it last (``frozen/batch/none+text-to-text+captions:oracle``):
    the same method over the oracle's captions and over a model's are different rows.
    """
    parts = [component_name(config.get(kind)) or "?" for kind in ("adapter", "sampler", "augmenter")]
    augmenter = config.get("augmenter")
    at_eval = augmenter.get("at_eval") if isinstance(augmenter, dict) else None
    if parts[2] == "scene":
        recorded = scene_at_eval if scene_at_eval in SCENE_AT_EVAL else None
        parts[2] += f"@{recorded or at_eval or 'oracle'}"
    elif at_eval not in (None, "oracle"):
        parts[2] += f"@{at_eval}"
    label = "/".join(parts)
    strategy = component_name(config.get("strategy"))
    if strategy and strategy not in DEFAULT_STRATEGIES:
        label += f"+{strategy}"
    reranker = component_name(config.get("reranker"))
    if reranker and reranker != "none":
        label += f"+rerank:{reranker}"
    captioner = component_name(config.get("captioner"))
    if captioner:
        label += f"+captions:{captioner}"
    return label


def config_label(config: dict) -> str:
    """A short human label for a config, e.g. ``"full/batch/none · rsbench-tiny · synthrs"``."""
    backbone = component_name(config.get("backbone")) or "?"
    dataset = component_name(config.get("dataset")) or "?"
    return f"{method_label(config)} · {backbone} · {dataset}"


def record_filename(record: dict) -> str:
    """``<created_at compact>_<config label>_<seed>_<run_id[:8]>.json``, safe on every filesystem."""
    try:
        created = datetime.fromisoformat(record["created_at"]).astimezone(timezone.utc)
    except (KeyError, TypeError, ValueError) as exc:
        raise RsbenchError(f"record has no valid created_at timestamp: {exc}") from exc
    label = re.sub(r"[^A-Za-z0-9.+-]+", "-", config_label(record["config"])).strip("-")[:60]
    return f"{created:%Y%m%dT%H%M%S}Z_{label}_{record['seed']}_{str(record['run_id'])[:8]}.json"


def write_record(record: dict, results_dir: Path) -> Path:
    """Write ``record`` as a new JSON file in ``results_dir`` and return its path.

    The file appears whole or not at all (temporary file in the same directory, fsync, rename)
    and an existing file is never replaced: a clash raises RsbenchError.
    """
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise RsbenchError(f"not a complete result record (missing {', '.join(missing)}); build it with make_record")
    results_dir = Path(results_dir)
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RsbenchError(f"cannot create results directory {results_dir}: {exc}") from exc
    path = results_dir / record_filename(record)
    text = json.dumps(record, indent=2, allow_nan=False, default=_to_json_value) + "\n"
    write_text_atomically(path, text, overwrite=False)
    return path


def load_records(results_dir: Path, *, problems: list[str] | None = None,
                 newer: list[Path] | None = None) -> list[dict]:
    """All result records (``*.json``) directly in ``results_dir``, oldest first.

    A file that is not valid JSON (or too large or deep to be a record), not a complete record, or repeats a
    run id is skipped; the reason goes to ``problems`` when a list is given, else it is issued as a
    SkippedRecordWarning. A record of a newer ``schema_version`` than this rsbench knows is skipped too, and its
    path also appended to ``newer`` when a list is given (the leaderboard refuses to render without them);
    older ones are migrated. A missing directory is an RsbenchError; an empty one gives an empty list.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise RsbenchError(f"results directory {results_dir} does not exist; run `rsbench run` to create records")

    def skip(path: Path, reason: str) -> None:
        message = f"skipped {path.name}: {reason}"
        if problems is not None:
            problems.append(message)
        else:
            warnings.warn(message, SkippedRecordWarning, stacklevel=3)

    records: list[dict] = []
    seen: dict[str, str] = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            record = read_json(path, "result record", "", max_bytes=MAX_RECORD_BYTES, expect=None)
        except ArtefactError as exc:
            problem = str(exc).removeprefix(f"result record {path} ").rstrip("; ")
            skip(path, f"not readable JSON: it {problem}; a partial write or a hand edit?")
            continue
        reason = _record_problem(record)
        if reason:
            skip(path, reason)
            continue
        if record.get("schema_version", 0) > SCHEMA_VERSION:
            skip(path, f"written by a newer rsbench (record schema {record['schema_version']}, this rsbench reads "
                       f"up to {SCHEMA_VERSION}); upgrade rsbench to read it")
            if newer is not None:
                newer.append(path)
            continue
        if record["run_id"] in seen:
            skip(path, f"run_id {record['run_id']} already read from {seen[record['run_id']]}")
            continue
        seen[record["run_id"]] = path.name
        records.append(migrate_record(record))
    records.sort(key=lambda r: str(r["created_at"]))
    return records


def migrate_record(record: dict) -> dict:
    """``record`` in the current layout: version 0 (no ``schema_version``) only lacks the field."""
    if record.get("schema_version", 0) < SCHEMA_VERSION:
        record = {"schema_version": SCHEMA_VERSION, **{k: v for k, v in record.items() if k != "schema_version"}}
    return record


def _record_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return f"expected a JSON object, found {type(record).__name__}"
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        return f"missing key(s) {', '.join(missing)}"
    for section in ("config", "dataset", "backbone", "metrics", "cost"):
        if not isinstance(record[section], dict):
            return f"{section} is not an object"
    for key in ("run_id", "created_at"):
        if not isinstance(record[key], str) or not record[key]:
            return f"{key} {record[key]!r} is not a non-empty string"
    missing_metrics = [k for k in METRIC_KEYS if not isinstance(record["metrics"].get(k), int | float)]
    if missing_metrics:
        return f"metrics {', '.join(missing_metrics)} missing or not numbers"
    # json reads NaN and Infinity; make_record never writes them, so such a record was edited by hand
    bad = [k for k in METRIC_KEYS if not 0.0 <= float(record["metrics"][k]) <= 100.0]
    if bad:
        return f"metrics {', '.join(bad)} are not percentages between 0 and 100 (NaN or out of range)"
    if isinstance(record["seed"], bool) or not isinstance(record["seed"], int):
        return f"seed {record['seed']!r} is not an integer"
    version = record.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        return f"schema_version {version!r} is not a whole number"
    return None


def _require_keys(section: str, value: Any, keys: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise RsbenchError(f"record section {section!r} must be a dict with keys {', '.join(keys)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise RsbenchError(f"record section {section!r} is missing {', '.join(missing)} (needs {', '.join(keys)})")


def _to_json_value(value: Any) -> Any:
    """JSON stand-ins for the non-JSON values a resolved config or a cost dict tends to hold."""
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serializable")
