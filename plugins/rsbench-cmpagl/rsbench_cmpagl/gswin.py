"""The ``gswin`` adapter: CMPAGL's Gswin blocks (gswin_blocks.py) over a CLIP image tower's patch tokens, fused
into the image embedding.

Image path. The image tower runs as CLIP runs it (frozen, under ``no_grad``; or with LoRA on its blocks,
``image: lora``) and hands over the output tokens of block ``source_block`` (the last by default). Their patch
tokens (class token dropped) are projected to ``hidden_dim``, pass ``depth`` Gswin blocks and a LayerNorm; the
mean over patches, projected to the joint space by ``W_up``, is added to CLIP's embedding through a gate:

    v = CLIP(I) + tanh(g) · W_up · mean_p(Gswin(tokens))_p,     g = 0 at initialisation

so the untrained adapter is the frozen model (a zero-initialised tanh gate, as Flamingo's). Patch tokens for
token-level strategies are fused the same way, per token (``W_up`` is linear, so the pooled branch is the mean
of the token branch). Text path: LoRA on the text tower (``text: lora``, default: CMPAGL trains its text
encoder) or the frozen tower under ``no_grad``.

How this departs from CMPAGL: the paper builds its own image encoder (patch embedding, then Gswin blocks) and
a BERT text encoder, trained end to end; rsbench keeps a CLIP backbone and trains a side module on it, so the
Gswin blocks here refine the tower's last patch tokens instead of replacing the tower. Window sizes, shift,
the global window, depth and widths are not given by the paper: they are options (config.py).
"""

from __future__ import annotations

import torch
from torch import nn

from rsbench.errors import ConfigError
from rsbench.models.adapters.base import Adapter
from rsbench_cmpagl.config import GswinConfig
from rsbench_cmpagl.gswin_blocks import GswinStack, choose_window


class GswinAdapter(Adapter):
    """CLIP ⊕ gated Gswin branch on the image tower's patch tokens; LoRA or frozen text tower."""

    trains = True

    def __init__(self, config: GswinConfig, backbone) -> None:
        super().__init__(backbone)
        self.config = config
        self.freeze_backbone()
        name = getattr(backbone, "name", "?")
        blocks = backbone.visual_blocks
        grid = getattr(self.model.visual, "grid_size", None)
        if not blocks or grid is None:
            raise ConfigError(
                f"gswin reads the patch tokens of a ViT image tower; backbone '{name}' has none (a ResNet or timm "
                f"tower). Choose a ViT architecture."
            )
        if not -len(blocks) <= config.source_block < len(blocks):
            raise ConfigError(
                f"adapter.source_block={config.source_block}: backbone '{name}' has {len(blocks)} image blocks "
                f"(0..{len(blocks) - 1}, or -{len(blocks)}..-1)"
            )
        self.source_block = config.source_block % len(blocks)
        self.grid = (int(grid[0]), int(grid[1]))
        self.window = choose_window(min(self.grid), config.window_size)
        if max(self.grid) % self.window:
            raise ConfigError(f"adapter.window_size={self.window} does not divide the {self.grid} patch grid")
        self.gswin = GswinStack(backbone.width_visual, config.hidden_dim, config.heads, config.depth, self.grid,
                                self.window, config.shift, config.global_window, config.mlp_ratio)
        self.up = nn.Linear(config.hidden_dim, backbone.embed_dim)
        self.gate = nn.Parameter(torch.zeros(()))
        dtype = next(self.model.parameters()).dtype
        if dtype != torch.float32:
            self.gswin.to(dtype)
            self.up.to(dtype)
        self.image_trains = config.image == "lora"
        self.text_trains = config.text == "lora"
        if self.image_trains:
            _inject_lora(backbone.visual_blocks, config, name)
        if self.text_trains:
            _inject_lora(backbone.text_blocks, config, name)
        self.model.logit_scale.requires_grad_(config.train_logit_scale)

    def _tower(self, images: torch.Tensor, tokens: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """CLIP's embedding, the source block's patch tokens and (with ``tokens``) CLIP's joint-space patch tokens."""
        from rsbench.models.joint_tokens import capture_final_norm, project_patch_tokens

        with torch.set_grad_enabled(self.image_trains and torch.is_grad_enabled()):
            with self.backbone.capture_blocks("visual", [self.source_block]) as captured:
                if tokens:
                    with capture_final_norm(self.model, "visual") as normed:
                        pooled = self.model.encode_image(images)
                    joint = project_patch_tokens(self.model, normed["tokens"])
                else:
                    pooled, joint = self.model.encode_image(images), None
        patches = captured[self.source_block][:, 1:]  # open_clip puts the class token first
        if not self.image_trains:
            patches = patches.detach()
        return pooled, patches, joint

    def _branch(self, patches: torch.Tensor) -> torch.Tensor:
        """tanh(g) · W_up · Gswin(patches): (B, P, E)."""
        return torch.tanh(self.gate) * self.up(self.gswin(patches.to(self.up.weight.dtype)))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        pooled, patches, _ = self._tower(images, tokens=False)
        return pooled + self._branch(patches).mean(dim=1)

    def encode_image_tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fused embedding and CLIP's joint-space patch tokens plus the branch, token by token."""
        pooled, patches, joint = self._tower(images, tokens=True)
        branch = self._branch(patches)
        assert joint is not None
        return pooled + branch.mean(dim=1), joint + branch

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.text_trains:
            return self.model.encode_text(tokens)
        with torch.no_grad():
            return self.model.encode_text(tokens)

    def train(self, mode: bool = True) -> GswinAdapter:
        super().train(mode)
        self.model.eval()  # CLIP has no dropout, but open_clip's patch dropout would change the token grid
        return self


def _inject_lora(blocks: list[nn.Module], config: GswinConfig, name: str) -> None:
    from rsbench.models.adapters.lora.config import LoraConfig
    from rsbench.models.adapters.lora.model import inject_lora

    if not blocks:
        raise ConfigError(f"LoRA adapts open_clip transformer blocks; backbone '{name}' has a tower without them "
                          f"(set adapter.image / adapter.text to frozen)")
    inject_lora(blocks, LoraConfig(rank=config.lora_rank, alpha=config.lora_alpha))


def build(config: GswinConfig, backbone) -> GswinAdapter:
    """CMPAGL's Gswin blocks (local windows + global window) on the image tower, gated into CLIP's embedding."""
    return GswinAdapter(config, backbone)
