"""Registries: lookup, close-match suggestions, duplicates, wildcards, lazy factories."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rsbench.errors import RsbenchError, UnknownComponentError
from rsbench.registry import KINDS, NoOptions, Registry, config_description


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



@dataclass
class Sharpen:
    """cosine to an odd power

    The rest of the docstring says more; only its first line is the description.
    """

    power: int = field(default=3, metadata={"help": "the odd power"})


@dataclass
class Undocumented(Sharpen):  # no docstring of its own: @dataclass makes one up, "Undocumented(power: int = 3)"
    pass


def test_register_without_description_takes_the_config_docstrings_first_line():
    reg = Registry("reranker")
    assert reg.register("sharpened", make, Sharpen).description == "cosine to an odd power"
    assert reg.register("lazy", "rsbench.retrieval.rerankers.csls:build", Sharpen).description == \
        "cosine to an odd power"
    assert reg.register("told", make, Sharpen, "said here").description == "said here"  # an explicit one wins
    assert reg.register("told-positionally", make, Sharpen, "said here", "tests").source == "tests"
    assert config_description(Sharpen) == "cosine to an odd power"


def test_a_made_up_dataclass_docstring_or_no_options_is_no_description():
    assert Undocumented.__doc__.startswith("Undocumented(") and Opts.__doc__.startswith("Opts(")
    assert config_description(Undocumented) == config_description(Opts) == config_description(NoOptions) == ""
    reg = Registry("reranker")
    assert reg.register("sub", make, Undocumented).description == "Build a thing."  # the factory's, as before
    assert reg.register("opts", make, Opts).description == "Build a thing."
    assert reg.register("none", make).description == "Build a thing."  # NoOptions describes no component
    assert reg.register("lazy", "rsbench.retrieval.rerankers.csls:build", Undocumented).description == ""
    assert reg.register("empty", make, Sharpen, "").description == ""  # an explicit empty one is kept

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
