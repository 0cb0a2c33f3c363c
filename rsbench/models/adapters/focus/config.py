"""Configs of CMER's Focus-Adapter (``focus``: text-tower LoRA; ``focus-visual``: text tower frozen); torch-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError

HEAD_WIDTH = 32  # CMER §4.4.2: "The head's dimension is fixed at 32" (hidden 128/192/256 -> 4/6/8 heads)


def _positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"adapter.{name} must be a positive integer; got {value!r}")


def _require_bool(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"adapter.{name} must be true or false; got {value!r}")


@dataclass
class FocusConfig:
    """CMER: Focus-Adapter side branch (region attention) on the frozen image tower + text-tower LoRA r16

    CMER's Focus-Adapter (Chen et al. 2025, §3.2): a side branch with region attention over a frozen image tower.

    The defaults are the paper's best setting (Table 5: hidden 192, focus field 2, 6 heads) with LoRA r16 on
    the text tower, CMER's full model. Together they train 2.72 M parameters on ViT-B/32 and ViT-B/16 and
    4.50 M on ViT-L/14, the counts of CMER Table 1 (see model.py for how that reading of Eq. 10-13 is made).
    """

    hidden_dim: int = field(
        default=192, metadata={"help": "width of the side branch (CMER Table 5: 128, 192 or 256; best 192)"}
    )
    heads: int | None = field(
        default=None,
        metadata={"help": "attention heads of the focus layer; null: hidden_dim / 32 (head width fixed at 32, §4.4.2)"},
    )
    focus_field: int = field(
        default=2,
        metadata={
            "help": "side of the square regions, in patches, that patch tokens attend within (Table 5: 1, 2, 7; "
            "best 2); grids that it does not divide are padded and the padding is masked out"
        },
    )
    projections: Literal["shared", "separate"] = field(
        default="shared",
        metadata={
            "help": "shared: one projection W_i per head serves as query, key and value (Eq. 11 as written; "
            "reproduces Table 1's parameter counts); separate: standard q/k/v projections (+2·hidden² per adapter)"
        },
    )
    blocks: list[int] | None = field(
        default=None,
        metadata={
            "help": "visual blocks whose outputs feed the side branch, one Focus-Adapter each (negative counts "
            "from the end); null: every block (D_f = D_v, as Table 1's counts imply)"
        },
    )
    fusion: Literal["add", "gate"] = field(
        default="add",
        metadata={
            "help": "add: frozen embedding + W_up·side with W_up zero-initialised; gate: frozen embedding + "
            "tanh(g)·W_up·side with a learnable scalar g starting at 0. Both start as the frozen model"
        },
    )
    text: Literal["lora", "frozen"] = field(
        default="lora", metadata={"help": "text tower: lora (CMER's LoRA semantic encoder) or frozen"}
    )
    text_lora_rank: int = field(
        default=16, metadata={"help": "LoRA rank on the text tower's in_proj, out_proj, c_fc and c_proj"}
    )
    text_lora_alpha: float = field(
        default=16.0, metadata={"help": "LoRA scale alpha/rank on the text tower (not given by CMER; 16 = scale 1)"}
    )
    train_logit_scale: bool = field(default=False, metadata={"help": "also learn CLIP's temperature"})

    def __post_init__(self) -> None:
        _positive_int(self.hidden_dim, "hidden_dim")
        if self.heads is None:
            if self.hidden_dim % HEAD_WIDTH:
                raise ConfigError(
                    f"adapter.hidden_dim={self.hidden_dim} is not a multiple of the head width {HEAD_WIDTH}; "
                    f"set adapter.heads to a divisor of it or pick a multiple of {HEAD_WIDTH} (CMER: 128, 192, 256)"
                )
        else:
            _positive_int(self.heads, "heads")
            if self.hidden_dim % self.heads:
                raise ConfigError(
                    f"adapter.heads={self.heads} does not divide adapter.hidden_dim={self.hidden_dim}"
                )
        _positive_int(self.focus_field, "focus_field")
        if self.projections not in ("shared", "separate"):
            raise ConfigError(f"adapter.projections must be 'shared' or 'separate'; got {self.projections!r}")
        if self.blocks is not None:
            if isinstance(self.blocks, str) or not isinstance(self.blocks, list | tuple) or not self.blocks:
                raise ConfigError(
                    f"adapter.blocks must be null (every block) or a non-empty list of block numbers; "
                    f"got {self.blocks!r}"
                )
            if any(isinstance(b, bool) or not isinstance(b, int) for b in self.blocks):
                raise ConfigError(f"adapter.blocks must hold integers; got {self.blocks!r}")
            self.blocks = list(self.blocks)
        if self.fusion not in ("add", "gate"):
            raise ConfigError(f"adapter.fusion must be 'add' or 'gate'; got {self.fusion!r}")
        if self.text not in ("lora", "frozen"):
            raise ConfigError(f"adapter.text must be 'lora' or 'frozen'; got {self.text!r}")
        _positive_int(self.text_lora_rank, "text_lora_rank")
        alpha = self.text_lora_alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0:
            raise ConfigError(f"adapter.text_lora_alpha must be a positive number; got {alpha!r}")
        self.text_lora_alpha = float(alpha)
        _require_bool(self.train_logit_scale, "train_logit_scale")

    @property
    def num_heads(self) -> int:
        return self.heads if self.heads is not None else self.hidden_dim // HEAD_WIDTH


@dataclass
class FocusVisualConfig(FocusConfig):
    """Focus-Adapter side branch on the frozen image tower; text tower frozen

    The Focus-Adapter on the image tower alone: the text tower stays frozen (``text: frozen``).
    """

    text: Literal["lora", "frozen"] = field(
        default="frozen", metadata={"help": "text tower: lora (CMER's LoRA semantic encoder) or frozen"}
    )
