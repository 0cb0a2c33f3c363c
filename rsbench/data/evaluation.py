"""What an evaluation reads from a split: its images as tensors, and every caption as a query of its image."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from rsbench.data.record import Record
from rsbench.errors import DataError


def load_image(record: Record) -> Image.Image:
    try:
        with Image.open(record.image) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        from rsbench.data.procedural import generated_root

        generated = generated_root(record.image)
        fix = f"; it is part of the generated dataset {generated}: delete that folder and it is generated again" \
            if generated is not None else ""
        raise DataError(f"cannot read image {record.image_id} ({record.image}): {exc}{fix}") from exc



class EvalImages(Dataset):
    def __init__(self, records: Sequence[Record], transform: Callable) -> None:
        self.records = list(records)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(load_image(self.records[index]))



def eval_captions(
    records: Sequence[Record], at_query: Callable[[str, Record], str]
) -> tuple[list[str], list[int]]:
    """Every caption of the split as a query, with the index of its image (the protocol's layout)."""
    captions, caption_to_image = [], []
    for i, record in enumerate(records):
        for caption in record.captions:
            captions.append(at_query(caption, record))
            caption_to_image.append(i)
    return captions, caption_to_image


