"""Fixtures of the captioning tests: toy images, a scripted captioner registered for one test, the tiny VLM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from rsbench.captioning.base import Captioner
from rsbench.registry import Component


@pytest.fixture
def image_records(tmp_path):
    """Six test records with real, distinct PNG images."""
    from rsbench.testing import toy_image_records

    return toy_image_records(tmp_path / "data", count=6)


@dataclass
class ScriptedOptions:
    tag: str = field(default="v1", metadata={"help": "part of describe(): another tag, another cache entry"})


class Scripted(Captioner):
    """Replies made by ``reply(record, retry)``; every call is written down (image ids, retry flag)."""

    def __init__(self, config: ScriptedOptions, reply: Callable[[Any, bool], Any], retry_failures: bool = True,
                 uses_prompt: bool = True, calls: list | None = None) -> None:
        self.config, self.reply = config, reply
        self.retry_failures, self.uses_prompt = retry_failures, uses_prompt
        self.calls = calls if calls is not None else []

    def describe(self) -> dict[str, Any]:
        return {"model": f"scripted-{self.config.tag}", "oracle": False}

    def caption(self, records, prompt, *, device="cpu", retry=False):
        self.calls.append(([r.image_id for r in records], retry))
        return [self.reply(record, retry) for record in records]


@pytest.fixture
def scripted(monkeypatch):
    """``scripted(reply, **flags) -> calls``: registers captioner ``scripted`` for one test; returns its call log."""
    from rsbench.hooks import get_registry

    registry = get_registry("captioner")

    def register(reply: Callable[[Any, bool], Any], **flags: Any) -> list:
        calls: list = []
        factory = lambda config: Scripted(config, reply, calls=calls, **flags)  # noqa: E731
        monkeypatch.setitem(registry.entries, "scripted",
                            Component("captioner", "scripted", factory, ScriptedOptions, "test captioner", "tests"))
        return calls

    return register


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory):
    """A tiny random LLaVA-NeXT saved to a folder, as a downloaded model would be."""
    from rsbench.testing.tiny_vlm import write_tiny_vlm

    return write_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm") / "model")
