"""A cache of what an adapter reads from a frozen image tower (``train.cache_features``): written in the first
epoch, read instead of running the tower from the second on.

One folder per key under ``$RSBENCH_CACHE/features`` (else ``~/.cache/rsbench/features``): one fp16
``<name>.npy`` per tensor the adapter reads (rows = training images, memory-mapped) and ``filled.npy``
(which rows are written). The key digests the tower's weights, the training transform, the training split's
content, and what the adapter reads, so a later run of the same setting starts with a full cache. It applies
only where those features are the same every epoch: a frozen tower, a deterministic transform, a loss that
needs no patch tokens; ``plan`` says why it does not otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rsbench.atomic import write_text_atomically
from rsbench.data.procedural import cache_base
from rsbench.safe_load import artefact_error, read_json, read_npy
from rsbench.train.token_batch import wants_tokens

# Transforms whose output changes from call to call (torchvision and open_clip class names).
FEATURE_DTYPES = {str(d): d for d in (torch.float32, torch.float16, torch.bfloat16, torch.float64)}
RANDOM_TRANSFORMS = ("Random", "ColorJitter", "AutoAugment", "RandAugment", "TrivialAugment", "AugMix",
                     "GaussianBlur", "ElasticTransform")


@dataclass
class CachePlan:
    """Whether the run uses the cache, why not if it does not, and the cache itself when it does."""

    used: bool
    reason: str | None = None
    cache: FeatureCache | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The record's ``extra.feature_cache``."""
        return {"used": self.used, "reason": self.reason, **self.extra}


def random_transform(transform: Any) -> str | None:
    """The name of a random step in ``transform`` (a torchvision ``Compose`` or a single transform), or None."""
    steps = getattr(transform, "transforms", [transform])
    for step in steps:
        name = type(step).__name__
        if any(name.startswith(prefix) for prefix in RANDOM_TRANSFORMS):
            return name
    return None


def tower_digest(adapter: Any) -> str:
    """The weights file's SHA-256 when the backbone was loaded from one; else a digest of the frozen tower's tensors."""
    digest = getattr(adapter.backbone, "weights_sha256", None)
    if digest:
        return digest
    h = hashlib.sha256()
    for name, tensor in adapter.model.visual.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().to("cpu", torch.float32).numpy().tobytes())
    return "tensors-" + h.hexdigest()


def plan(adapter: Any, sampler: Any, transform: Any, records: list, dataset_hash: str, probe: Any) -> CachePlan:
    """Use the cache if it applies to this run, else say why not.

    ``probe()`` is one transformed training image: transforming it twice must give the same tensor
    (a check for random transforms the class names do not reveal).
    """
    from rsbench.train import distributed

    reason = adapter.frozen_features_unavailable()
    if reason is None and wants_tokens(sampler):
        reason = "the loss scores patch tokens, which the cache does not hold"
    if reason is None and (name := random_transform(transform)) is not None:
        reason = (f"the training transform is random ({name}), so the tower's input changes every epoch; "
                  f"set train.image_augmentation=none for the deterministic evaluation transform")
    if reason is None and getattr(getattr(adapter.model.visual, "patch_dropout", None), "prob", 0) > 0:
        reason = "the image tower drops patches at random while training (patch_dropout)"
    if reason is None and not torch.equal(probe(), probe()):
        reason = "the training transform gives a different tensor each time it is applied"
    if reason is None and distributed.active() and int(os.environ.get("LOCAL_WORLD_SIZE", "0")) != \
            distributed.world_size():
        reason = "the ranks run on several machines, which do not share a cache folder"
    if reason is not None:
        return CachePlan(False, reason)
    spec = {"tower": tower_digest(adapter), "transform": repr(transform), "dataset": dataset_hash,
            "train_images": [str(r.image_id) for r in records], "adapter": type(adapter).__name__,
            "reads": adapter_reads(adapter)}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    cache = FeatureCache(cache_base("features") / key, len(records))
    return CachePlan(True, None, cache, {"key": key, "folder": str(cache.folder)})


def adapter_reads(adapter: Any) -> Any:
    """What the adapter takes from the tower, for the key (Focus: which blocks)."""
    return getattr(adapter, "block_indices", None)


class FeatureCache:
    """fp16 rows of the frozen features of every training image, in memory-mapped ``.npy`` files."""

    def __init__(self, folder: Path, rows: int) -> None:
        self.folder, self.rows = Path(folder), rows
        self.arrays: dict[str, np.ndarray] = {}
        self.dtypes: dict[str, torch.dtype] = {}
        self.filled: np.ndarray | None = None

    def open(self, example: dict[str, torch.Tensor] | None = None) -> None:
        """Open the files, creating them from ``example`` (one batch of features) if they do not exist."""
        meta_path = self.folder / "meta.json"
        if not meta_path.exists():
            if example is None:
                raise FileNotFoundError(meta_path)
            self.folder.mkdir(parents=True, exist_ok=True)
            meta = {"rows": self.rows, "tensors": {k: {"shape": list(v.shape[1:]), "dtype": str(v.dtype)}
                                                   for k, v in example.items()}}
            for name, spec in meta["tensors"].items():
                np.lib.format.open_memmap(self.folder / f"{name}.npy", mode="w+", dtype=np.float16,
                                          shape=(self.rows, *spec["shape"])).flush()
            np.lib.format.open_memmap(self.folder / "filled.npy", mode="w+", dtype=np.uint8,
                                      shape=(self.rows,)).flush()
            write_text_atomically(meta_path, json.dumps(meta))  # last: a folder with meta.json has all its files
        meta = self._read_meta(meta_path)
        fix = f"remove the feature cache {self.folder} (it is rebuilt on the next run)"
        self.arrays = {name: self._array(f"{name}.npy", (self.rows, *spec["shape"]), fix)
                       for name, spec in meta["tensors"].items()}
        self.dtypes = {name: FEATURE_DTYPES[spec["dtype"]] for name, spec in meta["tensors"].items()}
        self.filled = self._array("filled.npy", (self.rows,), fix)

    def _read_meta(self, meta_path: Path) -> dict:
        """meta.json, checked: the row count of this split, tensors of known dtypes and plain shapes."""
        fix = f"remove the feature cache {self.folder} (it is rebuilt on the next run)"
        meta = read_json(meta_path, "feature cache index", fix, max_bytes=1 << 20)
        tensors = meta.get("tensors")
        good = meta.get("rows") == self.rows and isinstance(tensors, dict) and all(
            isinstance(spec, dict) and spec.get("dtype") in FEATURE_DTYPES and isinstance(spec.get("shape"), list)
            and all(isinstance(n, int) and 0 < n < 1 << 20 for n in spec["shape"]) and str(name).isidentifier()
            for name, spec in tensors.items())
        if not good:
            raise artefact_error("feature cache index", meta_path, f"does not describe {self.rows} rows of known "
                                 "tensors (an edited file, or another rsbench version)", fix)
        return meta

    def _array(self, name: str, shape: tuple[int, ...], fix: str) -> np.ndarray:
        array = read_npy(self.folder / name, "feature cache file", fix, mmap_mode="r+")
        if tuple(array.shape) != tuple(shape):
            raise artefact_error("feature cache file", self.folder / name, f"holds shape {tuple(array.shape)}, "
                                 f"not {tuple(shape)}", fix)
        return array

    @property
    def exists(self) -> bool:
        return (self.folder / "meta.json").exists()

    def complete(self) -> bool:
        return self.filled is not None and bool(self.filled.all())

    def missing(self) -> list[int]:
        return [] if self.filled is None else np.flatnonzero(self.filled == 0).tolist()

    def write(self, rows: torch.Tensor, features: dict[str, torch.Tensor]) -> None:
        """Store the features of training images ``rows`` (indices into the training split)."""
        if not self.arrays:
            self.open(features)
        index = rows.cpu().numpy()
        for name, tensor in features.items():
            self.arrays[name][index] = tensor.detach().to("cpu", torch.float16).numpy()
        self.filled[index] = 1

    def flush(self) -> None:
        for array in (*self.arrays.values(), self.filled):
            if array is not None:
                array.flush()

    def read(self, row: int) -> dict[str, torch.Tensor]:
        """The fp16 features of one training image (the collate stacks them; ``restore`` gives back the dtype)."""
        return {name: torch.from_numpy(np.array(array[row])) for name, array in self.arrays.items()}

    def restore(self, features: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
        """A batch read from the cache, on ``device`` in the dtype the tower gave."""
        return {name: t.to(device, self.dtypes[name], non_blocking=True) for name, t in features.items()}

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers reopen the memory maps themselves
        return {"folder": self.folder, "rows": self.rows}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["folder"], state["rows"])
        self.open()


def prepare_cache(cache: FeatureCache, adapter: Any, pairs: Any, device: torch.device, autocast: Any) -> None:
    """Open the cache's files, rank 0 creating them (from one image's features) before the other ranks open them."""
    from rsbench.train import distributed

    with distributed.main_first():
        example = None
        if not cache.exists:
            with torch.no_grad(), autocast():
                example = adapter.frozen_image_features(pairs.image(0)[None].to(device))
        cache.open(example)


def fill_missing(cache: FeatureCache, adapter: Any, pairs: Any, device: torch.device, autocast: Any,
                 batch_size: int) -> None:
    """Store the training images an epoch did not read (``drop_last`` leaves some out), so the cache is complete."""
    from rsbench.train import distributed

    distributed.barrier()  # every rank's rows are written
    if distributed.is_main():
        missing = cache.missing()
        for i in range(0, len(missing), batch_size):
            rows = missing[i:i + batch_size]
            images = torch.stack([pairs.image(r) for r in rows]).to(device)
            with torch.no_grad(), autocast():
                cache.write(torch.tensor(rows), adapter.frozen_image_features(images))
        cache.flush()
    distributed.barrier()
