"""Declarative config options: rules written on the field, checked once, on construction and from user input."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pytest

from rsbench.errors import ConfigError, RsbenchError
from rsbench.options import Options, build_options, check_config_class, option


@dataclass
class Demo(Options):
    """A config with one field of each rule."""

    rate: float = option(0.5, "a rate in [0, 1)", ge=0, lt=1)
    k: int = option(3, "how many", ge=1)
    scale: float = option(1.0, "a positive scale", gt=0)
    label: str = option("x", "a label", nonempty=True)
    url: str = option("https://a", "an address", prefix=("http://", "https://"))
    unbounded: float = option(1.0, "may be infinite", finite=False)
    plain: float = field(default=1.0, metadata={"help": "declared without option(): no rules"})
    mode: str = option("a", "a mode", choices=("a", "b"))
    widths: list[int] = option([4, 8], "widths", nonempty=True, gt=0)
    cap: int | None = option(None, "an optional cap", ge=1)
    kind: Literal["one", "all"] = option("one", "a literal")
    low: float = option(0.1, "must stay under high")
    high: float = option(0.9, "must stay over low")

    def validate(self) -> None:
        if self.low >= self.high:
            raise ConfigError(f"low ({self.low}) must be below high ({self.high})")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("rate", 1.0, "demo.rate must be >= 0 and < 1; got 1.0"),
    ("rate", -0.1, "demo.rate must be >= 0 and < 1; got -0.1"),
    ("k", 0, "demo.k must be >= 1; got 0"),
    ("k", 2.5, "demo.k must be an integer; got 2.5"),
    ("scale", 0, "demo.scale must be > 0; got 0.0"),
    ("scale", math.inf, "demo.scale must be a finite number > 0; got inf"),
    ("scale", "nan", "demo.scale must be a finite number > 0; got nan"),
    ("label", "  ", "demo.label must not be empty; got '  '"),
    ("url", "ftp://a", "demo.url must start with 'http://' or 'https://'; got 'ftp://a'"),
    ("mode", "c", "demo.mode must be one of 'a', 'b'; got 'c'"),
    ("widths", [], "demo.widths must not be empty; got []"),
    ("widths", [4, 0], "demo.widths[1] must be > 0; got 0"),
    ("widths", [4, "x"], "demo.widths[1] must be an integer; got 'x'"),
    ("cap", 0, "demo.cap must be >= 1; got 0"),
    ("cap", "x", "demo.cap must be an integer; got 'x' (or null)"),
    ("kind", "some", "demo.kind must be one of 'one', 'all'; got 'some'"),
    ("rat", 0.5, "unknown config key 'demo.rat'. Did you mean: rate?"),
])
def test_each_rule_refuses_a_bad_value_naming_the_full_key(key, value, message):
    with pytest.raises(ConfigError) as info:
        build_options(Demo, {key: value}, "demo.")
    assert str(info.value).startswith(message)


def test_good_values_are_converted_and_none_passes_the_rules():
    config = build_options(Demo, {"rate": 0, "scale": "1e-4", "cap": None, "widths": [1, 2.0], "url": "http://b",
                                  "unbounded": "inf", "plain": float("nan")}, "demo.")
    assert config.unbounded == math.inf and math.isnan(config.plain)  # finite=False; no option(): no rules
    assert config.rate == 0.0 and isinstance(config.rate, float)
    assert config.scale == 1e-4 and config.widths == [1, 2] and isinstance(config.widths[1], int)
    assert config.cap is None


def test_rules_across_fields_live_in_validate_and_name_the_section():
    with pytest.raises(ConfigError, match=r"^demo: low \(0.95\) must be below high \(0.9\)$"):
        build_options(Demo, {"low": 0.95, "high": 0.9}, "demo.")


def test_construction_in_python_checks_the_same_rules():
    with pytest.raises(ConfigError, match="k must be >= 1; got 0"):
        Demo(k=0)
    assert Demo(scale=2).scale == 2.0 and isinstance(Demo(scale=2).scale, float)


def test_a_mutable_default_is_copied_for_each_instance():
    first, second = Demo(), Demo()
    first.widths.append(16)
    assert second.widths == [4, 8] and Demo().widths == [4, 8]


@dataclass
class Unannotated:
    """Broken: an attribute without a type."""

    beta = 5


@dataclass
class NoDefault:
    """Broken: a field without a default."""

    beta: float = option(help="inverse temperature")


@dataclass
class WrongType:
    """Broken: an int field with a float default."""

    beta: int = option(0.5, "inverse temperature")


@dataclass
class NoHelp:
    """Broken: a field nobody explained."""

    beta: float = field(default=1.0)


@dataclass
class BreaksOwnRule:
    """Broken: a default outside its bounds."""

    beta: float = option(-1.0, "inverse temperature", gt=0)


@dataclass
class RedefinesWithoutType(Demo):
    """Broken: a subclass that means to change an inherited default (a dataclass keeps the parent's)."""

    k = 5


@pytest.mark.parametrize(("cls", "problem"), [
    (RedefinesWithoutType, "attribute 'k' redefines an inherited option without a type annotation"),
    (Unannotated, "attribute 'beta' has no type annotation"),
    (NoDefault, "field 'beta' has no default"),
    (WrongType, "the default of field 'beta' is wrong: beta must be an integer; got 0.5"),
    (NoHelp, "field 'beta' has no help text"),
    (BreaksOwnRule, "the default of field 'beta' is wrong: beta must be > 0; got -1.0"),
    (dict, "config must be a dataclass class"),
])
def test_registration_refuses_each_config_mistake_naming_component_and_field(cls, problem):
    with pytest.raises(RsbenchError) as info:
        check_config_class(cls, "reranker", "mine")
    assert str(info.value).startswith("reranker 'mine': ") and problem in str(info.value)


def test_a_correct_config_and_an_old_style_one_pass_registration():
    @dataclass
    class OldStyle:
        """Fields with metadata help and a __post_init__ check: still accepted."""

        name: str = "mine"
        beta: float = field(default=1.0, metadata={"help": "inverse temperature"})

        def __post_init__(self) -> None:
            if self.beta <= 0:
                raise ConfigError("beta must be > 0")

    check_config_class(Demo, "reranker", "demo")
    check_config_class(OldStyle, "reranker", "old")
