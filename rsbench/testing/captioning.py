"""The captioner's contract check, and toy records with real image files for captioners that read pixels."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rsbench.data.record import Record
from rsbench.testing.rules import require

COLOURS = ((200, 40, 40), (40, 160, 60), (40, 80, 200), (220, 200, 60), (120, 120, 120), (250, 250, 250))
# Tall, wide and square: a VLM whose image tokens depend on the shape (LLaVA-NeXT, Qwen2-VL) pads such a batch.
SHAPES = ((1, 2), (2, 1), (1, 1), (2, 3), (3, 2), (2, 2))


def toy_image_records(folder: str | Path, count: int = 4, size: int = 24) -> list[Record]:
    """``count`` test-split records whose PNG images (colours, shapes and a dark square, no two alike) go into
    ``folder``."""
    from PIL import Image, ImageDraw

    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(count):
        width, height = (size * k for k in SHAPES[i % len(SHAPES)])
        image = Image.new("RGB", (width, height), COLOURS[i % len(COLOURS)])
        draw = ImageDraw.Draw(image)
        draw.rectangle((i % size, 2, i % size + size // 3, size // 2), fill=(0, 0, 0))
        if i >= size:  # the square's place repeats every `size` images: a bar whose length counts the rounds
            draw.rectangle((0, size // 2 + 2, 2 * (i // size), size // 2 + 3), fill=(255, 255, 255))
        name = f"toy_{i}.png"
        image.save(folder / "images" / name)
        records.append(Record(folder / "images" / name, name, (f"toy image number {i}",), None, "test"))
    return records


def check_captioner(captioner: Any, records: Sequence[Record] | None = None, prompt: str = "trsllava", *,
                    deterministic: bool = True) -> None:
    """A captioner: ``describe()`` is stable JSON naming ``model`` and ``oracle``; ``caption(records, prompt)``
    returns one reply per record (a non-empty str, a non-empty list of non-empty str, or a CaptionFailure), ``[]``
    for no records, and — for a
    ``deterministic`` captioner — the same replies batched as one by one, so no reply lands on another image.

    Without ``records``, four toy images are written to a temporary folder.
    """
    from rsbench.captioning.base import CaptionFailure
    from rsbench.captioning.prompt import load_prompt

    where = f"captioner {type(captioner).__name__}"
    for attr in ("uses_prompt", "retry_failures"):
        require(isinstance(getattr(captioner, attr, None), bool), where, f"'{attr}' must be a bool")
    require(callable(getattr(captioner, "caption", None)), where, "must have caption(records, prompt, device=...)")
    identity = captioner.describe()
    require(isinstance(identity, dict) and isinstance(identity.get("model"), str)
            and isinstance(identity.get("oracle"), bool), where,
            "describe() must return a dict with 'model' (str) and 'oracle' (bool)")
    try:
        json.dumps(identity, sort_keys=True)
    except (TypeError, ValueError):
        require(False, where, "describe() must be JSON-serialisable (it keys the cache and goes into records)")
    require(captioner.describe() == identity, where, "describe() must not change between calls")
    loaded = load_prompt(prompt)
    with tempfile.TemporaryDirectory(prefix="rsbench-captioner-check-") as temp:
        records = list(records) if records is not None else toy_image_records(temp)
        require(captioner.caption([], loaded, device="cpu") in ([], ()), where, "caption([]) must return []")
        replies = captioner.caption(records, loaded, device="cpu")
        require(isinstance(replies, list | tuple) and len(replies) == len(records), where,
                f"caption(records) must return one reply per record ({len(records)})")
        for reply in replies:
            ok = isinstance(reply, str | CaptionFailure) or (
                isinstance(reply, list | tuple) and all(isinstance(c, str) for c in reply))
            require(ok, where, f"a reply must be a str, a list of str or a CaptionFailure; got {reply!r:.80}")
            if not isinstance(reply, CaptionFailure):
                variants = [reply] if isinstance(reply, str) else list(reply)
                require(bool(variants) and all(v.strip() for v in variants), where,
                        f"a reply must hold at least one caption and no empty one; got {reply!r:.80} (report an "
                        f"image you could not describe as CaptionFailure(reason))")
        if replies and all(isinstance(r, CaptionFailure) for r in replies):
            require(False, where, f"every image failed ({replies[0].reason}); the check needs some replies")
        if deterministic:
            single = [captioner.caption([record], loaded, device="cpu")[0] for record in records]
            require(_comparable(single) == _comparable(replies), where,
                    "replies for a batch must equal replies for its records one by one (same order, same text)")
        retried = captioner.caption(records[:1], loaded, device="cpu", retry=True)
        require(isinstance(retried, list | tuple) and len(retried) == 1, where,
                "caption(records, retry=True) must return one reply per record too")


def _comparable(replies: Sequence[Any]) -> list[Any]:
    return [list(r) if isinstance(r, list | tuple) else r for r in replies]
