"""Torch datasets over records: training pairs, evaluation images and evaluation captions."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from rsbench.data.evaluation import EvalImages, eval_captions, load_image  # noqa: F401  (re-exported: their old home)
from rsbench.data.record import Record


class TrainPairs(Dataset):
    """(image, caption) pairs for one epoch: each image once with a random caption, or all captions.

    ``extra_pairs(records, rng) -> [(record index, caption)]`` (the augmenter's ``extra_pairs``), if given, adds
    pairs to every epoch: their captions are used as they are, not passed through ``augment``.
    """

    def __init__(
        self,
        records: Sequence[Record],
        transform: Callable,
        augment: Callable[[str, Record, random.Random], str],
        scenes: Sequence[str],
        captions_per_epoch: str = "one",
        seed: int = 0,
        extra_pairs: Callable[[Sequence[Record], random.Random], list[tuple[int, str]]] | None = None,
    ) -> None:
        self.records = list(records)
        self.transform = transform
        self.augment = augment
        self.scene_index = {s: i for i, s in enumerate(scenes)}
        self.captions_per_epoch = captions_per_epoch
        self.seed = seed
        self.extra_pairs = extra_pairs
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        rng = random.Random(f"{self.seed}-{epoch}")
        if self.captions_per_epoch == "all":
            self.pairs: list[tuple[int, int | str]] = [
                (i, j) for i, r in enumerate(self.records) for j in range(len(r.captions))]
        else:
            self.pairs = [(i, rng.randrange(len(r.captions))) for i, r in enumerate(self.records)]
        if self.extra_pairs is not None:  # (i, caption str): an added pair, its caption used as it is
            self.pairs += [(int(i), str(c)) for i, c in self.extra_pairs(self.records, random.Random(
                f"{self.seed}-{epoch}-extra"))]
        self.rng_seed = f"{self.seed}-{epoch}"

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, int, int]:
        caption, i, scene = self.caption(index)
        return self.image(i), caption, i, scene

    def caption(self, index: int) -> tuple[str, int, int]:
        """Pair ``index``'s (augmented caption, image index, scene id)."""
        i, j = self.pairs[index]
        record = self.records[i]
        if isinstance(j, str):  # an extra pair (extra_pairs)
            caption = j
        else:
            caption = self.augment(record.captions[j], record, random.Random(f"{self.rng_seed}-{index}"))
        scene = self.scene_index.get(record.scene, -1) if record.scene is not None else -1
        return caption, i, scene

    def image(self, i: int) -> torch.Tensor:
        """Training image ``i`` through the training transform."""
        return self.transform(load_image(self.records[i]))


class CachedPairs(Dataset):
    """``TrainPairs`` with each image replaced by its cached frozen features (``train.cache_features``)."""

    def __init__(self, pairs: TrainPairs, cache) -> None:
        self.pairs, self.cache = pairs, cache

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[dict[str, torch.Tensor], str, int, int]:
        caption, i, scene = self.pairs.caption(index)
        return self.cache.read(i), caption, i, scene


def collate_pairs(tokenizer: Callable[[list[str]], torch.Tensor]):
    def collate(batch):
        images, captions, image_ids, scene_ids = zip(*batch, strict=True)
        if isinstance(images[0], dict):  # cached features (CachedPairs)
            stacked = {name: torch.stack([f[name] for f in images]) for name in images[0]}
        else:
            stacked = torch.stack(images)
        return (
            stacked,
            tokenizer(list(captions)),
            torch.tensor(image_ids),
            torch.tensor(scene_ids),
        )

    return collate
