"""Gswin transformer blocks (CMPAGL §III-B.2, as we read it): local window self-attention, Swin-style windows
shifted on alternate blocks, plus cross-attention from the local windows to a global window that summarises
the whole patch grid.

What CMPAGL states: a Gswin block combines local-window self-attention with global-local window
cross-attention; its two branches attend over different local window contents and the same global window.
What it does not state (METHODS.md): window sizes, the shift, how the global window is formed. Our reading:

- a block is pre-norm ``x += LocalWSA(LN x)``; ``x += CrossAttn(LN x, LN g)``; ``x += MLP(LN x)``;
- odd-numbered blocks cyclically shift the grid by half a window before partitioning (Swin's SW-MSA, with its
  mask so that tokens wrapped around the border do not attend to each other), so a pair of blocks is the
  two branches "on different local window contents";
- the global window ``g`` is computed from the block's own tokens after the local attention: the grid
  pooled to one window of ``w × w`` tokens (adaptive average or max pooling, as GCViT's global query tokens)
  or a single mean token; every local window cross-attends to that same ``g``. Because ``g`` is shared, a
  window's cross-attention equals each of its tokens attending to ``g`` on its own, which is how it is
  computed;
- no relative position bias: the ViT's patch tokens already carry its absolute position embeddings.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rsbench.errors import ConfigError


def choose_window(side: int, window: int | None) -> int:
    """The window side for a grid side: ``window`` when it divides ``side``; for None the largest divisor up to
    half the side, or the whole side when it has none (a prime side)."""
    if window is not None:
        if side % window:
            raise ConfigError(
                f"adapter.window_size={window} does not divide the {side}x{side} patch grid; choose a divisor of "
                f"{side} ({', '.join(str(d) for d in range(1, side + 1) if side % d == 0)}) or null for automatic"
            )
        return window
    divisors = [d for d in range(2, side // 2 + 1) if side % d == 0]
    return max(divisors) if divisors else side


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B·nWindows, w·w, C); windows row-major, tokens row-major inside each."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window * window, c)


def window_reverse(windows: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B·nWindows, w·w, C) -> (B, H, W, C)."""
    c = windows.shape[-1]
    x = windows.view(-1, h // window, w // window, window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


def shifted_window_mask(h: int, w: int, window: int, shift: int, device: torch.device | None = None) -> torch.Tensor:
    """(nWindows, w·w, w·w) bool, True where a query may attend to a key after a cyclic shift by ``shift``:
    only tokens that were neighbours before the shift (the same region of Swin's labelling) see each other."""
    labels = torch.zeros(1, h, w, 1, device=device)
    count = 0
    for rows in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for cols in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            labels[:, rows, cols, :] = count
            count += 1
    labels = window_partition(labels, window).squeeze(-1)  # (nWindows, w·w)
    return labels[:, :, None] == labels[:, None, :]


def global_window(x: torch.Tensor, window: int, mode: str) -> torch.Tensor:
    """(B, H, W, C) -> (B, G, C): the global window, G = w·w pooled tokens (``pool``/``max``) or 1 (``mean``)."""
    if mode == "mean":
        return x.mean(dim=(1, 2)).unsqueeze(1)
    grid = x.permute(0, 3, 1, 2)
    pooled = F.adaptive_avg_pool2d(grid, window) if mode == "pool" else F.adaptive_max_pool2d(grid, window)
    return pooled.flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head attention of ``queries`` over ``keys`` (self-attention when they are the same tensor)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        n, lq, c = queries.shape
        q = self.q(queries).view(n, lq, self.heads, -1).transpose(1, 2)
        k, v = self.kv(keys).view(n, keys.shape[1], 2, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(attended.transpose(1, 2).reshape(n, lq, c))


class GswinBlock(nn.Module):
    """One Gswin block on a (B, H, W, C) grid of tokens (see the module docstring)."""

    def __init__(self, dim: int, heads: int, window: int, shift: int, global_mode: str, mlp_ratio: float) -> None:
        super().__init__()
        self.window, self.shift, self.global_mode = window, shift, global_mode
        self.norm_local = nn.LayerNorm(dim)
        self.local = Attention(dim, heads)
        self.norm_query = nn.LayerNorm(dim)
        self.norm_global = nn.LayerNorm(dim)
        self.cross = Attention(dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = max(1, round(dim * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        y = self.norm_local(x)
        mask = None
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
            mask = shifted_window_mask(h, w, self.window, self.shift, x.device)
            mask = mask.repeat(b, 1, 1).unsqueeze(1)  # (B·nWindows, 1, w·w, w·w), windows of image 0 first
        windows = window_partition(y, self.window)
        y = window_reverse(self.local(windows, windows, mask), self.window, h, w)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y
        g = self.norm_global(global_window(x, self.window, self.global_mode))
        x = x + self.cross(self.norm_query(x).reshape(b, h * w, c), g).view(b, h, w, c)
        return x + self.mlp(self.norm_mlp(x))


class GswinStack(nn.Module):
    """Down-projection of the tower's patch tokens, ``depth`` Gswin blocks and a final LayerNorm: (B, P, width) ->
    (B, P, hidden)."""

    def __init__(self, width: int, hidden: int, heads: int, depth: int, grid: tuple[int, int], window: int,
                 shift: bool, global_mode: str, mlp_ratio: float) -> None:
        super().__init__()
        self.grid = grid
        self.down = nn.Linear(width, hidden)
        half = window // 2 if shift and window < min(grid) else 0  # one window covering the grid has nothing to shift
        self.blocks = nn.ModuleList(
            GswinBlock(hidden, heads, window, half if i % 2 else 0, global_mode, mlp_ratio) for i in range(depth)
        )
        self.norm = nn.LayerNorm(hidden)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        b, p, _ = patches.shape
        x = self.down(patches).view(b, self.grid[0], self.grid[1], -1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x.reshape(b, p, -1))
