"""CMER's negative-sample recycling (§3.4, Fig. 4): FIFO queues of earlier steps' embeddings as extra negatives."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from rsbench.errors import RsbenchError
from rsbench.train.losses.hinge import difficulty_weighted_hinge
from rsbench.train.samplers.batch import BatchSampler
from rsbench.train.samplers.config import BatchConfig, QueueConfig

_STATE_KEYS = ("length", "pointer", "filled", "visual", "text", "image_ids", "scene_ids")


class RecyclingQueue:
    """The two negative queues Q_v (visual) and Q_s (text) of CMER, first in first out.

    Slot k holds one earlier pair: its L2-normalised, detached image and text embeddings, its image id
    (index into the training split) and scene id (-1 unknown). Both queues are filled by the same
    pairs, so they share the ids. ``length`` None means "fixed by the first push"; 0 disables the queue.
    """

    def __init__(self, length: int | None) -> None:
        self.length = length
        self.visual: torch.Tensor | None = None
        self.text: torch.Tensor | None = None
        self.image_ids: torch.Tensor | None = None
        self.scene_ids: torch.Tensor | None = None
        self.pointer = 0  # next slot to overwrite: the oldest entry once the queue is full
        self.filled = 0

    def __len__(self) -> int:
        return self.filled

    def entries(self, device: torch.device | None = None) -> tuple[torch.Tensor, ...]:
        """(visual, text, image_ids, scene_ids) of the filled slots, in slot order (order does not matter to a sum)."""
        if self.filled == 0 or self.visual is None:
            return ()
        self._move_to(device)
        n = self.filled
        return self.visual[:n], self.text[:n], self.image_ids[:n], self.scene_ids[:n]

    def oldest_first(self) -> tuple[torch.Tensor, ...]:
        """The entries from the oldest to the newest (for inspection and tests)."""
        if self.filled == 0 or self.visual is None:
            return ()
        start = self.pointer if self.filled == self.length else 0
        order = (start + torch.arange(self.filled, device=self.visual.device)) % self.length
        return tuple(t[order] for t in (self.visual, self.text, self.image_ids, self.scene_ids))

    def push(self, visual: torch.Tensor, text: torch.Tensor, image_ids: torch.Tensor, scene_ids: torch.Tensor) -> None:
        """Enqueue a batch (oldest entries overwritten); a batch longer than the queue keeps its last rows."""
        if self.length is None:
            self.length = len(visual)
        if self.length == 0 or len(visual) == 0:
            return
        if self.visual is None:
            self._allocate(visual.shape[1], visual.device)
        if visual.shape[1] != self.visual.shape[1]:
            raise RsbenchError(
                f"the recycling queue holds {self.visual.shape[1]}-d embeddings but got {visual.shape[1]}-d ones; "
                "a queue restored from another model cannot be reused"
            )
        self._move_to(visual.device)
        n = min(len(visual), self.length)
        slots = (self.pointer + torch.arange(n, device=self.visual.device)) % self.length
        # Out of place: the previous buffers may still be saved for this step's backward pass.
        self.visual = self.visual.index_copy(0, slots, visual[-n:].detach().float())
        self.text = self.text.index_copy(0, slots, text[-n:].detach().float())
        self.image_ids = self.image_ids.index_copy(0, slots, image_ids[-n:].to(self.visual.device, torch.long))
        self.scene_ids = self.scene_ids.index_copy(0, slots, scene_ids[-n:].to(self.visual.device, torch.long))
        self.pointer = (self.pointer + n) % self.length
        self.filled = min(self.length, self.filled + n)

    def state_dict(self) -> dict[str, Any]:
        """Copies on the CPU: later pushes never change a state taken earlier."""

        def copy(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.detach().to("cpu", copy=True)

        return {
            "length": self.length,
            "pointer": self.pointer,
            "filled": self.filled,
            "visual": copy(self.visual),
            "text": copy(self.text),
            "image_ids": copy(self.image_ids),
            "scene_ids": copy(self.scene_ids),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        missing = [k for k in _STATE_KEYS if k not in state]
        if missing:
            raise RsbenchError(f"not a recycling-queue state: missing {', '.join(missing)}")
        self.length, self.pointer, self.filled = state["length"], int(state["pointer"]), int(state["filled"])
        for key in ("visual", "text", "image_ids", "scene_ids"):
            value = state[key]
            setattr(self, key, None if value is None else value.detach().clone())

    def _allocate(self, dim: int, device: torch.device) -> None:
        self.visual = torch.zeros(self.length, dim, device=device)
        self.text = torch.zeros(self.length, dim, device=device)
        self.image_ids = torch.full((self.length,), -1, dtype=torch.long, device=device)
        self.scene_ids = torch.full((self.length,), -1, dtype=torch.long, device=device)

    def _move_to(self, device: torch.device | None) -> None:
        if device is None or self.visual is None or self.visual.device == torch.device(device):
            return
        self.visual, self.text = self.visual.to(device), self.text.to(device)
        self.image_ids, self.scene_ids = self.image_ids.to(device), self.scene_ids.to(device)


def queue_negative_mask(
    image_ids: torch.Tensor,
    scene_ids: torch.Tensor,
    queue_image_ids: torch.Tensor,
    queue_scene_ids: torch.Tensor,
    exclude_same_image: bool = True,
    exclude_same_scene: bool = True,
) -> torch.Tensor:
    """(B, N) True where queue entry j may serve as a negative of the current pair i.

    Entries of pair i's image are never negatives (``exclude_same_image``); entries of its scene class
    are not either (``exclude_same_scene``, CMER §3.4: the pool is the queued samples "that have
    different scenario categories"), unless either scene is unknown (-1).
    """
    queue_image_ids, queue_scene_ids = queue_image_ids.to(image_ids.device), queue_scene_ids.to(image_ids.device)
    valid = torch.ones(len(image_ids), len(queue_image_ids), dtype=torch.bool, device=image_ids.device)
    if exclude_same_image:
        valid &= image_ids[:, None] != queue_image_ids[None, :]
    if exclude_same_scene:
        known = (scene_ids[:, None] >= 0) & (queue_scene_ids[None, :] >= 0)
        valid &= ~(known & (scene_ids[:, None] == queue_scene_ids[None, :]))
    return valid


class QueueSampler:
    """L = L_batch + weight * L_queue (CMER Eq. 22).

    L_batch is the configured loss over in-batch negatives, masked exactly as the `batch` sampler does
    (it is that sampler). L_queue is the difficulty-weighted hinge (Eq. 16-18) of each current pair
    against the queued earlier pairs: text anchors against Q_v (Eq. 16), image anchors against Q_s
    (Eq. 17). The queue holds detached embeddings, so gradients reach the current batch only; it is
    updated after the loss with the current batch, once per call. Its length is ``length``, or
    ``queue_multiple`` times the first batch's size. An empty queue (first step) gives L_queue = 0.
    """

    def __init__(self, config: QueueConfig, loss) -> None:
        self.config = config
        self.batch = BatchSampler(BatchConfig(exclude_same_image=config.exclude_same_image), loss)
        self.queue = RecyclingQueue(config.length)

    def __call__(
        self,
        image_emb: torch.Tensor,
        text_emb: torch.Tensor,
        logit_scale: torch.Tensor,
        image_ids: torch.Tensor,
        scene_ids: torch.Tensor,
        **extra: Any,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        loss_batch, _ = self.batch(image_emb, text_emb, logit_scale, image_ids, scene_ids, **extra)
        if self.queue.length is None:
            self.queue.length = c.queue_multiple * len(image_emb)
        fill = len(self.queue)  # entries this step's L_queue sees (the current batch is pushed after)
        queued = self.queue.entries(image_emb.device)
        if queued:
            q_visual, q_text, q_image_ids, q_scene_ids = queued
            valid = queue_negative_mask(image_ids, scene_ids, q_image_ids, q_scene_ids,
                                        c.exclude_same_image, c.exclude_same_scene)
            options = {"reduction": c.reduction, "detach_weight": c.detach_weight}
            l_v = difficulty_weighted_hinge(text_emb, image_emb, q_visual, valid, c.margin, c.beta, **options)
            l_s = difficulty_weighted_hinge(image_emb, text_emb, q_text, valid, c.margin, c.beta, **options)
            loss_queue = l_v + l_s  # CMER Eq. (18)
            negatives = valid.sum(dim=1).float().mean()
        else:
            loss_queue = loss_batch.new_zeros((), dtype=torch.float32)
            negatives = loss_queue.detach()
        loss = loss_batch + c.weight * loss_queue  # CMER Eq. (22)
        self.queue.push(F.normalize(image_emb.detach().float(), dim=-1), F.normalize(text_emb.detach().float(), dim=-1),
                        image_ids, scene_ids)
        # One device-to-host copy for all logged numbers.
        parts = (loss, loss_batch, loss_queue, negatives)
        values = torch.stack([t.detach().float().to(loss.device) for t in parts]).tolist()
        logs = dict(zip(("loss", "loss_batch", "loss_queue", "queue_negatives"), values, strict=True))
        logs["queue_fill"] = float(fill)
        return loss, logs

    def state_dict(self) -> dict[str, Any]:
        return {"queue": self.queue.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from ``state_dict``; an empty dict (nothing was saved) leaves the queue as it is."""
        if not state:
            return
        if "queue" not in state:
            raise RsbenchError("not a queue-sampler state: expected a 'queue' entry")
        self.queue.load_state_dict(state["queue"])


def build(config: QueueConfig, loss) -> QueueSampler:
    """CMER negative-sample recycling: in-batch loss + difficulty-weighted hinge against FIFO queues (Eq. 16-22)."""
    return QueueSampler(config, loss)
