"""CMER's Focus-Adapter (Chen et al. 2025, §3.2): a frozen CLIP image tower plus a trainable side branch.

Image path. The frozen image tower runs under ``torch.no_grad`` and hands over, detached, the outputs
``v_d`` of the blocks named in ``blocks`` (all by default); the side branch (side_branch.py) turns them into
region-focused features; its CLS token, projected to the joint space by ``W_up``, is added to the frozen
CLIP embedding: ``v_e = CLIP(I) + W_up·f_D[CLS] + b_up`` (``fusion: add``, ``W_up`` and ``b_up`` start at
zero) or ``CLIP(I) + tanh(g)·(W_up·f_D[CLS] + b_up)`` (``fusion: gate``, ``g`` starts at zero). Either way
the untrained adapter is the frozen model. Text path: LoRA on the text tower (CMER's semantic encoder,
``text: lora``) or the frozen text tower run under ``no_grad`` (``text: frozen``).

Memory. Backward keeps only the side branch's activations (width ``hidden_dim``, a quarter of ViT-B's 768)
and the ``v_d`` the shared down-projection needs for its weight gradient; nothing of the backbone. The
frozen towers stay in eval mode under ``train()`` (CLIP has no dropout, but open_clip's patch dropout would
change the token grid).

Parameter count, and how Eq. 10-13 (the side branch) are read. CMER Table 1 lists 2.72 M trainable parameters
for ViT-B/32 and ViT-B/16 and 4.50 M for ViT-L/14, text LoRA included. LoRA r16 on the text tower's in_proj, out_proj,
c_fc and c_proj is 1,572,864 (width 512) and 2,359,296 (width 768), which leaves about 1.15 M and 2.14 M for
the side branch. The defaults give 1,145,408 and 2,142,528: a shared W_down with bias (Eq. 10); per block
one projection per head used as query, key and value (Eq. 11 writes one ``W_i`` per head) and W_d (Eq. 13),
each with bias, and a pre-norm LayerNorm before each (not written in the paper); one block per ViT block
(D_f = 12 or 24); a final LayerNorm; W_up into the joint space, with bias. Totals: 2,718,272 (2.72 M) and
4,501,824 (4.50 M). Standard q/k/v projections (``projections: separate``) give 3.61 M and 6.28 M on every
block, and 2.71 M and 4.49 M on every other block (each 0.01 M short of the paper), so we took the reading above.
It gives 9.13 M on ViT-H/14, where the paper lists 9.14 M. The paper's Fig. 2 was not available to us, so this
is a reading of the equations and the counts, not a copy of the authors' code.
"""

from __future__ import annotations

import torch
from torch import nn

from rsbench.errors import ConfigError
from rsbench.models.adapters.base import Adapter
from rsbench.models.adapters.focus.config import FocusConfig
from rsbench.models.adapters.focus.side_branch import SideBranch


class FocusAdapter(Adapter):
    """Frozen CLIP ⊕ Focus-Adapter side branch on the image tower; LoRA or frozen text tower."""

    trains = True

    def __init__(self, config: FocusConfig, backbone) -> None:
        super().__init__(backbone)
        self.freeze_backbone()
        name = getattr(backbone, "name", "?")
        n_blocks = len(backbone.visual_blocks)
        if n_blocks == 0:
            raise ConfigError(
                f"the Focus-Adapter reads the blocks of a ViT image tower; backbone '{name}' has none "
                f"(a ResNet or timm tower). Choose a ViT architecture."
            )
        self.block_indices = _resolve_blocks(config.blocks, n_blocks, name)
        grid = getattr(self.model.visual, "grid_size", None)
        if grid is None:
            raise ConfigError(f"backbone '{name}' does not expose the image tower's patch grid (visual.grid_size)")
        self.grid: tuple[int, int] = (int(grid[0]), int(grid[1]))
        dtype = next(self.model.parameters()).dtype  # fp16/bf16 backbones hand out block outputs in that dtype
        self.side_branch = SideBranch(
            backbone.width_visual,
            config.hidden_dim,
            config.num_heads,
            len(self.block_indices),
            config.focus_field,
            config.projections,
            dtype=dtype,
        )
        self.up = nn.Linear(config.hidden_dim, backbone.embed_dim, dtype=dtype)
        self.fusion = config.fusion
        if config.fusion == "add":
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)
            self.gate = None
        else:
            self.gate = nn.Parameter(torch.zeros((), dtype=dtype))
        self.text_frozen = config.text == "frozen"
        if not self.text_frozen:
            _inject_text_lora(backbone, config)
        self.model.logit_scale.requires_grad_(config.train_logit_scale)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.encode_image_from_features(self.frozen_image_features(images))

    def frozen_features_unavailable(self) -> str | None:
        return None  # the image tower never trains; the side branch reads only what it hands over

    def frozen_image_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen CLIP embedding (B, E) and the outputs v_d (B, 1 + H·W, width) of the blocks read."""
        with torch.no_grad(), self.backbone.capture_blocks("visual", self.block_indices) as captured:
            frozen = self.model.encode_image(images)
        return {"embedding": frozen, **{f"block{i}": captured[i] for i in self.block_indices}}

    def encode_image_from_features(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        side_inputs = [self._side_input(features[f"block{i}"]) for i in self.block_indices]
        return features["embedding"] + self._side(self.side_branch(side_inputs, self.grid)[:, 0])

    def encode_image_tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fused embedding, and patch tokens fused the same way: the frozen tower's patch tokens
        (``ln_post``, ``visual.proj``) plus ``W_up`` of the side branch's patch tokens. Our reading: CMER takes
        the CLS token of the last ViT block output (Eq. 3) as the image's global representation (§3.1.1) and
        numbers no equation for merging the side branch; applying the same map per token keeps the untrained
        adapter the frozen model at token level too."""
        from rsbench.models.joint_tokens import capture_final_norm, project_patch_tokens

        with (torch.no_grad(), capture_final_norm(self.model, "visual") as normed,
              self.backbone.capture_blocks("visual", self.block_indices) as captured):
            frozen = self.model.encode_image(images)
        frozen_tokens = project_patch_tokens(self.model, normed["tokens"])
        side = self._side(self.side_branch(self._side_inputs(captured), self.grid))
        return frozen + side[:, 0], frozen_tokens + side[:, 1:]

    def _side_inputs(self, captured: dict[int, torch.Tensor]) -> list[torch.Tensor]:
        return [self._side_input(captured[i]) for i in self.block_indices]

    def _side(self, branch_tokens: torch.Tensor) -> torch.Tensor:
        side = self.up(branch_tokens)
        if self.gate is not None:
            side = torch.tanh(self.gate) * side
        return side

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.text_frozen:
            with torch.no_grad():
                return self.model.encode_text(tokens)
        return self.model.encode_text(tokens)

    def train(self, mode: bool = True) -> FocusAdapter:
        super().train(mode)
        self.model.visual.eval()
        if self.text_frozen:
            self.model.eval()  # the side branch and W_up live outside self.model and keep ``mode``
        return self

    def _side_input(self, block_output: torch.Tensor) -> torch.Tensor:
        v = block_output.detach()
        dtype = self.up.weight.dtype
        if v.dtype != dtype and not torch.is_autocast_enabled(v.device.type):
            v = v.to(dtype)
        return v


def _resolve_blocks(blocks: list[int] | None, n_blocks: int, name: str) -> list[int]:
    """Block numbers in forward order, negatives counted from the end."""
    if blocks is None:
        return list(range(n_blocks))
    resolved = []
    for index in blocks:
        if not -n_blocks <= index < n_blocks:
            raise ConfigError(
                f"adapter.blocks: visual block {index} does not exist; backbone '{name}' has {n_blocks} blocks "
                f"(0..{n_blocks - 1}, or -{n_blocks}..-1)"
            )
        resolved.append(index % n_blocks)
    if len(set(resolved)) != len(resolved):
        raise ConfigError(f"adapter.blocks names a block twice: {blocks!r}")
    return sorted(resolved)


def _inject_text_lora(backbone, config: FocusConfig) -> None:
    from rsbench.models.adapters.lora.config import LoraConfig

    try:
        from rsbench.models.adapters.lora.model import inject_lora
    except ImportError as exc:
        raise ConfigError(
            f"adapter.text=lora needs rsbench's LoRA module, which failed to import ({exc}); set adapter.text=frozen"
        ) from exc
    blocks = backbone.text_blocks
    if not blocks:
        raise ConfigError(
            f"adapter.text=lora adapts open_clip text transformer blocks; backbone '{getattr(backbone, 'name', '?')}' "
            f"has a Hugging Face text tower. Set adapter.text=frozen."
        )
    inject_lora(blocks, LoraConfig(rank=config.text_lora_rank, alpha=config.text_lora_alpha, towers="text"))


def build(config: FocusConfig, backbone) -> FocusAdapter:
    """CMER's Focus-Adapter on the image tower, with LoRA or a frozen text tower."""
    return FocusAdapter(config, backbone)
