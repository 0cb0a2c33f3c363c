"""CLIP-BitFit (Zaken et al. 2021), a CMER baseline: only the bias terms of both towers train."""

from __future__ import annotations

from torch import nn

from rsbench.errors import ConfigError
from rsbench.models.adapters.base import Adapter
from rsbench.models.adapters.config import BitFitConfig

# SigLIP-style models carry a `logit_bias` next to `logit_scale`: a parameter of the loss, not of a tower.
LOSS_BIASES: frozenset[str] = frozenset({"logit_bias"})


def bias_parameter_names(model: nn.Module) -> list[str]:
    """Names of the bias terms BitFit trains: every parameter whose name ends in ``bias``.

    That takes in the biases of linear layers, of ``nn.MultiheadAttention`` (``in_proj_bias``,
    ``out_proj.bias``) and of every LayerNorm (blocks, ``ln_pre``, ``ln_post``, ``ln_final``). It is the
    convention that reproduces CMER Table 1/3's counts: ViT-B/32 and ViT-B/16 171,008 (0.17 M),
    ViT-L/14 374,528 (0.37 M; 0.375 M to three decimals). Without the LayerNorm biases they would be
    0.138 M and 0.304 M.
    """
    return [name for name, _ in model.named_parameters() if name.endswith("bias") and name not in LOSS_BIASES]


class BitFit(Adapter):
    """Frozen CLIP whose bias terms, in both towers, train."""

    def __init__(self, config: BitFitConfig, backbone) -> None:
        super().__init__(backbone)
        self.freeze_backbone()
        names = set(bias_parameter_names(self.model))
        if not names:
            raise ConfigError(f"backbone '{getattr(backbone, 'name', '?')}' has no bias parameters for BitFit")
        for name, p in self.model.named_parameters():
            if name in names:
                p.requires_grad_(True)
        self.model.logit_scale.requires_grad_(config.train_logit_scale)


def build(config: BitFitConfig, backbone) -> BitFit:
    """Train only the biases of both towers (BitFit)."""
    return BitFit(config, backbone)
