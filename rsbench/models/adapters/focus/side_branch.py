"""The Focus-Adapter's side branch: a narrow stack of focus blocks fed by a frozen ViT's block outputs (CMER Eq. 10-13).

Only this branch builds an autograd graph: the ViT's outputs ``v_d`` arrive detached, so backward stores
the side branch's narrow activations and the ``v_d`` that the shared down-projection needs, never the
backbone's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from rsbench.models.adapters.focus.focus_layer import FocusLayer, Grid


class FocusBlock(nn.Module):
    """The d-th Focus-Adapter: f_d = r̃_d W_d + r̃_d with r̃_d the focus layer's output (CMER Eq. 11-13).

    The linear layer reads a LayerNorm of r̃_d (pre-norm, as the focus layer; not written in Eq. 13).
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        focus_field: int,
        projections: Literal["shared", "separate"] = "shared",
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.focus = FocusLayer(dim, heads, focus_field, projections, dtype=dtype)
        self.norm = nn.LayerNorm(dim, dtype=dtype)
        self.linear = nn.Linear(dim, dim, dtype=dtype)

    def forward(self, h: torch.Tensor, grid: Grid) -> torch.Tensor:
        r = self.focus(h, grid)
        return r + self.linear(self.norm(r))  # CMER Eq. (13)


class SideBranch(nn.Module):
    """D_f focus blocks chained along the frozen tower: h_d = v_d W_down + f_{d-1} + b, f_0 = 0 (CMER Eq. 10).

    Eq. 10 prints ``f_d``, which would make h_d depend on itself; the previous adapter's output f_{d-1} is
    the reading that makes the branch a chain. ``W_down`` and ``b`` are one Linear shared by every block.
    The output is the last block's tokens after a final LayerNorm, (B, 1 + H·W, hidden).
    """

    def __init__(
        self,
        width: int,
        hidden_dim: int,
        heads: int,
        depth: int,
        focus_field: int,
        projections: Literal["shared", "separate"] = "shared",
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.down = nn.Linear(width, hidden_dim, dtype=dtype)
        self.blocks = nn.ModuleList(
            FocusBlock(hidden_dim, heads, focus_field, projections, dtype=dtype) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(hidden_dim, dtype=dtype)

    def forward(self, features: Sequence[torch.Tensor], grid: Grid) -> torch.Tensor:
        if len(features) != len(self.blocks):
            raise ValueError(f"side branch has {len(self.blocks)} blocks but got {len(features)} feature maps")
        f: torch.Tensor | None = None
        for v, block in zip(features, self.blocks, strict=True):
            h = self.down(v) if f is None else self.down(v) + f  # CMER Eq. (10)
            f = block(h, grid)
        return self.norm(f)
