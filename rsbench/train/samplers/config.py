"""Config dataclasses of the built-in samplers: in-batch negatives and CMER's negative-sample recycling queue
(free of torch so listing stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.options import Options, option
from rsbench.train.losses.config import HingeConfig


@dataclass
class BatchConfig(Options):
    """in-batch negatives; captions of one image are never negatives of each other

    In-batch negatives: every other image/caption of the mini-batch, never one of the same image.
    """

    exclude_same_image: bool = option(True, "never treat captions of the same image as negatives")


@dataclass
class QueueConfig(HingeConfig):
    """CMER negative recycling: batch loss + difficulty-weighted hinge against FIFO queues of earlier steps

    In-batch loss plus a difficulty-weighted hinge against FIFO queues of earlier steps (CMER §3.4, Eq. 16-22).

    The hinge options (margin, beta, reduction, detach_weight) are those of the `dw-hinge` loss.
    """

    queue_multiple: int = option(
        4, "queue length as a multiple of the first batch's size; CMER Table 6 finds 4x best "
        "(0 disables the queue: L = L_batch)", ge=0)
    length: int | None = option(
        None, "explicit queue length in pairs; overrides queue_multiple when set", ge=0)
    exclude_same_image: bool = option(
        True, "never treat captions of the same image as negatives, in the batch or in the queue")
    exclude_same_scene: bool = option(
        True, "queue entries of the positive's scene class are not negatives (CMER §3.4); entries or pairs "
        "without a scene label are never excluded on this ground")
    weight: float = option(1.0, "lambda in L = L_batch + lambda * L_queue; CMER Eq. (22) uses 1", ge=0)
