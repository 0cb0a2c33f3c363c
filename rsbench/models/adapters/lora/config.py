"""Configs of the LoRA adapters: ``clip-lora`` (CMER's CLIP-LoRA baseline, both towers) and ``lora`` (text tower)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option

# The weights of an open_clip ResidualAttentionBlock that LoRA can adapt: the attention's packed q/k/v
# projection and output projection, and the MLP's two linears.
TARGETS: tuple[str, ...] = ("in_proj", "out_proj", "c_fc", "c_proj")
# Targets whose update is applied to the layer's input (x + dropout path); the MultiheadAttention weights
# are adapted in weight space, where input dropout cannot be expressed (see model.py).
DROPOUT_TARGETS: tuple[str, ...] = ("c_fc", "c_proj")
TOWERS: tuple[str, ...] = ("both", "visual", "text")


@dataclass
class LoraConfig(Options):
    """CMER's CLIP-LoRA baseline: LoRA r 16 on in_proj/out_proj/c_fc/c_proj of both towers (3.93 M on ViT-B/32)

    LoRA (Hu et al. 2021) on the transformer blocks of open_clip CLIP towers: W + (alpha/rank)·B·A.

    The defaults are CMER's CLIP-LoRA baseline (Tables 1-3): rank 16 on in_proj, out_proj, c_fc and
    c_proj of both towers, 3.93 M trainable parameters on ViT-B/32 and 8.65 M on ViT-L/14. The paper
    does not give alpha; 16 (= rank, i.e. the update is B·A unscaled) is our choice.
    """

    rank: int = option(16, "rank r of the update B·A (CMER's CLIP-LoRA: 16)", ge=1)
    alpha: float = option(16.0, "the update is scaled by alpha/rank (not given by CMER; 16 = scale 1)", gt=0)
    dropout: float = option(
        0.0,
        "dropout on the input of the low-rank path of c_fc/c_proj in training "
        "(in_proj/out_proj are adapted in weight space and get none)",
        ge=0,
        lt=1,
    )
    towers: Literal["both", "visual", "text"] = option("both", "which towers' transformer blocks get LoRA")
    targets: list[str] = option(
        list(TARGETS),
        "weights adapted in every block: any of in_proj, out_proj, c_fc, c_proj",
        nonempty=True,
        choices=TARGETS,
    )
    train_logit_scale: bool = option(False, "also learn CLIP's temperature")

    def validate(self) -> None:
        if len(set(self.targets)) != len(self.targets):
            raise ConfigError(f"targets lists a weight twice: {self.targets!r}")
        if self.dropout > 0 and not set(self.targets) & set(DROPOUT_TARGETS):
            raise ConfigError(
                f"dropout={self.dropout} would do nothing: LoRA dropout acts on c_fc/c_proj only "
                f"(in_proj/out_proj are adapted in weight space); add c_fc or c_proj to targets or set "
                f"dropout=0"
            )

    @property
    def scale(self) -> float:
        """alpha / rank, the factor of B·A."""
        return self.alpha / self.rank


@dataclass
class TextLoraConfig(LoraConfig):
    """LoRA on the text tower only, image tower frozen (CMER Table 4's v1); rank/targets/towers configurable

    LoRA on the text tower only, image tower frozen: CMER's LoRA semantic encoder (Table 4, v1).

    Same options as ``clip-lora``; only ``towers`` defaults to ``text``.
    """

    towers: Literal["both", "visual", "text"] = option("text", "which towers' transformer blocks get LoRA")
