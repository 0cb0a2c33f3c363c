"""What every contract check shares: the error it raises, the rule it states, the toy dataset it builds.

Kept apart from ``rsbench.testing`` (which re-exports them) so the per-kind check modules import it, not the
package that imports them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rsbench.data.record import Record, RetrievalDataset

BATCH = 4


class ContractError(AssertionError):
    """A component breaks the plugin contract (docs/plugins.md); the message says which rule."""


def require(ok: bool, where: str, rule: str) -> None:
    """Raise a ``ContractError`` naming where and which rule of docs/plugins.md, unless ``ok``."""
    if not ok:
        raise ContractError(f"{where}: {rule} (see docs/plugins.md)")


def toy_dataset(root: Path | None = None) -> RetrievalDataset:
    """Six in-memory records in three splits with two scenes (paths are not read by augmenters)."""
    root = root or Path("toy")
    records = [
        Record(root / f"{scene}_{i}.png", f"{scene}_{i}.png",
               (f"a {scene} with {i} small buildings", f"the {scene} next to a road"), scene, split)
        for i, (scene, split) in enumerate([("airport", "train"), ("harbor", "train"), ("airport", "val"),
                                            ("harbor", "val"), ("airport", "test"), ("harbor", "test")])
    ]
    return RetrievalDataset(name="toy", root=root, records=records, synthetic=True)


def embeddings(n: int = BATCH, dim: int = 16, seed: int = 0, requires_grad: bool = True) -> torch.Tensor:
    """Unnormalised (n, dim) embeddings, as an adapter's ``encode_image``/``encode_text`` return them."""
    g = torch.Generator().manual_seed(seed)
    return (3.0 * torch.randn(n, dim, generator=g)).requires_grad_(requires_grad)
