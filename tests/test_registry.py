"""Registries: lookup, close-match suggestions, duplicates, wildcards, lazy factories."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rsbench.errors import RsbenchError, UnknownComponentError
from rsbench.registry import KINDS, Registry


@dataclass
class Opts:
    size: int = field(default=3, metadata={"help": "how big"})


def make(config):
    """Build a thing."""
    return ("built", config.size)


def test_register_get_build_and_description_from_docstring():
    reg = Registry("adapter")
    reg.register("clip-lora", make, Opts, source="tests")
    comp = reg.get("clip-lora")
    assert comp.description == "Build a thing."
    assert comp.build(Opts(5)) == ("built", 5)
    assert comp.config_fields() == [{"name": "size", "type": "int", "default": 3, "help": "how big",
                                    "rules": {}}]


def test_unknown_name_suggests_close_matches():
    reg = Registry("adapter")
    for name in ("clip-lora", "clip-bitfit", "clip-adapter", "focus"):
        reg.register(name, make, Opts)
    with pytest.raises(UnknownComponentError) as info:
        reg.get("clip-lorra")
    assert "Did you mean: clip-lora" in str(info.value)
    assert "rsbench list adapter" in str(info.value)


def test_duplicate_name_names_both_sources():
    reg = Registry("sampler")
    reg.register("queue", make, Opts, source="pkg-a")
    with pytest.raises(RsbenchError, match="registered twice: by pkg-a and by pkg-b"):
        reg.register("queue", make, Opts, source="pkg-b")


def test_wildcard_listing_and_lazy_factory():
    reg = Registry("loss")
    reg.register("infonce", "rsbench.train.losses.infonce:build", Opts, "lazy")
    reg.register("hinge", make, Opts)
    assert [c.name for c in reg.list("info*")] == ["infonce"]
    assert reg.get("infonce").load_factory().__name__ == "build"
    with pytest.raises(RsbenchError, match="module:attr"):
        reg.register("broken", "no_colon_here", Opts)
    with pytest.raises(RsbenchError, match="must be a dataclass"):
        reg.register("bad", make, dict)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_builtin_components(kind):
    from rsbench.hooks import get_registry

    assert get_registry(kind).list(), f"no built-in {kind}"


def test_unknown_kind():
    from rsbench.hooks import get_registry

    with pytest.raises(RsbenchError, match="Did you mean: adapter"):
        get_registry("adapters")
