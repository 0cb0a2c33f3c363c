"""Config dataclasses of the built-in samplers (free of torch so listing stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BatchConfig:
    """In-batch negatives: every other image/caption of the mini-batch, never one of the same image."""

    exclude_same_image: bool = field(
        default=True, metadata={"help": "never treat captions of the same image as negatives"}
    )
