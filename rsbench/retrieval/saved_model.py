"""Trained models read back for evaluation and search: a saved model folder, a training checkpoint, a config.

``save_model`` writes a folder (atomically: a temporary sibling renamed into place) with ``config.yaml``
(the run's resolved config), ``trainable.safetensors`` (every tensor the adapter trained, as the trainer's
best-epoch state holds them) and ``model.json`` (digests of both and of the backbone weights, the run id of
the training record, its cost section). ``load_model`` rebuilds the backbone and adapter from the config,
loads the trained tensors and refuses a folder whose backbone weights are not the ones it was trained on.
``load_checkpoint_model`` does the same from a training checkpoint (its best epoch's tensors), and
``model_from_config`` gives an untrained model (a frozen CLIP, say). Each returns a ``LoadedModel``, whose
``encoder()`` is the evaluation stage's one ``Encoder``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rsbench.atomic import atomic_path
from rsbench.errors import RsbenchError
from rsbench.safe_load import (
    MiB,
    artefact_error,
    file_sha256,
    read_json,
    read_safetensors,
    read_yaml,
    require_fields,
)

CONFIG_FILE, WEIGHTS_FILE, MANIFEST_FILE = "config.yaml", "trainable.safetensors", "model.json"
MODEL_FORMAT = "rsbench-model-1"
MANIFEST_FIELDS = {"digest": str, "trainable_sha256": str, "backbone_weights_sha256": (str, type(None)),
                   "run_id": (str, type(None)), "cost": (dict, type(None))}
REWRITE = "write the model again with rsbench run --save-model DIR (or pass the folder that command wrote)"


@dataclass
class LoadedModel:
    """An adapter on its backbone, the config that built it, an identity, and where it came from.

    ``parent_run_id`` is the run id of the training record that produced the weights (None for an untrained
    model, or a checkpoint whose record is unknown); ``cost`` that record's cost section when known.
    """

    adapter: Any
    backbone: Any
    config: dict[str, Any]
    digest: str
    device: Any
    parent_run_id: str | None = None
    cost: dict[str, Any] | None = None
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def embed_dim(self) -> int:
        return int(self.backbone.embed_dim)

    def encoder(self, batch_size: int = 64, autocast: Any = None, num_workers: int = 0):
        """The ``ModelEncoder`` of this model (it remembers what it encodes: keep one per evaluation grid)."""
        from rsbench.retrieval.encoder import ModelEncoder

        return ModelEncoder.of(self.adapter, self.backbone, self.device, autocast, batch_size, num_workers,
                               digest=self.digest)


SearchModel = LoadedModel  # its earlier name


def model_digest(config: dict[str, Any], backbone_sha: str | None, trainable_sha: str | None) -> str:
    """What identifies a model for an index: the config minus paths and seed, and the two weight digests."""
    from rsbench.results.leaderboard import config_identity

    payload = {"config": config_identity(config), "backbone": backbone_sha, "trainable": trainable_sha}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _build(config: dict[str, Any], device: str):
    from rsbench.config import build_config
    from rsbench.runtime import resolve_device

    cfg = build_config(None, config)
    backbone = cfg.build("backbone")
    target = resolve_device(device)
    adapter = cfg.build("adapter", backbone).to(target).eval()
    return cfg, backbone, adapter, target


def model_from_config(config: dict[str, Any], device: str = "auto") -> LoadedModel:
    """An untrained model as ``config`` describes it (e.g. the frozen shipped CLIP)."""
    cfg, backbone, adapter, target = _build(config, device)
    resolved = cfg.to_dict()
    return LoadedModel(adapter, backbone, resolved, model_digest(resolved, backbone.weights_sha256, None), target,
                       source={"config": resolved})


def save_model(state: dict[str, Any], config: dict[str, Any], backbone_sha: str | None, directory: Path,
               run_id: str | None = None, cost: dict[str, Any] | None = None) -> Path:
    """Write ``directory`` (which must not exist yet) with the config and the trained tensors ``state``."""
    import yaml
    from safetensors.torch import save_file

    directory = Path(directory)
    if directory.exists():
        raise RsbenchError(f"{directory} already exists; --save-model needs a new folder")
    directory.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in state.items()}
    with atomic_path(directory, folder=True) as temp:
        save_file(state, str(temp / WEIGHTS_FILE))
        trainable_sha = file_sha256(temp / WEIGHTS_FILE)
        (temp / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        manifest = {"format": MODEL_FORMAT, "backbone_weights_sha256": backbone_sha,
                    "trainable_sha256": trainable_sha, "trainable_tensors": len(state),
                    "digest": model_digest(config, backbone_sha, trainable_sha), "run_id": run_id, "cost": cost}
        (temp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return directory


def _read_folder(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The manifest and config of a saved model folder, each checked; one clear error for anything wrong."""
    for name in (CONFIG_FILE, WEIGHTS_FILE, MANIFEST_FILE):
        if not (directory / name).is_file():
            raise RsbenchError(f"{directory} is not a saved model: {name} is missing (write one with "
                               f"rsbench run --save-model DIR)")
    manifest = read_json(directory / MANIFEST_FILE, "saved model manifest", REWRITE, max_bytes=16 * MiB)
    if manifest.get("format") != MODEL_FORMAT:
        raise artefact_error("saved model manifest", directory / MANIFEST_FILE,
                             f"has format {manifest.get('format')!r}, not {MODEL_FORMAT!r} (made by another rsbench "
                             f"version, or not by rsbench)", REWRITE)
    require_fields(manifest, MANIFEST_FIELDS, directory / MANIFEST_FILE, "saved model manifest", REWRITE)
    config = read_yaml(directory / CONFIG_FILE, "saved model config", REWRITE)
    if file_sha256(directory / WEIGHTS_FILE) != manifest["trainable_sha256"]:
        raise artefact_error("saved model weights", directory / WEIGHTS_FILE, "do not match the digest in "
                             f"{MANIFEST_FILE} (the folder was edited or half-copied)", REWRITE)
    return manifest, config


def _load_state(adapter: Any, state: dict[str, Any], where: Path) -> None:
    missing = set(state) - set(adapter.state_dict())
    if missing:
        raise RsbenchError(f"{where}: {len(missing)} saved tensors have no place in the adapter "
                           f"({sorted(missing)[:3]} ...); was it saved by another rsbench version?")
    adapter.load_state_dict(state, strict=False)


def load_model(directory: Path, device: str = "auto") -> LoadedModel:
    """Rebuild a saved model (see the module text); errors say which file is missing or does not fit."""
    directory = Path(directory)
    manifest, config = _read_folder(directory)
    state = read_safetensors(directory / WEIGHTS_FILE, "saved model weights", REWRITE)  # every file before the model
    config = {**config, "device": device}
    _, backbone, adapter, target = _build(config, device)
    if backbone.weights_sha256 != manifest.get("backbone_weights_sha256"):
        raise RsbenchError(f"{directory} was trained on backbone weights {manifest.get('backbone_weights_sha256')}, "
                           f"but {config['backbone']['name']} / {config['backbone'].get('pretrained')} now loads "
                           f"{backbone.weights_sha256}")
    _load_state(adapter, state, directory / WEIGHTS_FILE)
    return LoadedModel(adapter.to(target).eval(), backbone, config, manifest["digest"], target,
                       parent_run_id=manifest.get("run_id"), cost=manifest.get("cost"),
                       source={"model_dir": str(directory.resolve())})


def load_checkpoint_model(path: Path, device: str = "auto") -> LoadedModel:
    """The best epoch's model of a training checkpoint (its last epoch's when no epoch was validated yet)."""
    import torch

    from rsbench.train.checkpoint import load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise RsbenchError(f"checkpoint {path} does not exist; a run keeps its checkpoint with "
                           f"--set train.keep_checkpoint=true")
    state = load_checkpoint(path)
    config = state.get("config")
    if not isinstance(config, dict):
        raise RsbenchError(f"{path} holds no run config (written by an older rsbench); evaluate a saved model "
                           f"instead (rsbench run --save-model DIR)")
    config = {**config, "device": device}
    cfg, backbone, adapter, target = _build(config, device)
    if state.get("run_key") != cfg.run_key():
        raise RsbenchError(f"{path} does not belong to the config it holds (run key {state.get('run_key')} vs "
                           f"{cfg.run_key()}); was it written by another rsbench version?")
    tensors = state.get("best_state") or state.get("adapter") or {}
    if not isinstance(tensors, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in tensors.items()):
        raise artefact_error("checkpoint", path, "holds adapter weights that are not a name -> tensor table (an "
                             "edited file, or not written by rsbench)", "evaluate a saved model instead (rsbench run "
                             "--save-model DIR)")
    _load_state(adapter, tensors, path)
    trainable_sha = hashlib.sha256(b"".join(tensors[k].float().numpy().tobytes() for k in sorted(tensors))).hexdigest()
    return LoadedModel(adapter.to(target).eval(), backbone, config,
                       model_digest(config, backbone.weights_sha256, trainable_sha), target,
                       source={"checkpoint": str(path.resolve()), "epoch": state.get("epoch"),
                               "best_epoch": (state.get("outcome") or {}).get("best_epoch")})
