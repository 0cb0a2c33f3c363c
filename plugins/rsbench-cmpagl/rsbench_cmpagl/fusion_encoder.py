"""A small fusion encoder with an image-text matching (ITM) head, and its fit on hard negatives mined in each batch.

"Align before fuse" (CMPAGL §III-D; ALBEF): the inputs are the trained dual-stream model's joint-space tokens,
already aligned by the pre-alignment losses. A caption enters as its global embedding (a CLS token) followed by
its word tokens; each fusion layer is pre-norm self-attention over the caption (padding masked), cross-attention
from the caption to the image (its global embedding and its patch tokens), and an MLP. The ITM head reads the
CLS token: one logit, "this caption describes this image".

CMPAGL's fusion encoder is the second half of its BERT, trained jointly with ITC, triplet, MLM and ITM; this one
is small, fitted after training on frozen features, without MLM (see fusion_rerank.py for why).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rsbench_cmpagl.gswin_blocks import Attention

# ALBEF draws a hard negative with probability softmax(similarity) over the batch; a temperature sharpens it
# toward the hardest (ALBEF's similarities are already divided by its temperature 0.07).
NEGATIVE_TEMPERATURE = 0.05


@dataclass
class PairFeatures:
    """Joint-space features of images and captions: global embeddings, image patches, caption words and mask."""

    image_emb: torch.Tensor  # (N, E)
    patches: torch.Tensor  # (N, P, E)
    text_emb: torch.Tensor  # (M, E)
    words: torch.Tensor  # (M, L, E)
    mask: torch.Tensor  # (M, L) bool


class FusionLayer(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm_self, self.self_attn = nn.LayerNorm(width), Attention(width, heads)
        self.norm_query, self.norm_image, self.cross = nn.LayerNorm(width), nn.LayerNorm(width), Attention(width, heads)
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, text: torch.Tensor, keep: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        y = self.norm_self(text)
        text = text + self.self_attn(y, y, keep[:, None, None, :])
        text = text + self.cross(self.norm_query(text), self.norm_image(image))
        return text + self.mlp(self.norm_mlp(text))


class FusionEncoder(nn.Module):
    """Caption tokens cross-attending to image tokens; ``forward`` gives one ITM logit per (caption, image) pair."""

    def __init__(self, embed_dim: int, width: int, heads: int, depth: int) -> None:
        super().__init__()
        self.text_in = nn.Linear(embed_dim, width)
        self.image_in = nn.Linear(embed_dim, width)
        self.layers = nn.ModuleList(FusionLayer(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 1)

    def forward(self, text_emb: torch.Tensor, words: torch.Tensor, mask: torch.Tensor, image_emb: torch.Tensor,
                patches: torch.Tensor) -> torch.Tensor:
        """(n,) logits for n pairs: ``text_emb`` (n, E), ``words`` (n, L, E), ``mask`` (n, L), ``image_emb`` (n, E),
        ``patches`` (n, P, E)."""
        text = self.text_in(torch.cat([text_emb[:, None], words], dim=1))
        keep = torch.cat([mask.new_ones(len(mask), 1), mask], dim=1)
        image = self.image_in(torch.cat([image_emb[:, None], patches], dim=1))
        for layer in self.layers:
            text = layer(text, keep, image)
        return self.head(self.norm(text[:, 0])).squeeze(-1)

    def score(self, f: PairFeatures, captions: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """ITM logits of the pairs (captions[n], images[n]), index tensors into ``f``."""
        return self(f.text_emb[captions], f.words[captions], f.mask[captions], f.image_emb[images],
                    f.patches[images])


def mine_negatives(similarity: torch.Tensor, positive: torch.Tensor, hardest: bool,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of a (B, B) similarity, a column that is not a positive: (picked column (B,), valid (B,)).

    ``positive[r, c]`` marks pairs of the same image; rows with no negative at all come back invalid.
    """
    logits = (similarity / NEGATIVE_TEMPERATURE).masked_fill(positive, float("-inf"))
    valid = (~positive).any(dim=1)
    if hardest:
        return logits.argmax(dim=1), valid
    weights = torch.softmax(logits.masked_fill(~valid[:, None], 0.0), dim=1)
    picked = torch.multinomial(weights.cpu(), 1, generator=generator).squeeze(1)  # the generator lives on the CPU
    return picked.to(similarity.device), valid


def fit_itm(model: FusionEncoder, f: PairFeatures, pair_captions: torch.Tensor, pair_images: torch.Tensor,
            epochs: int, batch_size: int, lr: float, hardest: bool, generator: torch.Generator) -> list[float]:
    """Train ``model`` on the positive pairs (pair_captions[n], pair_images[n]) of ``f``; mean loss per epoch.

    Each batch of B positives adds, from the batch's cosines, one hard negative caption per image and one hard
    negative image per caption (never one of the same image): binary cross-entropy over 1 positive : 2 negatives,
    as ALBEF's ITM.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train()
    history = []
    n = len(pair_captions)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(pair_captions.device)
        total, steps = 0.0, 0
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            if len(batch) < 2 and n >= 2:
                continue  # a lone pair has no in-batch negative
            captions, images = pair_captions[batch], pair_images[batch]
            similarity = f.text_emb[captions] @ f.image_emb[images].t()  # (B captions, B images)
            positive = images[:, None] == images[None, :]
            neg_image, has_neg_image = mine_negatives(similarity, positive, hardest, generator)  # per caption
            neg_caption, has_neg_caption = mine_negatives(similarity.t(), positive, hardest, generator)  # per image
            all_captions = torch.cat([captions, captions[has_neg_image], captions[neg_caption[has_neg_caption]]])
            all_images = torch.cat([images, images[neg_image[has_neg_image]], images[has_neg_caption]])
            labels = torch.zeros(len(all_captions), device=similarity.device)
            labels[: len(captions)] = 1.0
            loss = F.binary_cross_entropy_with_logits(model.score(f, all_captions, all_images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, steps = total + float(loss.detach()), steps + 1
        history.append(total / max(1, steps))
    model.eval()
    return history
