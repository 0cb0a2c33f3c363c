"""Configs of CMER's Focus-Adapter (``focus``: text-tower LoRA; ``focus-visual``: text tower frozen); torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option

HEAD_WIDTH = 32  # CMER §4.4.2: "The head's dimension is fixed at 32" (hidden 128/192/256 -> 4/6/8 heads)


@dataclass
class FocusConfig(Options):
    """CMER: Focus-Adapter side branch (region attention) on the frozen image tower + text-tower LoRA r16

    CMER's Focus-Adapter (Chen et al. 2025, §3.2): a side branch with region attention over a frozen image tower.

    The defaults are the paper's best setting (Table 5: hidden 192, focus field 2, 6 heads) with LoRA r16 on
    the text tower, CMER's full model. Together they train 2.72 M parameters on ViT-B/32 and ViT-B/16 and
    4.50 M on ViT-L/14, the counts of CMER Table 1 (see model.py for how that reading of Eq. 10-13 is made).
    """

    hidden_dim: int = option(192, "width of the side branch (CMER Table 5: 128, 192 or 256; best 192)", ge=1)
    heads: int | None = option(
        None, "attention heads of the focus layer; null: hidden_dim / 32 (head width fixed at 32, §4.4.2)", ge=1
    )
    focus_field: int = option(
        2,
        "side of the square regions, in patches, that patch tokens attend within (Table 5: 1, 2, 7; "
        "best 2); grids that it does not divide are padded and the padding is masked out",
        ge=1,
    )
    projections: Literal["shared", "separate"] = option(
        "shared",
        "shared: one projection W_i per head serves as query, key and value (Eq. 11 as written; "
        "reproduces Table 1's parameter counts); separate: standard q/k/v projections (+2·hidden² per adapter)",
    )
    blocks: list[int] | None = option(
        None,
        "visual blocks whose outputs feed the side branch, one Focus-Adapter each (negative counts "
        "from the end); null: every block (D_f = D_v, as Table 1's counts imply)",
        nonempty=True,
    )
    fusion: Literal["add", "gate"] = option(
        "add",
        "add: frozen embedding + W_up·side with W_up zero-initialised; gate: frozen embedding + "
        "tanh(g)·W_up·side with a learnable scalar g starting at 0. Both start as the frozen model",
    )
    text: Literal["lora", "frozen"] = option("lora", "text tower: lora (CMER's LoRA semantic encoder) or frozen")
    text_lora_rank: int = option(16, "LoRA rank on the text tower's in_proj, out_proj, c_fc and c_proj", ge=1)
    text_lora_alpha: float = option(
        16.0, "LoRA scale alpha/rank on the text tower (not given by CMER; 16 = scale 1)", gt=0
    )
    train_logit_scale: bool = option(False, "also learn CLIP's temperature")

    def validate(self) -> None:
        if self.heads is None:
            if self.hidden_dim % HEAD_WIDTH:
                raise ConfigError(
                    f"hidden_dim={self.hidden_dim} is not a multiple of the head width {HEAD_WIDTH}; "
                    f"set heads to a divisor of it or pick a multiple of {HEAD_WIDTH} (CMER: 128, 192, 256)"
                )
        elif self.hidden_dim % self.heads:
            raise ConfigError(f"heads={self.heads} does not divide hidden_dim={self.hidden_dim}")

    @property
    def num_heads(self) -> int:
        return self.heads if self.heads is not None else self.hidden_dim // HEAD_WIDTH


@dataclass
class FocusVisualConfig(FocusConfig):
    """Focus-Adapter side branch on the frozen image tower; text tower frozen

    The Focus-Adapter on the image tower alone: the text tower stays frozen (``text: frozen``).
    """

    text: Literal["lora", "frozen"] = option("frozen", "text tower: lora (CMER's LoRA semantic encoder) or frozen")
