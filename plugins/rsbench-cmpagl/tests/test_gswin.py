"""The Gswin adapter: the untrained adapter is the frozen model, the windows and their shift, the global window."""

from __future__ import annotations

import pytest
import torch
from rsbench_cmpagl.config import GswinConfig
from rsbench_cmpagl.gswin import GswinAdapter
from rsbench_cmpagl.gswin_blocks import (
    GswinBlock,
    GswinStack,
    choose_window,
    global_window,
    shifted_window_mask,
    window_partition,
    window_reverse,
)

from rsbench.errors import ConfigError
from rsbench.models.adapters.base import Adapter
from rsbench.testing import tiny_backbone


def test_untrained_adapter_is_the_frozen_model():
    images = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    frozen = Adapter(tiny_backbone()).eval()
    adapter = GswinAdapter(GswinConfig(), tiny_backbone()).eval()
    with torch.no_grad():
        assert torch.allclose(adapter.encode_image(images), frozen.encode_image(images), atol=1e-6)
        emb, tokens = adapter.encode_image_tokens(images)
        ref_emb, ref_tokens = frozen.encode_image_tokens(images)
        assert torch.allclose(emb, ref_emb, atol=1e-6) and torch.allclose(tokens, ref_tokens, atol=1e-6)
        adapter.gate.fill_(0.5)  # once the gate opens, the Gswin branch changes the embedding and every token
        emb, tokens = adapter.encode_image_tokens(images)
        assert not torch.allclose(emb, ref_emb, atol=1e-3)
        assert (tokens - ref_tokens).abs().amax(dim=-1).min() > 0
        # the pooled branch is the mean of the token branch (W_up is linear)
        assert torch.allclose(emb - ref_emb, (tokens - ref_tokens).mean(dim=1), atol=1e-5)


def test_only_the_branch_and_text_lora_train():
    adapter = GswinAdapter(GswinConfig(), tiny_backbone())
    names = [n for n, p in adapter.named_parameters() if p.requires_grad]
    assert names and all(n.startswith(("gswin.", "up.", "gate", "model.transformer.")) for n in names)
    assert not any(n.startswith("model.visual.") for n in names)
    frozen_text = GswinAdapter(GswinConfig(text="frozen"), tiny_backbone())
    assert not any(n.startswith("model.") for n, p in frozen_text.named_parameters() if p.requires_grad)


@pytest.mark.parametrize("side, window, expected", [(8, None, 4), (14, None, 7), (7, None, 7), (12, None, 6),
                                                    (8, 2, 2)])
def test_window_choice(side, window, expected):
    assert choose_window(side, window) == expected


def test_window_that_does_not_divide_the_grid_is_a_config_error():
    with pytest.raises(ConfigError, match="does not divide the 8x8 patch grid"):
        GswinAdapter(GswinConfig(window_size=3), tiny_backbone())
    with pytest.raises(ConfigError, match="source_block"):
        GswinAdapter(GswinConfig(source_block=9), tiny_backbone())


def test_windows_round_trip():
    x = torch.arange(2 * 4 * 4 * 1, dtype=torch.float).view(2, 4, 4, 1)
    windows = window_partition(x, 2)
    assert windows.shape == (8, 4, 1)
    assert windows[1, :, 0].tolist() == [2, 3, 6, 7]  # image 0, window (0, 1), row-major inside
    assert torch.equal(window_reverse(windows, 2, 4, 4), x)


def test_shifted_window_mask_keeps_wrapped_tokens_apart():
    h = w = 8
    window, shift = 4, 2
    mask = shifted_window_mask(h, w, window, shift)
    # brute force: after rolling by -shift, the token at (r, c) came from ((r + shift) % h, (c + shift) % w);
    # two tokens of a window may attend iff neither axis separates them by the wrap-around
    rows = torch.arange(h).view(h, 1).expand(h, w)
    cols = torch.arange(w).view(1, w).expand(h, w)
    wrapped = torch.stack([(rows + shift) >= h, (cols + shift) >= w], dim=-1).float()  # (H, W, 2)
    parts = window_partition(wrapped[None], window)  # (nWindows, w·w, 2)
    expected = (parts[:, :, None, :] == parts[:, None, :, :]).all(dim=-1)
    assert torch.equal(mask, expected)
    assert not mask.all()  # the last windows really are split


def test_odd_blocks_shift_by_half_a_window_unless_one_window_covers_the_grid():
    stack = GswinStack(16, 8, 2, 3, (8, 8), 4, True, "pool", 2.0)
    assert [b.shift for b in stack.blocks] == [0, 2, 0]
    assert [b.shift for b in GswinStack(16, 8, 2, 2, (7, 7), 7, True, "pool", 2.0).blocks] == [0, 0]
    assert [b.shift for b in GswinStack(16, 8, 2, 2, (8, 8), 4, False, "pool", 2.0).blocks] == [0, 0]


def test_global_window_summarises_the_grid():
    x = torch.randn(2, 8, 8, 3)
    pooled = global_window(x, 4, "pool")
    assert pooled.shape == (2, 16, 3)
    assert torch.allclose(pooled[:, 0], x[:, :2, :2].mean(dim=(1, 2)))  # cell (0, 0) = the mean of a 2x2 patch
    assert torch.allclose(global_window(x, 4, "max")[:, 5], x[:, 2:4, 2:4].amax(dim=(1, 2)))
    assert torch.allclose(global_window(x, 4, "mean")[:, 0], x.mean(dim=(1, 2)))


@pytest.mark.parametrize("mode", ["pool", "max", "mean"])
def test_every_window_sees_the_whole_grid_through_the_global_window(mode):
    torch.manual_seed(0)
    block = GswinBlock(8, 2, 4, 0, mode, 2.0).eval()
    x = torch.randn(1, 8, 8, 8)
    changed = x.clone()
    changed[:, :4, :4] += torch.randn(1, 4, 4, 8)  # only window (0, 0)
    with torch.no_grad():
        delta = (block(changed) - block(x))[:, 4:, 4:]  # window (1, 1): no local attention to window (0, 0)
    assert delta.abs().max() > 1e-4
