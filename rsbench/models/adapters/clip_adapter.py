"""CLIP-Adapter (Gao et al. 2021), a CMER baseline: residual bottleneck MLPs on a frozen CLIP's final embeddings.

Parameter count. This is Gao et al.'s design: per adapted tower, Linear(E, E // reduction) -> ReLU ->
Linear(E // reduction, E) -> ReLU without biases, on the joint-space embedding of width E, so
``2 * E * (E // reduction)`` weights per tower. With both towers and reduction 4 that is 262,144 (0.26 M) for
ViT-B/32 and ViT-B/16 and 589,824 (0.59 M) for ViT-L/14. CMER Tables 1 and 3 list 3.04 M and 6.82 M for
their CLIP-Adapter, which this design does not reproduce: we found no placement (final embeddings, tower
width before the projection, one or two adapters per block, reductions 1-32 or expansions, with or without
biases, projections trained too) that gives both numbers, and the paper does not describe its variant. The
paper's ratio 6.82 / 3.04 = 2.24 is close to (768 / 512)^2 = 2.25, which suggests adapters on the final
embeddings with about 11.5 * E^2 weights, i.e. a much wider hidden layer than Gao et al.'s.

Memory. The adapters sit after the backbone, so no gradient is needed inside it: by default the backbone
runs under ``torch.no_grad`` and only the adapters' inputs are kept for backward. CMER Table 3's memory for
CLIP-Adapter (6841 MB, like BitFit's 6921 MB, against CMER's 3488 MB on ViT-B/16) implies an implementation
that records the frozen backbone's forward anyway; ``backprop_through_backbone=True`` reproduces that cost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from rsbench.errors import ConfigError
from rsbench.models.adapters.base import Adapter
from rsbench.models.adapters.config import ClipAdapterConfig


class FeatureAdapter(nn.Module):
    """f' = ratio * A(f) + (1 - ratio) * f, A = Linear -> ReLU -> Linear -> ReLU without biases (Gao et al. 2021)."""

    def __init__(self, width: int, reduction: int, ratio: float, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        hidden = width // reduction
        if hidden < 1:
            raise ConfigError(
                f"adapter.reduction={reduction} leaves no hidden unit for an embedding of width {width}; "
                f"use a reduction of at most {width}"
            )
        self.ratio = ratio
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden, bias=False, dtype=dtype),
            nn.ReLU(),
            nn.Linear(hidden, width, bias=False, dtype=dtype),
            nn.ReLU(),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.ratio * self.mlp(features) + (1.0 - self.ratio) * features


class ClipAdapter(Adapter):
    """Frozen CLIP with a FeatureAdapter on the visual and/or text embedding."""

    def __init__(self, config: ClipAdapterConfig, backbone) -> None:
        super().__init__(backbone)
        self.freeze_backbone()
        self.backprop_through_backbone = config.backprop_through_backbone
        width = int(backbone.embed_dim)
        dtype = next(self.model.parameters()).dtype  # fp16/bf16 backbones hand out features in that dtype
        towers = ("visual", "text") if config.towers == "both" else (config.towers,)
        self.visual_adapter = (
            FeatureAdapter(width, config.reduction, config.ratio, dtype) if "visual" in towers else None
        )
        self.text_adapter = FeatureAdapter(width, config.reduction, config.ratio, dtype) if "text" in towers else None
        if self.backprop_through_backbone and self.text_adapter is not None and _token_embedding(self.model) is None:
            raise ConfigError(
                f"adapter.backprop_through_backbone needs an open_clip text tower with a token embedding; "
                f"backbone '{getattr(backbone, 'name', '?')}' has none. Set it to false."
            )
        self.model.logit_scale.requires_grad_(config.train_logit_scale)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        if self.visual_adapter is not None and self._recording():
            # Autograd records the whole tower once its input asks for a gradient.
            return self.visual_adapter(self.model.encode_image(images.detach().requires_grad_(True)))
        return self.encode_image_from_features(self.frozen_image_features(images))

    def frozen_features_unavailable(self) -> str | None:
        if self.backprop_through_backbone and self.visual_adapter is not None:
            return ("adapter.backprop_through_backbone runs the frozen image tower under autograd on purpose "
                    "(CMER Table 3's memory), which a cache would skip")
        return None

    def frozen_image_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen CLIP image embedding (B, E), the visual adapter's input."""
        return {"embedding": self._frozen(self.model.encode_image, images)}

    def encode_image_from_features(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        embedding = features["embedding"]
        return embedding if self.visual_adapter is None else self.visual_adapter(embedding)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.text_adapter is None:
            return self._frozen(self.model.encode_text, tokens)
        if self._recording():
            with _token_embeddings_ask_for_grad(self.model):
                features = self.model.encode_text(tokens)
        else:
            features = self._frozen(self.model.encode_text, tokens)
        return self.text_adapter(features)

    def encode_image_tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The adapted embedding, and patch tokens through the same residual adapter (it acts per vector)."""
        pooled, tokens = super().encode_image_tokens(images)
        return pooled, tokens if self.visual_adapter is None else self.visual_adapter(tokens)

    def encode_text_tokens(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled, words, mask = super().encode_text_tokens(tokens)
        return pooled, words if self.text_adapter is None else self.text_adapter(words), mask

    def _recording(self) -> bool:
        return self.backprop_through_backbone and torch.is_grad_enabled()

    @staticmethod
    def _frozen(encode: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        # Nothing before the adapters trains, so the backbone's activations need not be kept.
        with torch.no_grad():
            return encode(inputs)


def _token_embedding(model: nn.Module) -> nn.Module | None:
    for owner in (model, getattr(model, "text", None)):  # CLIP, CustomTextCLIP
        embedding = getattr(owner, "token_embedding", None)
        if isinstance(embedding, nn.Embedding):
            return embedding
    return None


@contextlib.contextmanager
def _token_embeddings_ask_for_grad(model: nn.Module) -> Iterator[None]:
    """Make the text tower's token embeddings require grad, so autograd records the frozen tower after them."""
    embedding = _token_embedding(model)
    assert embedding is not None  # checked when the adapter was built
    handle = embedding.register_forward_hook(lambda _module, _inputs, output: output.detach().requires_grad_(True))
    try:
        yield
    finally:
        handle.remove()


def build(config: ClipAdapterConfig, backbone) -> ClipAdapter:
    """Residual bottleneck adapters on the final embeddings of a frozen CLIP (CLIP-Adapter)."""
    return ClipAdapter(config, backbone)
