"""The multi-granular loss: its terms against hand-written references, and the trainer feeding it tokens."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rsbench.retrieval.strategies.fast_then_fine import fine_scores
from rsbench.train.losses.config import InfoNCEConfig, MultiGranularConfig
from rsbench.train.losses.infonce import InfoNCE
from rsbench.train.losses.multi_granular import MultiGranular
from rsbench.train.samplers.batch import BatchSampler
from rsbench.train.samplers.config import BatchConfig, QueueConfig
from rsbench.train.samplers.queue import build as build_queue
from rsbench.train.token_batch import TokenBatch, wants_tokens


def batch(seed: int, b: int = 4, dim: int = 6):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(b, 5, generator=g) > 0.4
    mask[:, 0] = True
    tokens = TokenBatch(torch.randn(b, 3, dim, generator=g), torch.randn(b, 5, dim, generator=g), mask)
    return torch.randn(b, dim, generator=g), torch.randn(b, dim, generator=g), tokens


def test_without_its_extra_terms_it_is_infonce():
    image, text, tokens = batch(0)
    scale = torch.tensor(10.0)
    loss = MultiGranular(MultiGranularConfig(token_weight=0, intra_weight=0))(image, text, scale, tokens=tokens)
    assert loss.item() == pytest.approx(InfoNCE(InfoNCEConfig())(image, text, scale).item())


def test_token_term_is_infonce_on_the_fine_scores():
    image, text, tokens = batch(1)
    scale = 7.0
    loss = MultiGranular(MultiGranularConfig(intra_weight=0))(image, text, torch.tensor(scale), tokens=tokens)
    words, patches = F.normalize(tokens.words, dim=-1), F.normalize(tokens.patches, dim=-1)
    b = len(image)
    fine = [[fine_scores(words[j], tokens.mask[j], patches[i]).item() for j in range(b)] for i in range(b)]

    def ce(rows):  # mean over rows of -log softmax(row)[diagonal]
        return sum(math.log(sum(math.exp(scale * v) for v in row)) - scale * row[i] for i, row in enumerate(rows)) / b

    columns = [[fine[i][j] for i in range(b)] for j in range(b)]
    expected = InfoNCE(InfoNCEConfig())(image, text, torch.tensor(scale)).item() + 0.5 * (ce(fine) + ce(columns))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_intra_modal_term_by_hand():
    # Two pairs in 2-D: images orthogonal (S_ii = 0), captions at 60 degrees (S_tt = 0.5): |0.5 - 0| - 0.3 = 0.2.
    image = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    tokens = TokenBatch(torch.zeros(2, 1, 2), torch.zeros(2, 1, 2), torch.ones(2, 1, dtype=torch.bool))
    scale = torch.tensor(1.0)
    base = MultiGranular(MultiGranularConfig(token_weight=0, intra_weight=0))(image, text, scale, tokens=tokens)
    full = MultiGranular(MultiGranularConfig(token_weight=0, intra_weight=2.0))(image, text, scale, tokens=tokens)
    assert (full - base).item() == pytest.approx(2.0 * 0.2)
    same = torch.ones(2, 2, dtype=torch.bool)  # both captions of one image: no pair is charged
    both = MultiGranular(MultiGranularConfig(token_weight=0))(image, text, scale, same, tokens=tokens)
    assert both.item() == pytest.approx(
        MultiGranular(MultiGranularConfig(token_weight=0, intra_weight=0))(image, text, scale, same,
                                                                           tokens=tokens).item())


def test_samplers_hand_it_the_tokens_and_gradients_reach_them():
    loss = MultiGranular(MultiGranularConfig())
    assert wants_tokens(BatchSampler(BatchConfig(), loss))
    assert wants_tokens(build_queue(QueueConfig(), loss))
    assert not wants_tokens(BatchSampler(BatchConfig(), InfoNCE(InfoNCEConfig())))
    image, text, tokens = batch(2)
    tokens.words.requires_grad_(True)
    ids = torch.arange(4)
    value, _ = build_queue(QueueConfig(), loss)(image, text, torch.tensor(5.0), ids, ids, tokens=tokens)
    value.backward()
    assert tokens.words.grad is not None and tokens.words.grad.abs().sum() > 0
