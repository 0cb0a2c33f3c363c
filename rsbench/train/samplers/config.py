"""Config dataclasses of the built-in samplers: in-batch negatives and CMER's negative-sample recycling queue
(free of torch so listing stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError
from rsbench.train.losses.config import HingeConfig


@dataclass
class BatchConfig:
    """in-batch negatives; captions of one image are never negatives of each other

    In-batch negatives: every other image/caption of the mini-batch, never one of the same image.
    """

    exclude_same_image: bool = field(
        default=True, metadata={"help": "never treat captions of the same image as negatives"}
    )


@dataclass
class QueueConfig(HingeConfig):
    """CMER negative recycling: batch loss + difficulty-weighted hinge against FIFO queues of earlier steps

    In-batch loss plus a difficulty-weighted hinge against FIFO queues of earlier steps (CMER §3.4, Eq. 16-22).

    The hinge options (margin, beta, reduction, detach_weight) are those of the `dw-hinge` loss.
    """

    queue_multiple: int = field(
        default=4,
        metadata={
            "help": "queue length as a multiple of the first batch's size; CMER Table 6 finds 4x best "
            "(0 disables the queue: L = L_batch)"
        },
    )
    length: int | None = field(
        default=None, metadata={"help": "explicit queue length in pairs; overrides queue_multiple when set"}
    )
    exclude_same_image: bool = field(
        default=True,
        metadata={"help": "never treat captions of the same image as negatives, in the batch or in the queue"},
    )
    exclude_same_scene: bool = field(
        default=True,
        metadata={
            "help": "queue entries of the positive's scene class are not negatives (CMER §3.4); entries or pairs "
            "without a scene label are never excluded on this ground"
        },
    )
    weight: float = field(
        default=1.0, metadata={"help": "lambda in L = L_batch + lambda * L_queue; CMER Eq. (22) uses 1"}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.queue_multiple < 0:
            raise ConfigError(f"sampler.queue_multiple must be >= 0 (CMER's best is 4); got {self.queue_multiple}")
        if self.length is not None and self.length < 0:
            raise ConfigError(f"sampler.length must be >= 0 or null; got {self.length}")
        if not self.weight >= 0:
            raise ConfigError(f"sampler.weight must be >= 0; got {self.weight}")
