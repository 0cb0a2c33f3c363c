"""The focus layer: multi-head self-attention restricted to square regions of the patch grid (CMER Eq. 11-12).

Patch tokens are cut into non-overlapping ``focus_field × focus_field`` regions the way Swin partitions
windows, and attend only within their region; a grid that the field does not divide is zero-padded to a
multiple of it and the padding is masked out of attention. The CLS token joins no region: it is the one
query that attends over every token, so the side branch's CLS can gather the region-focused patch features
for the adapter's output. With ``focus_field`` >= the grid, patch attention is global over the patches.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Grid = tuple[int, int]


def padded_grid(grid: Grid, focus_field: int) -> Grid:
    """The grid rounded up to whole regions."""
    return (-(-grid[0] // focus_field) * focus_field, -(-grid[1] // focus_field) * focus_field)


def window_partition(tokens: torch.Tensor, focus_field: int) -> torch.Tensor:
    """(B, H, W, C) -> (B·nRegions, f·f, C), zero-padding H and W up to multiples of ``focus_field``.

    Regions are ordered row-major over the padded grid, tokens row-major inside each region.
    """
    b, h, w, c = tokens.shape
    f = focus_field
    ph, pw = padded_grid((h, w), f)
    if (ph, pw) != (h, w):
        tokens = F.pad(tokens, (0, 0, 0, pw - w, 0, ph - h))
    windows = tokens.view(b, ph // f, f, pw // f, f, c).permute(0, 1, 3, 2, 4, 5)
    return windows.reshape(b * (ph // f) * (pw // f), f * f, c)


def window_reverse(windows: torch.Tensor, focus_field: int, grid: Grid) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B·nRegions, f·f, C) -> (B, H, W, C), padding dropped."""
    f = focus_field
    ph, pw = padded_grid(grid, f)
    c = windows.shape[-1]
    b = windows.shape[0] // ((ph // f) * (pw // f))
    tokens = windows.view(b, ph // f, pw // f, f, f, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
    return tokens[:, : grid[0], : grid[1]]


def region_mask(grid: Grid, focus_field: int, device: torch.device | None = None) -> torch.Tensor | None:
    """Boolean attention mask (nRegions, f·f, f·f), True where a query may attend to a key; None without padding.

    Real queries see only real keys. Padded queries (their outputs are dropped) see their whole region, so
    that a region made only of padding has no empty softmax row to turn into NaN.
    """
    f = focus_field
    ph, pw = padded_grid(grid, f)
    if (ph, pw) == tuple(grid):
        return None
    real = torch.zeros(1, ph, pw, 1, dtype=torch.bool, device=device)
    real[:, : grid[0], : grid[1]] = True
    real = window_partition(real, f).squeeze(-1)  # (nRegions, f·f)
    return real.unsqueeze(1) | ~real.unsqueeze(2)


class FocusLayer(nn.Module):
    """r̃ = RegionAttention(LN(h)) + h (CMER Eq. 11-12) over (B, 1 + H·W, C) tokens, CLS first.

    ``projections="shared"``: Eq. 11 writes each head as ``[r_1, …, r_N] W_i + b_i``, one matrix per head,
    so the head's projection serves as query, key and value. ``"separate"``: the standard q/k/v
    projections. The heads are concatenated without an output projection (Eq. 12); the linear layer of
    Eq. 13 that follows mixes them. Eq. 12 prints the residual as ``h_{d-1}``; we add the layer's own input
    ``h_d``, the usual residual (h_{d-1} already reaches h_d through f_{d-1} in Eq. 10). The LayerNorm is not
    written in Eq. 11-12; it is ViT's pre-norm, and counting it reproduces CMER Table 1's parameter totals.
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
        if dim % heads:
            raise ValueError(f"{heads} heads do not divide width {dim}")
        self.dim, self.heads, self.focus_field, self.projections = dim, heads, focus_field, projections
        self.norm = nn.LayerNorm(dim, dtype=dtype)
        self.proj = nn.Linear(dim, dim if projections == "shared" else 3 * dim, dtype=dtype)

    def forward(self, x: torch.Tensor, grid: Grid) -> torch.Tensor:
        b, length, c = x.shape
        n_patches = grid[0] * grid[1]
        if length != n_patches + 1:
            raise ValueError(f"focus layer expects 1 CLS + {grid[0]}x{grid[1]} patch tokens, got {length} tokens")
        projected = self.proj(self.norm(x))
        cls_out = self._cls_attention(projected)
        patches = projected[:, 1:].reshape(b, grid[0], grid[1], projected.shape[-1])
        windows = window_partition(patches, self.focus_field)  # (B·nRegions, f·f, C or 3C)
        q, k, v = self._split_heads(windows)
        mask = region_mask(grid, self.focus_field, x.device)
        if mask is not None:
            n_regions = mask.shape[0]
            mask = mask.unsqueeze(0).expand(b, -1, -1, -1).reshape(b * n_regions, 1, *mask.shape[1:])
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B·nRegions, heads, f·f, d)
        attended = attended.transpose(1, 2).reshape(windows.shape[0], windows.shape[1], c)
        patch_out = window_reverse(attended, self.focus_field, grid).reshape(b, n_patches, c)
        return x + torch.cat([cls_out, patch_out], dim=1)  # Eq. 12: heads concatenated, plus the residual

    def _split_heads(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, L, C or 3C) -> q, k, v of shape (N, heads, L, C/heads); one tensor thrice when shared."""
        n, length, _ = tokens.shape
        if self.projections == "shared":
            shared = tokens.view(n, length, self.heads, -1).transpose(1, 2)
            return shared, shared, shared
        q, k, v = tokens.view(n, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        return q, k, v

    def _cls_attention(self, projected: torch.Tensor) -> torch.Tensor:
        """The CLS query over every token (itself included): (B, 1, C)."""
        q, k, v = self._split_heads(projected)
        out = F.scaled_dot_product_attention(q[:, :, :1], k, v)  # (B, heads, 1, d)
        return out.transpose(1, 2).reshape(projected.shape[0], 1, self.dim)
