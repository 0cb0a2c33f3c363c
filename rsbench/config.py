"""The run configuration: defaults < YAML file < CLI flags < ``--set key=value``, validated.

A config is a nested dict. Component sections (``dataset``, ``backbone``, ``adapter``, ...) hold a
``name`` plus the options of that component's config dataclass (``captioner`` only when a run names one);
``train`` and ``eval`` are fixed dataclasses below. Resolution checks every key and type and returns a
:class:`RunConfig`.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from rsbench.errors import BrokenPluginError, ConfigError, RsbenchError
from rsbench.kinds import KIND_TABLE
from rsbench.options import Options, build_options, coerce, option, unknown_key
from rsbench.registry import get_registry

COMPONENT_SECTIONS: tuple[str, ...] = tuple(k.section for k in KIND_TABLE if k.top_level and not k.optional)
# Sections a run has only when it names them: most runs use no captions, and a config without a captioner
# stays the config it was before captioners existed (same checkpoint key, same leaderboard row).
OPTIONAL_SECTIONS: tuple[str, ...] = tuple(k.section for k in KIND_TABLE if k.top_level and k.optional)
# The captioner a run gets when a component's config declares ``needs_captioner`` and the run names none: the
# shipped generative one, offline (rsbench/captioning/tiny.py).
DEFAULT_CAPTIONER = "tiny"
TOP_LEVEL_KEYS: tuple[str, ...] = ("seed", "device", "results_dir", "checkpoint_dir")

DEFAULT_COMPONENTS: dict[str, str] = {
    "dataset": "synthrs",
    "backbone": "rsbench-tiny",
    "adapter": "focus",  # CMER (arXiv 2501.10638): Focus-Adapter + text LoRA,
    "sampler": "queue",  # negative sample recycling,
    "augmenter": "scene",  # and scene prompts
    "strategy": "dual-stream",
    "reranker": "none",
    "loss": "infonce",
}


# The shipped pretrained weights of the default backbone (`rsbench pretrain` reproduces them).
DEFAULT_BACKBONE_WEIGHTS = "synthetic"


@dataclass
class TrainConfig(Options):
    """Optimisation: AdamW with linear warm-up and cosine decay, best epoch chosen on val."""

    epochs: int = option(6, "training epochs (0 = evaluate only)", ge=0)
    batch_size: int = option(64, "image-caption pairs per step (>= 2: contrastive losses need negatives)", ge=2)
    lr: float = option(5e-4, "peak learning rate (CMER §4.2 uses 5e-4)", gt=0)
    weight_decay: float = option(0.05, "AdamW weight decay (not on biases/norms)", ge=0)
    warmup_ratio: float = option(0.1, "fraction of steps spent warming up linearly", ge=0, lt=1)
    grad_clip: float = option(1.0, "max gradient norm; 0 disables clipping", ge=0)
    max_steps: int | None = option(None, "stop after this many steps (smoke runs)", gt=0)
    captions_per_epoch: Literal["one", "all"] = option(
        "one", "each epoch pairs every image with one random caption, or with all")
    num_workers: int = option(0, "DataLoader worker processes", ge=0)
    amp: bool = option(True, "bf16 autocast on CUDA (ignored on CPU)")
    keep_checkpoint: bool = option(
        False, "keep the checkpoint (weights, optimiser, sampler queue) after the record is written; by default it "
        "is deleted once the run has finished")
    image_augmentation: Literal["backbone", "none"] = option(
        "backbone", "training images through the backbone's training transform (open_clip: a random resized crop) "
        "or, with none, through its deterministic evaluation transform (resize, centre crop), which the feature "
        "cache needs")
    cache_features: bool = option(
        False, "store what the adapter reads from a frozen image tower (focus, clip-adapter, linear-probe) in the "
        "first epoch, fp16 and memory-mapped under $RSBENCH_CACHE/features, and skip the tower from the second; "
        "needs a deterministic transform (train.image_augmentation=none). When it cannot apply the run says why and "
        "trains without")
    dist_backend: Literal["auto", "nccl", "gloo"] = option(
        "auto", "process-group backend of a multi-process run (torchrun, --nproc): auto is nccl on CUDA, gloo on the "
        "CPU")


@dataclass
class EvalConfig(Options):
    """Evaluation protocol: which split selects the checkpoint and which is reported."""

    select_on: Literal["val", "test"] = option("val", "split that picks the best epoch; 'test' is recorded as such")
    report_on: Literal["test", "val"] = option("test", "split whose metrics are reported")
    batch_size: int = option(256, "images or captions per encoding batch", ge=1)


FIXED_SECTIONS: dict[str, type] = {"train": TrainConfig, "eval": EvalConfig}


@dataclass
class RunConfig:
    """A fully resolved and validated run configuration."""

    components: dict[str, tuple[str, Any]]  # section -> (component name, config dataclass instance)
    train: TrainConfig
    eval: EvalConfig
    seed: int = 0
    device: str = "auto"
    results_dir: str = "leaderboard/results"
    checkpoint_dir: str = "checkpoints"

    def name(self, section: str) -> str:
        return self.components[section][0]

    def has(self, section: str) -> bool:
        """Whether the config names a component for ``section`` (optional sections may be absent)."""
        return section in self.components

    def options(self, section: str) -> Any:
        return self.components[section][1]

    def component(self, section: str) -> Any:
        """The registered ``Component`` that ``section`` names (its factory, config class and provider)."""
        return get_registry(section).get(self.name(section))

    def build(self, section: str, *args: Any) -> Any:
        """Build the component ``section`` names with its options: ``factory(options, *args)``."""
        return self.component(section).build(self.options(section), *args)

    def run_key(self) -> str:
        """Names this run's checkpoint: method, seed and a digest of everything that shapes training."""
        import hashlib
        import json
        import re

        ident = {k: v for k, v in self.to_dict().items() if k not in ("results_dir", "checkpoint_dir", "device")}
        ident["train"] = {k: v for k, v in ident["train"].items()
                          if k not in ("keep_checkpoint", "num_workers", "cache_features", "dist_backend")}
        if ident["train"].get("image_augmentation") == "backbone":
            del ident["train"]["image_augmentation"]  # added later: at its default, older checkpoints keep their key
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:12]
        label = re.sub(r"[^A-Za-z0-9.+-]+", "-", "-".join(self.name(k) for k in ("adapter", "sampler", "augmenter")))
        return f"{label}-seed{self.seed}-{digest}"

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data: stored in records, loadable again with ``--config``."""
        out: dict[str, Any] = {}
        for section, (name, options) in self.components.items():
            out[section] = {"name": name, **{k: v for k, v in dataclasses.asdict(options).items() if k != "name"}}
        out["train"] = dataclasses.asdict(self.train)
        out["eval"] = dataclasses.asdict(self.eval)
        out.update(seed=self.seed, device=self.device, results_dir=self.results_dir,
                   checkpoint_dir=self.checkpoint_dir)
        return out


def default_config() -> dict[str, Any]:
    """The embedded default as a raw config dict (``configs/quickstart.yaml`` spells it out)."""
    raw: dict[str, Any] = {section: {"name": name} for section, name in DEFAULT_COMPONENTS.items()}
    raw["backbone"]["pretrained"] = DEFAULT_BACKBONE_WEIGHTS  # dropped when another backbone is named
    raw["train"] = {}
    raw["eval"] = {}
    raw.update(seed=0, device="auto", results_dir="leaderboard/results", checkpoint_dir="checkpoints")
    return raw


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path} is nested too deeply to be a config file") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, got {type(data).__name__}")
    return data


def merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """Overlay ``layer`` on ``base``. Choosing another component name drops the old one's options."""
    out = copy.deepcopy(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            named = key in COMPONENT_SECTIONS or key in OPTIONAL_SECTIONS
            if named and "name" in value and value["name"] != out[key].get("name"):
                out[key] = copy.deepcopy(value)
            else:
                out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def dotted_layer(values: dict[str, Any]) -> dict[str, Any]:
    """``{"train.lr": 1e-3}`` -> ``{"train": {"lr": 1e-3}}`` (values kept as they are, not parsed)."""
    layer: dict[str, Any] = {}
    for key, value in values.items():
        node = layer
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"'{key}': '{part}' is set both as a value and as a section")
        node[leaf] = value
    return layer


def parse_set(assignments: list[str]) -> dict[str, Any]:
    """Turn ``["train.lr=1e-4", "adapter.rank=16"]`` into a nested dict; values are parsed as YAML."""
    values: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE (e.g. train.lr=1e-4), got '{item}'")
        try:
            values[key] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item}: cannot parse value '{value}': {exc}") from exc
    try:
        return dotted_layer(values)
    except ConfigError as exc:
        raise ConfigError(f"--set {exc}") from exc


def resolve_component(section: str, spec: Any, where: str | None = None, name_key: str | None = None
                      ) -> tuple[str, Any]:
    """``(name, options dataclass)`` for one component section: ``{"name": ..., option: value, ...}`` or a name.

    ``section`` is the registry kind; ``where`` prefixes option errors (default ``section.``) and ``name_key`` an
    unknown name's (default ``section.name``), for components named elsewhere in a config (``strategy.index``,
    options ``strategy.index_options.``). The components the options name in turn (``references``) are resolved
    too, so that every name in a config is checked once, here."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"'{section}' needs a 'name' (one of `rsbench list {section}`); got {spec!r}")
    where = where or f"{section}."
    options = {k: v for k, v in spec.items() if k != "name"}
    try:
        component = get_registry(section).get(spec["name"])
    except BrokenPluginError:
        raise  # about a plugin, not about this section's name
    except RsbenchError as exc:
        raise ConfigError(f"{name_key or section + '.name'}: {exc}") from exc
    check_options = getattr(component.config_cls, "check_options", None)
    if check_options is not None:  # one config class serving several names says which options each reads
        try:
            check_options(spec["name"], set(options))
        except ConfigError as exc:
            raise ConfigError(f"{where.rstrip('.')}: {exc}") from exc
    if "name" in {f.name for f in dataclasses.fields(component.config_cls)}:
        options["name"] = spec["name"]  # a config that declares `name` receives the component's name
    config = build_options(component.config_cls, options, where)
    resolve_references(config, where)
    return spec["name"], config


def resolve_references(config: Any, where: str) -> None:
    """Check the components a config's options name: its class declares ``references = {kind: options_field}``, the
    field called ``kind`` holding a registered name and ``options_field`` that component's options."""
    for kind, options_field in getattr(type(config), "references", {}).items():
        name, options = getattr(config, kind), getattr(config, options_field)
        if not isinstance(name, str):
            raise ConfigError(f"{where}{kind} must be a {kind} name, got {name!r}")
        if not isinstance(options, dict):
            raise ConfigError(f"{where}{options_field} must be a mapping, got {options!r}")
        resolve_component(kind, {"name": name, **options}, f"{where}{options_field}.", f"{where}{kind}")


def resolve(raw: dict[str, Any]) -> RunConfig:
    """Validate a raw merged config dict against the registries and the fixed sections."""
    valid_top = [*COMPONENT_SECTIONS, *OPTIONAL_SECTIONS, *FIXED_SECTIONS, *TOP_LEVEL_KEYS]
    for key in raw:
        if key not in valid_top:
            raise unknown_key(key, valid_top, "")
    components: dict[str, tuple[str, Any]] = {}
    for section in COMPONENT_SECTIONS:
        components[section] = resolve_component(section, raw.get(section) or {"name": DEFAULT_COMPONENTS[section]})
    for section in OPTIONAL_SECTIONS:
        if raw.get(section) is not None:
            components[section] = resolve_component(section, raw[section])
    if "captioner" not in components and any(getattr(config, "needs_captioner", False)
                                             for _, config in components.values()):
        components["captioner"] = resolve_component("captioner", {"name": DEFAULT_CAPTIONER})
    train = build_options(TrainConfig, raw.get("train") or {}, "train.")
    evaluation = build_options(EvalConfig, raw.get("eval") or {}, "eval.")
    seed = coerce(raw.get("seed", 0), int, "seed")
    if not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be an integer from 0 to 2**32 - 1; got {seed}")
    device = coerce(raw.get("device", "auto"), str, "device")
    results_dir = coerce(raw.get("results_dir", "leaderboard/results"), str, "results_dir")
    checkpoint_dir = coerce(raw.get("checkpoint_dir", "checkpoints"), str, "checkpoint_dir")
    return RunConfig(components, train, evaluation, seed=seed, device=device, results_dir=results_dir,
                     checkpoint_dir=checkpoint_dir)


def build_config(
    config_file: str | Path | None = None,
    flags: dict[str, Any] | None = None,
    sets: list[str] | None = None,
) -> RunConfig:
    """defaults < YAML < flags < --set, then validate. ``flags`` is a raw nested dict like YAML."""
    raw = default_config()
    if config_file is not None:
        raw = merge(raw, load_yaml(config_file))
    if flags:
        raw = merge(raw, flags)
    if sets:
        raw = merge(raw, parse_set(sets))
    return resolve(raw)
