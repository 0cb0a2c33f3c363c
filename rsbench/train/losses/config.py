"""Config dataclasses of the built-in losses (free of torch so listing stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError


@dataclass
class InfoNCEConfig:
    """Symmetric InfoNCE over in-batch negatives (CMER Eq. 19-21)."""

    temperature: float | None = field(
        default=None, metadata={"help": "fixed tau; null uses the model's learnable logit scale"}
    )

    def __post_init__(self) -> None:
        if self.temperature is not None and not self.temperature > 0:
            raise ConfigError("loss.temperature must be > 0 or null")
