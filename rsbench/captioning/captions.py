"""Captions for a list of records, through the cache: what ``rsbench caption`` runs and other stages call.

``caption_records`` looks every image up in the caption cache, asks the captioner only for the ones it lacks (or
whose last try failed), in batches, parses each reply with the prompt's parser, asks a failed image once more
where the captioner says a second try can differ, and appends each finished batch to the cache. A failure is
counted and reported, never a crash; an error that rules out every image (unknown captioner, bad option, refused
key) is one ``RsbenchError`` before or between batches, with the batches already finished kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rsbench.captioning.base import CaptionFailure
from rsbench.captioning.cache import CaptionCache, default_cache_dir
from rsbench.captioning.images import image_sha256
from rsbench.captioning.prompt import Prompt, ReplyError, load_prompt
from rsbench.data.record import Record
from rsbench.errors import DataError, RsbenchError

FAILURE_EXAMPLES = 5  # failures named in the provenance (all are counted)


@dataclass
class CaptionSet:
    """Caption variants per record, in the records' order (``[]`` where captioning failed), and where they came from."""

    per_image: list[list[str]]
    failures: int
    provenance: dict[str, Any] = field(default_factory=dict)


def build_captioner(captioner_name: str, options: dict[str, Any] | Any | None) -> tuple[Any, Any]:
    """The registered captioner ``captioner_name`` built with ``options`` (a dict, validated, or its config object)."""
    from rsbench.config import resolve_component
    from rsbench.registry import get_registry

    component = get_registry("captioner").get(captioner_name)
    if options is None or isinstance(options, dict):  # as rsbench.components.build, keeping the options it used
        _, config = resolve_component("captioner", {"name": captioner_name, **(options or {})})
    elif isinstance(options, component.config_cls):
        config = options
    else:
        raise RsbenchError(f"captioner '{captioner_name}' takes options as a dict or a "
                           f"{component.config_cls.__name__}; got {type(options).__name__}")
    return component.build(config), config


def _read_reply(reply: Any, prompt: Prompt, uses_prompt: bool, where: str) -> list[str] | CaptionFailure:
    """Caption variants from one reply, or the failure it is; a reply of the wrong type breaks the contract."""
    if isinstance(reply, CaptionFailure):
        return reply
    if isinstance(reply, str):
        if not uses_prompt:  # a captioner whose replies do not follow the prompt: the text is the caption
            return [reply.strip()] if reply.strip() else CaptionFailure("empty reply")
        try:
            return prompt.parse(reply)
        except ReplyError as exc:
            return CaptionFailure(f"reply does not parse: {exc}")
    if isinstance(reply, list | tuple) and all(isinstance(c, str) for c in reply):
        captions = [c.strip() for c in reply if c.strip()]
        return captions if captions else CaptionFailure("no captions")
    raise RsbenchError(f"{where} returned a {type(reply).__name__} for an image; a captioner returns per image a "
                       f"str, a list of str or a CaptionFailure (docs/plugins.md)")


class CaptionRun:
    """One pass of a captioner over records through the cache; ``run()`` returns the CaptionSet."""

    def __init__(self, records: Sequence[Record], captioner_name: str, options: dict[str, Any] | Any | None = None,
                 *, prompt: str | Path = "trsllava", cache_dir: Path | None = None, device: str = "cpu",
                 batch_size: int = 8) -> None:
        if batch_size < 1:
            raise RsbenchError(f"batch size must be at least 1; got {batch_size}")
        self.records = list(records)
        self.name = captioner_name
        self.captioner, self.config = build_captioner(captioner_name, options)
        self.prompt = load_prompt(prompt)
        self.device = device
        self.batch_size = batch_size
        self.identity = self.captioner.describe()
        self.uses_prompt = bool(getattr(self.captioner, "uses_prompt", True))
        self.cache = CaptionCache(cache_dir if cache_dir is not None else default_cache_dir(), captioner_name,
                                  self.identity, self.prompt.describe() if self.uses_prompt else None)
        self.counts = {"images": len(self.records), "from_cache": 0, "captioned": 0, "failed": 0, "retried": 0,
                       "recovered_by_retry": 0}
        self.failure_examples: list[dict[str, str]] = []
        self.seconds = 0.0

    def _ask(self, records: list[Record], retry: bool) -> list[list[str] | CaptionFailure]:
        replies = self.captioner.caption(records, self.prompt, device=self.device, retry=retry)
        where = f"captioner '{self.name}'"
        if not isinstance(replies, list | tuple) or len(replies) != len(records):
            got = len(replies) if isinstance(replies, list | tuple) else type(replies).__name__
            raise RsbenchError(f"{where} returned {got} replies for {len(records)} images (docs/plugins.md)")
        return [_read_reply(r, self.prompt, self.uses_prompt, where) for r in replies]

    def _batch(self, records: list[Record]) -> list[list[str] | CaptionFailure]:
        results = self._ask(records, retry=False)
        again = [i for i, r in enumerate(results) if isinstance(r, CaptionFailure)]
        if again and getattr(self.captioner, "retry_failures", True):
            self.counts["retried"] += len(again)
            for i, result in zip(again, self._ask([records[i] for i in again], retry=True), strict=True):
                if not isinstance(result, CaptionFailure):
                    self.counts["recovered_by_retry"] += 1
                    results[i] = result
                else:  # keep both reasons: the first try's often says more
                    first = results[i].reason  # type: ignore[union-attr]
                    results[i] = result if result.reason == first else CaptionFailure(
                        f"{first}; retry: {result.reason}")
        return results

    def run(self, progress: bool = False, on_batch: Callable[[int, int], None] | None = None) -> CaptionSet:
        """Caption what the cache lacks; ``on_batch(done, failed)`` is called after each batch is written."""
        start = time.perf_counter()
        self.cache.check()
        check = getattr(self.captioner, "check", None)
        if callable(check):
            check(self.records)
        hashes: list[str | None] = []
        unreadable: dict[int, str] = {}
        for i, record in enumerate(self.records):
            try:
                hashes.append(image_sha256(record.image))
            except DataError as exc:
                hashes.append(None)
                unreadable[i] = str(exc)
        known = self.cache.load()
        todo: dict[str, Record] = {}  # one request per distinct picture, in the records' order
        for record, digest in zip(self.records, hashes, strict=True):
            if digest is None:
                continue
            if digest in known and known[digest].get("captions"):
                self.counts["from_cache"] += 1
            elif digest not in todo:
                todo[digest] = record
        made: dict[str, list[str] | CaptionFailure] = {}
        pending = list(todo.items())
        with _progress_bar(progress, len(pending), self.counts["from_cache"]) as advance:
            for begin in range(0, len(pending), self.batch_size):
                chunk = pending[begin:begin + self.batch_size]
                results = self._batch([record for _, record in chunk])
                lines = []
                for (digest, record), result in zip(chunk, results, strict=True):
                    made[digest] = result
                    entry: dict[str, Any] = {"image": digest, "image_id": record.image_id}
                    if isinstance(result, CaptionFailure):
                        entry["failure"] = result.reason
                    else:
                        entry["captions"] = result
                    lines.append(entry)
                self.cache.append(lines)
                failed = sum(isinstance(r, CaptionFailure) for r in results)
                advance(len(chunk), failed)
                if on_batch is not None:
                    on_batch(len(chunk), failed)
        per_image: list[list[str]] = []
        for i, (record, digest) in enumerate(zip(self.records, hashes, strict=True)):
            result: Any = made.get(digest) if digest is not None else CaptionFailure(unreadable[i])
            if result is None:
                result = known[digest]["captions"]  # type: ignore[index]
            if isinstance(result, CaptionFailure):
                per_image.append([])
                if len(self.failure_examples) < FAILURE_EXAMPLES:
                    self.failure_examples.append({"image_id": record.image_id, "reason": result.reason})
            else:
                per_image.append(list(result))
        self.counts["captioned"] = sum(not isinstance(r, CaptionFailure) for r in made.values())
        self.counts["failed"] = sum(1 for captions in per_image if not captions)
        self.seconds = time.perf_counter() - start
        return CaptionSet(per_image, self.counts["failed"], self.provenance())

    def provenance(self) -> dict[str, Any]:
        """What records say of these captions: who made them, from which prompt, and how many failed."""
        return {
            "captioner": self.name,
            "model": str(self.identity.get("model", "")),
            "oracle": bool(self.identity.get("oracle", False)),
            "identity": self.identity,
            "prompt": self.prompt.describe() if self.uses_prompt else None,
            "cache": str(self.cache.path),
            "counts": dict(self.counts),
            "failure_examples": list(self.failure_examples),
        }


class _progress_bar:  # noqa: N801  (used as a context manager, like a function)
    """A rich progress bar on stderr (images/s and failures), or nothing when ``enabled`` is False."""

    def __init__(self, enabled: bool, total: int, from_cache: int) -> None:
        self.enabled, self.total, self.from_cache = enabled and total > 0, total, from_cache
        self.failed = 0

    def __enter__(self) -> Callable[[int, int], None]:
        if not self.enabled:
            return lambda done, failed: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("captioning"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} images/s"), TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(), TextColumn(f"({self.from_cache} from the cache)"),
            console=Console(stderr=True),
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("captioning", total=self.total, rate="-", failed=0)
        self.started = time.perf_counter()

        def advance(done: int, failed: int) -> None:
            self.failed += failed
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            finished = self.bar.tasks[0].completed + done
            self.bar.update(self.task, advance=done, failed=self.failed, rate=f"{finished / elapsed:.2f}")

        return advance

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)


def caption_records(records: Sequence[Record], captioner_name: str, options: dict[str, Any] | Any | None = None, *,
                    prompt: str = "trsllava", cache_dir: Path | None = None, device: str = "cpu",
                    batch_size: int = 8, progress: bool = False) -> CaptionSet:
    """Caption variants for every record through the caption cache (see the module docstring).

    ``options``: the captioner's options as a dict (validated like ``--set captioner.x=y``) or its config
    dataclass. ``prompt``: ``trsllava``, ``plain`` or the path of a prompt file. Only images the cache lacks
    reach the captioner; a second call with the same arguments asks it nothing.
    """
    return CaptionRun(records, captioner_name, options, prompt=prompt, cache_dir=cache_dir, device=device,
                      batch_size=batch_size).run(progress=progress)
