"""A trained model kept for search: the resolved config plus the trainable weights, loadable without the data.

``save_model`` writes a folder (atomically: a temporary sibling renamed into place) with ``config.yaml``
(the run's resolved config), ``trainable.safetensors`` (every tensor the adapter trained, as the trainer's
best-epoch state holds them) and ``model.json`` (digests of both and of the backbone weights, the embedding
width). ``load_model`` rebuilds the backbone and adapter from the config, loads the trained tensors and
refuses a folder whose backbone weights are not the ones it was trained on. ``model_from_config`` gives the
same object for a config alone (a frozen CLIP, say), so an index can be built with or without training.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsbench.errors import RsbenchError
from rsbench.models.backbones.open_clip_backbone import file_sha256

CONFIG_FILE, WEIGHTS_FILE, MANIFEST_FILE = "config.yaml", "trainable.safetensors", "model.json"


@dataclass
class SearchModel:
    """The parts search needs: the adapter (with its backbone's tokenizer and eval transform) and an identity."""

    adapter: Any
    backbone: Any
    config: dict[str, Any]
    digest: str
    device: Any

    @property
    def embed_dim(self) -> int:
        return int(self.backbone.embed_dim)

    def encode_texts(self, texts: list[str], batch_size: int = 256):
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(texts), batch_size):
                tokens = self.backbone.tokenizer(texts[i : i + batch_size]).to(self.device)
                out.append(torch.nn.functional.normalize(self.adapter.encode_text(tokens).float(), dim=-1))
        return torch.cat(out).cpu().numpy()

    def encode_images(self, images):
        import torch

        with torch.no_grad():
            batch = torch.stack([self.backbone.preprocess_eval(image) for image in images]).to(self.device)
            return torch.nn.functional.normalize(self.adapter.encode_image(batch).float(), dim=-1).cpu().numpy()


def model_digest(config: dict[str, Any], backbone_sha: str | None, trainable_sha: str | None) -> str:
    """What identifies a model for an index: the config minus paths and seed, and the two weight digests."""
    from rsbench.results.leaderboard import config_identity

    payload = {"config": config_identity(config), "backbone": backbone_sha, "trainable": trainable_sha}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _build(config: dict[str, Any], device: str):
    from rsbench.config import build_config
    from rsbench.engine import build
    from rsbench.runtime import resolve_device

    cfg = build_config(None, config)
    backbone = build(cfg, "backbone")
    target = resolve_device(device)
    adapter = build(cfg, "adapter", backbone).to(target).eval()
    return cfg, backbone, adapter, target


def model_from_config(config: dict[str, Any], device: str = "auto") -> SearchModel:
    """An untrained model as ``config`` describes it (e.g. the frozen shipped CLIP)."""
    cfg, backbone, adapter, target = _build(config, device)
    resolved = cfg.to_dict()
    return SearchModel(adapter, backbone, resolved, model_digest(resolved, backbone.weights_sha256, None), target)


def save_model(adapter, config: dict[str, Any], backbone_sha: str | None, directory: Path) -> Path:
    """Write ``directory`` (which must not exist yet) with the config and the adapter's trainable tensors."""
    import yaml
    from safetensors.torch import save_file

    from rsbench.train.trainer import trainable_state

    directory = Path(directory)
    if directory.exists():
        raise RsbenchError(f"{directory} already exists; --save-model needs a new folder")
    temp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True)
    state = {k: v.contiguous() for k, v in trainable_state(adapter).items()}
    save_file(state, str(temp / WEIGHTS_FILE))
    trainable_sha = file_sha256(temp / WEIGHTS_FILE)
    (temp / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    manifest = {"format": "rsbench-model-1", "backbone_weights_sha256": backbone_sha,
                "trainable_sha256": trainable_sha, "trainable_tensors": len(state),
                "digest": model_digest(config, backbone_sha, trainable_sha)}
    (temp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    temp.replace(directory)
    return directory


def load_model(directory: Path, device: str = "auto") -> SearchModel:
    """Rebuild a saved model (see the module text); errors say which file is missing or does not fit."""
    import yaml
    from safetensors.torch import load_file

    directory = Path(directory)
    for name in (CONFIG_FILE, WEIGHTS_FILE, MANIFEST_FILE):
        if not (directory / name).is_file():
            raise RsbenchError(f"{directory} is not a saved model: {name} is missing (write one with "
                               f"rsbench run --save-model DIR)")
    manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    if file_sha256(directory / WEIGHTS_FILE) != manifest.get("trainable_sha256"):
        raise RsbenchError(f"{directory / WEIGHTS_FILE} does not match its manifest's digest; the folder was edited "
                           f"or half-copied")
    config = yaml.safe_load((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    config = {**config, "device": device}
    _, backbone, adapter, target = _build(config, device)
    if backbone.weights_sha256 != manifest.get("backbone_weights_sha256"):
        raise RsbenchError(f"{directory} was trained on backbone weights {manifest.get('backbone_weights_sha256')}, "
                           f"but {config['backbone']['name']} / {config['backbone'].get('pretrained')} now loads "
                           f"{backbone.weights_sha256}")
    state = load_file(str(directory / WEIGHTS_FILE))
    missing = set(state) - set(adapter.state_dict())
    if missing:
        raise RsbenchError(f"{directory}: {len(missing)} saved tensors have no place in the adapter "
                           f"({sorted(missing)[:3]} ...); was it saved by another rsbench version?")
    adapter.load_state_dict(state, strict=False)
    return SearchModel(adapter.to(target).eval(), backbone, config, manifest["digest"], target)
