"""A sweep file and the runs it stands for: a base config varied over a grid, zipped lists and variants, minus
exclusions, times seeds, with an optional learning-rate (or any key) search on val per variant.

The file is YAML::

    name: synthrs-methods            # default: the file's stem
    base: ../quickstart.yaml         # a config file (relative to this file) or a mapping, as for --config
    set: {train.epochs: 12}          # dotted overrides on the base
    variants:                        # one axis: each entry a set of dotted overrides (a method, say)
      - {adapter.name: focus, sampler.name: queue, augmenter.name: scene}
      - {adapter.name: full, tune: {grid: {train.lr: [2e-5, 1e-4, 5e-4]}}}   # its own tuning grid
    grid: {backbone.name: [ViT-B-32, ViT-B-16]}     # Cartesian product with everything else
    zip: {sampler.queue_factor: [0, 2, 4], train.batch_size: [64, 64, 32]}   # varied together: one axis
    exclude: [{adapter.name: full, backbone.name: ViT-B-16}]   # drop runs matching every key of an entry
    seeds: [0, 1, 2]
    tune:                            # per run: choose these keys on val first, with one seed
      grid: {train.lr: [2e-4, 1e-3, 5e-3]}   # a variant's own tune.grid replaces it for that variant
      seed: 0                        # default: the first seed; or seeds: [0, 1] to choose on their mean
      metric: mR                     # a key of the validation history; higher is better

Each run's identity is its resolved config minus seed, paths and device (the leaderboard's own
``config_identity``) plus the digest of its weights where they are a local or shipped file, so a
record already in the results directory marks its (config, seed) as done, and re-made weights never do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rsbench.config import RunConfig, build_config, dotted_layer, load_yaml, merge
from rsbench.errors import ConfigError

SWEEP_KEYS = frozenset({"name", "base", "set", "variants", "grid", "zip", "exclude", "seeds", "tune"})
TUNE_KEYS = frozenset({"grid", "seed", "seeds", "metric", "results_dir"})


@dataclass(frozen=True)
class PlannedRun:
    """One (config, seed) of a sweep: the values it varies, its resolved config and its identity."""

    varied: dict[str, Any]
    config: RunConfig
    config_id: str

    @property
    def seed(self) -> int:
        return self.config.seed

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.varied.items()) or "(base)"


@dataclass
class Tuning:
    """The keys chosen on val per variant before the seeds run: their grid, the seeds that tune (the choice is
    the best mean over them) and the metric."""

    grid: dict[str, list[Any]]
    seeds: list[int]
    metric: str = "mR"
    results_dir: str | None = None

    @property
    def seed(self) -> int:
        """The first tuning seed: its run of the first grid value tells whether a variant trains at all."""
        return self.seeds[0]

    def points(self) -> list[dict[str, Any]]:
        return axis_points(self.grid, "tune.grid")


@dataclass
class Sweep:
    """A parsed sweep file: the layer every run starts from, the axes, exclusions, seeds and tuning."""

    name: str
    base: dict[str, Any]
    axes: list[list[dict[str, Any]]]
    exclude: list[dict[str, Any]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0])
    tune: Tuning | None = None
    axis_names: list[str] = field(default_factory=list)  # what the file calls each axis: variants, zip, grid
    only: dict[str, set[str]] = field(default_factory=dict)  # --only: key -> the values kept (as spelt)
    # variants with a tuning grid of their own: (the variant's overrides, its grid); a point of that variant tunes
    # over its grid instead of tune.grid
    variant_grids: list[tuple[dict[str, Any], dict[str, list[Any]]]] = field(default_factory=list)

    def points(self) -> list[dict[str, Any]]:
        """Every combination of the axes (dotted key -> value), exclusions removed, ``only`` kept, in file order."""
        return list(self._iter_points())

    def _iter_points(self) -> Iterator[dict[str, Any]]:
        for parts in itertools.product(*self.axes) if self.axes else [()]:
            varied: dict[str, Any] = {}
            for part in parts:
                varied.update(part)
            if any(all(varied.get(k, _MISSING) == v for k, v in rule.items()) for rule in self.exclude):
                continue
            if all(spelt(varied.get(k, _MISSING)) in values for k, values in self.only.items()):
                yield varied

    def tuning_points(self, point: dict[str, Any]) -> list[dict[str, Any]]:
        """The values tuning tries for ``point``: its variant's own grid where it has one, else ``tune.grid``;
        none without a ``tune`` section."""
        if self.tune is None:
            return []
        for overrides, grid in self.variant_grids:
            if all(point.get(key, _MISSING) == value for key, value in overrides.items()):
                return axis_points(grid, "tune.grid")
        return self.tune.points()

    def tuned_keys(self, point: dict[str, Any]) -> list[str]:
        """The keys tuning chooses for ``point``."""
        return list(self.tuning_points(point)[0]) if self.tune is not None else []

    def swept_keys(self) -> dict[str, str]:
        """Every dotted key the sweep varies, with the axis that varies it (``seed`` is the ``seeds`` axis)."""
        keys = {key: name for axis, name in zip(self.axes, self.axis_names, strict=True)
                for entry in axis for key in entry}
        keys.update({key: "tune.grid" for grid in self._grids() for key in grid})
        return {**keys, "seed": "seeds"}

    def select(self, only: list[str], seeds: list[int] | None) -> Sweep:
        """The sweep restricted to the points whose values match ``only`` (``KEY=VALUE``; one key given twice
        means either value) and run over ``seeds`` instead of the file's (``--only``, ``--seeds``)."""
        wanted: dict[str, set[str]] = {}
        for item in only:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--only expects KEY=VALUE (e.g. adapter.name=focus), got '{item}'")
            wanted.setdefault(key.strip(), set()).add(spelt(_parse_value(value)))
        points = self.points()
        axis_keys = {key for key, axis in self.swept_keys().items() if axis not in ("seeds", "tune.grid")}
        for key, values in wanted.items():
            if key not in axis_keys:
                raise ConfigError(f"--only {key}: sweep {self.name} does not vary {key}; it varies "
                                  f"{', '.join(sorted(axis_keys)) or 'nothing (one run per seed)'}")
            known = {spelt(p[key]) for p in points if key in p}
            if values - known:
                raise ConfigError(f"--only {key}={sorted(values - known)[0]}: not a value sweep {self.name} gives "
                                  f"{key}; its values are {', '.join(sorted(known))}")
        selected = dataclasses.replace(self, only={**self.only, **wanted},
                                       seeds=_seeds(list(seeds), "--seeds") if seeds is not None else self.seeds)
        if not selected.points():
            raise ConfigError(f"--only {' '.join(only)}: no run of sweep {self.name} has all these values "
                              f"(its exclusions remove them)")
        tune = self.tune
        if tune is not None and seeds is not None:  # tune with seeds that run
            kept = [seed for seed in tune.seeds if seed in selected.seeds] or [selected.seeds[0]]
            selected.tune = dataclasses.replace(tune, seeds=kept)
        return selected

    def runs_beyond(self, limit: int) -> int | None:
        """The number of runs the sweep plans (every point: each tuning value, then each seed) when it is more
        than ``limit``, else None; counted without building a config, and without listing more than ``limit``
        points, so that a grid of millions is refused at once."""
        most = max((len(axis_points(grid, "tune.grid")) for grid in self._grids()), default=0)
        per_point = len(self.seeds) + most * (len(self.tune.seeds) if self.tune is not None else 0)
        bound = per_point * math.prod(len(axis) for axis in self.axes)
        if bound <= limit:
            return None
        count = 0
        for _ in itertools.islice(self._iter_points(), limit // per_point + 1):
            count += per_point
        return bound if count > limit else None

    def _grids(self) -> list[dict[str, list[Any]]]:
        """tune.grid and every variant's own grid."""
        return [self.tune.grid, *(grid for _, grid in self.variant_grids)] if self.tune is not None else []

    def check_sets(self, sets: list[str]) -> None:
        """Refuse a ``--set`` of a key the sweep varies: it would make every run of that axis the same run
        while the plan still showed the file's values. Select values with ``--only`` or ``--seeds`` instead."""
        swept = self.swept_keys()
        for item in sets:
            key = item.partition("=")[0].strip()
            if key == "seeds":
                raise ConfigError("--set seeds=...: a sweep's seeds are chosen with --seeds 0,1 (or the file's seeds)")
            for axis_key, axis in swept.items():
                if key == axis_key or axis_key.startswith(key + ".") or key.startswith(axis_key + "."):
                    if axis == "seeds":
                        raise ConfigError(f"--set {key}: a sweep runs each of its seeds; choose them with --seeds 0,1")
                    raise ConfigError(f"--set {key}: sweep {self.name} varies {axis_key} (its {axis} axis), so a "
                                      f"--set would replace every value the plan shows; choose runs with "
                                      f"--only {axis_key}=VALUE, or edit the sweep file")

    def run(self, varied: dict[str, Any], seed: int, sets: list[str] | None = None) -> PlannedRun:
        """The run of one combination and seed; ``sets`` are the command line's ``--set`` (applied last)."""
        from rsbench.retrieval.rerankers.base import check_score_kind

        layer = merge(merge(self.base, dotted_layer(varied)), {"seed": seed})
        try:
            cfg = build_config(None, layer, list(sets or []))
            # a reranker on scores it is not defined on: refused when the sweep is planned, not after other runs
            check_score_kind(cfg.build("strategy"), cfg.build("reranker"), (cfg.name("strategy"), cfg.name("reranker")))
        except ConfigError as exc:
            raise ConfigError(f"sweep {self.name}, run {varied or '(base)'}: {exc}") from exc
        return PlannedRun(varied, cfg, config_id(cfg))


class _Missing:
    def __repr__(self) -> str:
        return "(unset)"


_MISSING = _Missing()


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return text.strip()


def spelt(value: Any) -> str:
    """A value as ``--only`` compares it: YAML's spelling, so 0.001, 1.0e-3 and a file's ``1e-3`` all match."""
    if isinstance(value, str):
        try:
            value = float(value) if any(c.isdigit() for c in value) else value
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value


def axis_points(grid: Any, where: str) -> list[dict[str, Any]]:
    """The Cartesian product of ``{key: [values]}`` as a list of ``{key: value}``."""
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"{where} must be a mapping of dotted keys to lists of values, got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}.{key} must be a non-empty list of values, got {values!r}")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def _zip_points(zipped: Any) -> list[dict[str, Any]]:
    if not isinstance(zipped, dict) or not zipped:
        raise ConfigError(f"zip must be a mapping of dotted keys to lists of equal length, got {zipped!r}")
    lengths = {key: len(values) if isinstance(values, list) else -1 for key, values in zipped.items()}
    if len(set(lengths.values())) != 1 or -1 in lengths.values() or 0 in lengths.values():
        raise ConfigError(f"zip lists must be non-empty lists of one length, got lengths {lengths}")
    return [dict(zip(zipped, values, strict=True)) for values in zip(*zipped.values(), strict=True)]


def _variants(variants: Any) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, list[Any]]]]]:
    """The variants' overrides, and the tuning grids some of them give (``tune: {grid: {...}}`` in an entry)."""
    if not isinstance(variants, list) or not variants or not all(isinstance(v, dict) for v in variants):
        raise ConfigError(f"variants must be a non-empty list of mappings of dotted keys, got {variants!r}")
    entries, grids = [], []
    for n, variant in enumerate(variants):
        entry = dict(variant)
        if "tune" in entry:
            tune = entry.pop("tune")
            if not isinstance(tune, dict) or set(tune) != {"grid"}:
                raise ConfigError(f"variants[{n}].tune must be a mapping with grid alone (seed and metric are the "
                                  f"sweep's tune section's), got {tune!r}")
            axis_points(tune["grid"], f"variants[{n}].tune.grid")
            if not entry:
                raise ConfigError(f"variants[{n}] gives a tuning grid but no overrides: which variant is it?")
            grids.append((entry, tune["grid"]))
        entries.append(entry)
    return entries, grids


def _seeds(seeds: Any, where: str = "seeds") -> list[int]:
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           and s >= 0 for s in seeds):
        raise ConfigError(f"{where} must be a non-empty list of integers >= 0, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where} repeat a value: {seeds}")
    return list(seeds)


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file (see the module text); every run's config is validated at planning."""
    path = Path(path)
    raw = load_yaml(path)
    unknown = set(raw) - SWEEP_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown sweep keys {sorted(unknown)}; valid keys are {sorted(SWEEP_KEYS)}")
    base = raw.get("base", {})
    if isinstance(base, str):
        base = load_yaml(path.parent / base)
    elif not isinstance(base, dict):
        raise ConfigError(f"{path}: base must be a config file path or a mapping, got {type(base).__name__}")
    overrides = raw.get("set", {})
    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: set must be a mapping of dotted keys to values, got {overrides!r}")
    base = merge(base, dotted_layer(overrides))
    axes, names, variant_grids = [], [], []
    if "variants" in raw:
        variants, variant_grids = _variants(raw["variants"])
        axes.append(variants)
        names.append("variants")
    if "zip" in raw:
        axes.append(_zip_points(raw["zip"]))
        names.append("zip")
    if "grid" in raw:
        axes.extend([[{key: value} for value in values] for key, values in _grid_axes(raw["grid"]).items()])
        names.extend(["grid"] * len(raw["grid"]))
    exclude = raw.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(rule, dict) and rule for rule in exclude):
        raise ConfigError(f"{path}: exclude must be a list of non-empty mappings, got {exclude!r}")
    seeds = _seeds(raw.get("seeds", [0]))
    tuning = _tuning(raw.get("tune"), seeds)
    if variant_grids and tuning is None:
        raise ConfigError(f"{path}: a variant gives its own tune.grid, but the sweep has no tune section (its grid, "
                          f"seed and metric); add one")
    sweep = Sweep(str(raw.get("name") or path.stem), base, axes, exclude, seeds, tuning, names,
                  variant_grids=variant_grids)
    if not sweep.points():
        raise ConfigError(f"{path}: the exclusions remove every run")
    return sweep


def _grid_axes(grid: Any) -> dict[str, list[Any]]:
    axis_points(grid, "grid")  # checks the shape
    return grid


def _tuning(raw: Any, seeds: list[int]) -> Tuning | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - TUNE_KEYS or "grid" not in raw:
        raise ConfigError(f"tune must be a mapping with grid (and optionally {sorted(TUNE_KEYS - {'grid'})}), "
                          f"got {raw!r}")
    if "seed" in raw and "seeds" in raw:
        raise ConfigError("tune: give seed (one) or seeds (a list), not both")
    if "seeds" in raw:
        tune_seeds = _seeds(raw["seeds"], "tune.seeds")
    else:
        seed = raw.get("seed", seeds[0])
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"tune.seed must be an integer >= 0, got {seed!r}")
        tune_seeds = [seed]
    tuning = Tuning(raw["grid"], tune_seeds, str(raw.get("metric", "mR")), raw.get("results_dir"))
    tuning.points()
    return tuning


@cache
def weights_digest(backbone: str, pretrained: str | None) -> str | None:
    """SHA-256 of a backbone's weights when they are a shipped or local file (None for hub tags, random init);
    read once per process for each (backbone, pretrained)."""
    from rsbench.models.backbones.config import canonical_model_name, looks_like_path, shipped_weights
    from rsbench.safe_load import file_sha256

    if not pretrained:
        return None
    shipped = shipped_weights(canonical_model_name(backbone), pretrained)
    if shipped is not None:
        return file_sha256(shipped)
    local = Path(pretrained).expanduser()
    return file_sha256(local) if looks_like_path(pretrained) and local.is_file() else None


def config_id(cfg: RunConfig) -> str:
    """The identity of a run without its seed: config identity plus weights digest, as a short hex digest."""
    return identity_digest(cfg.to_dict(), weights_digest(cfg.name("backbone"), cfg.options("backbone").pretrained))


def identity_digest(config: dict[str, Any], weights: str | None) -> str:
    from rsbench.results.leaderboard import config_identity

    payload = {"config": config_identity(config), "weights": weights}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def record_ids(record: dict[str, Any]) -> set[str]:
    """The ``config_id`` a planned run has when ``record`` is its: with the record's weights digest (for runs
    whose weights are a file, so re-made weights never match) and without (for hub tags, digested on load)."""
    config = record["config"]
    return {identity_digest(config, record["backbone"].get("weights_sha256")), identity_digest(config, None)}
