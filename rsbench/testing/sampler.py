"""Contract check of samplers (``check_sampler``); import it from ``rsbench.testing``.

Besides the step's shape and a state that survives a checkpoint, it checks the one rule a sampler exists for:
a caption of an anchor's own image is never one of its negatives, in the batch or in anything kept from earlier
steps (a queue). Planted truth: orthogonal embeddings where a second caption of image 0 is the caption most like
image 0, so a sampler that forgets the image mask, or picks it as the hardest negative, pushes them apart.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from rsbench.testing.rules import ContractError, embeddings, require

# Five pairs of four images: pairs 0 and 4 are two captions of image 0. Scenes are unknown (-1), so a sampler that
# also leaves out same-scene negatives (the queue's exclude_same_scene) still sees every other image as one.
PROBE_IMAGE_IDS = (0, 1, 2, 3, 0)
PROBE_DIM = 16


def check_sampler(factory: Callable[[Any], Any], loss: Any = None) -> None:
    """A sampler built by ``factory(loss)``: (loss, logs) per step, a state that survives a checkpoint, and no
    caption of an anchor's own image among its negatives (``check_same_image_is_never_a_negative``)."""
    from rsbench.safe_load import load_tensors

    loss = loss if loss is not None else _default_loss()
    sampler = factory(loss)
    where = f"sampler {type(sampler).__name__}"
    for method in ("state_dict", "load_state_dict"):
        require(callable(getattr(sampler, method, None)), where, f"must have {method}()")
    scale = torch.tensor(20.0)
    ids, scenes = torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 0, 0])  # pairs 2 and 3 share their image

    def step(seed: int) -> tuple[torch.Tensor, dict]:
        return sampler(embeddings(seed=seed), embeddings(seed=seed + 1), scale, ids, scenes)

    value, logs = step(0)
    require(isinstance(value, torch.Tensor) and value.dim() == 0 and bool(torch.isfinite(value)), where,
            "must return a finite scalar loss first")
    require(isinstance(logs, Mapping) and isinstance(logs.get("loss"), float), where,
            "must return logs as a dict with a float 'loss' (the progress bar shows it)")
    require(bool(value.requires_grad), where, "the loss must carry gradients to the embeddings")
    state = sampler.state_dict()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.pt"
        torch.save(state, path)
        try:
            restored = load_tensors(path, "sampler state")
        except Exception as exc:
            raise ContractError(f"{where}: state_dict() must hold tensors and plain values only, so that a "
                                f"checkpoint reads it with weights_only=True ({exc})") from exc
    first, _ = step(10)
    sampler.load_state_dict(restored)
    second, _ = step(10)
    require(torch.allclose(first, second), where,
            "after load_state_dict(state_dict()), a step must give the loss it gave after the saved step")
    sampler.load_state_dict({})  # the engine passes {} when no state was kept
    check_same_image_is_never_a_negative(factory, loss)


def probe_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """(5, 16) image and text embeddings: orthonormal axes e_0..e_15, image i = e_i, caption i = e_i + e_{5+i},
    except caption 4 (a second caption of image 0), which also leans towards image 0: e_4 + e_9 + 1.5·e_0."""
    axes = torch.eye(PROBE_DIM)
    images = axes[:5].clone()
    texts = axes[:5] + axes[5:10]
    texts[4] += 1.5 * axes[0]
    return images, texts


def check_same_image_is_never_a_negative(factory: Callable[[Any], Any], loss: Any) -> None:
    """Two steps on the probe batch (the same batch again, as in the next epoch, so a queue holds its captions):
    the loss must not grow when image 0 comes closer to caption 4, nor caption 0 to image 4 (both are image 0's).

    Each is a directional derivative along an axis no other pair's similarity uses, so it measures d loss / d s
    for that one same-image pair: positive means the sampler offered it as a negative.
    """
    sampler = factory(loss)
    where = f"sampler {type(sampler).__name__}"
    ids = torch.tensor(PROBE_IMAGE_IDS)
    scenes = torch.full((len(ids),), -1)
    for step in ("the first step", "a later step (after the same pairs were seen once)"):
        images, texts = (t.clone().requires_grad_(True) for t in probe_batch())
        value, _ = sampler(images, texts, torch.tensor(20.0), ids, scenes)
        value.backward()
        axes = torch.eye(PROBE_DIM)
        # image 0 towards caption 4 (along e_4 + e_9, orthogonal to image 0 and to every other caption)
        towards_caption = float(images.grad[0] @ (axes[4] + axes[9]))
        # caption 0 towards image 4 (along e_4, orthogonal to caption 0 and to every other image)
        towards_image = float(texts.grad[0] @ axes[4])
        scale = max(float(images.grad.abs().max()), float(texts.grad.abs().max()), 1e-12)
        for name, slope in (("image 0 nearer its other caption", towards_caption),
                            ("a caption of image 0 nearer image 0's other view", towards_image)):
            require(slope <= 1e-4 * scale, where,
                    f"a caption of the anchor's own image was treated as a negative in {step}: the loss grows "
                    f"with {name} (d loss = {slope:.3g}); leave out negatives whose image id is the anchor's "
                    f"(in the batch and in anything kept from earlier steps)")


def _default_loss() -> Any:
    from rsbench.train.losses.config import InfoNCEConfig
    from rsbench.train.losses.infonce import InfoNCE

    return InfoNCE(InfoNCEConfig())
