"""docs/plugins.md cannot drift: every hook and every check is documented, and every example runs and
passes rsbench.testing's contract checks."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import rsbench.testing
from rsbench.hooks import specs
from rsbench.registry import plural

DOC = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
EXAMPLES = dict(re.findall(r"```python\n# example: (\w+)\n(.*?)```", DOC, flags=re.S))
HOOKS = sorted(n for n, f in vars(specs).items() if n.startswith("register_") and inspect.isfunction(f))
CHECKS = sorted(n for n, f in vars(rsbench.testing).items() if n.startswith("check_") and inspect.isfunction(f))


def test_readme_links_the_contract():
    assert "docs/plugins.md" in README


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    assert f"`{hook}(" in DOC


@pytest.mark.parametrize("check", CHECKS)
def test_every_check_is_documented(check):
    assert f"`{check}(" in DOC


def registered(kind: str) -> tuple[str, object, type]:
    """Run the example for ``kind`` and return what its hook registered: (name, factory, config class)."""
    namespace: dict = {}
    exec(compile(EXAMPLES[kind], f"docs/plugins.md example {kind}", "exec"), namespace)
    calls = []
    namespace[f"register_{plural(kind)}"](
        lambda name, factory, config, description=None: calls.append((name, factory, config)))
    assert len(calls) == 1
    return calls[0]


def test_there_is_an_example_for_every_component_kind_but_backbones():
    assert set(EXAMPLES) == {"adapter", "loss", "sampler", "augmenter", "strategy", "reranker", "index", "dataset",
                             "text_encoder", "captioner"}


@pytest.mark.parametrize("kind", ["adapter", "loss", "sampler", "augmenter", "strategy", "reranker", "index",
                                  "dataset", "text_encoder", "captioner"])
def test_documented_example_keeps_the_contract(kind):
    name, factory, config_cls = registered(kind)
    rsbench.testing.check_config(config_cls)
    config = config_cls()
    if kind == "adapter":
        rsbench.testing.check_adapter(lambda backbone: factory(config, backbone))
    elif kind == "loss":
        rsbench.testing.check_loss(factory(config))
    elif kind == "sampler":
        rsbench.testing.check_sampler(lambda loss: factory(config, loss))
    elif kind == "augmenter":
        rsbench.testing.check_augmenter(lambda dataset: factory(config, dataset))
    elif kind == "strategy":
        rsbench.testing.check_strategy(factory(config))
    elif kind == "reranker":
        rsbench.testing.check_reranker(factory(config))
    elif kind == "index":
        rsbench.testing.check_index(lambda dim: factory(config, dim))
    elif kind == "text_encoder":
        rsbench.testing.check_text_encoder(factory(config))
    elif kind == "captioner":
        rsbench.testing.check_captioner(factory(config))
    else:
        rsbench.testing.check_dataset(factory(config))


def test_the_options_example_runs_and_says_what_the_text_says():
    from rsbench.errors import ConfigError
    from rsbench.options import build_options

    block = re.search(r"### Options\n.*?```python\n(.*?)```", DOC, flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "docs/plugins.md options example", "exec"), namespace)
    config_cls = namespace["MyRerankConfig"]
    rsbench.testing.check_config(config_cls)
    with pytest.raises(ConfigError) as info:
        build_options(config_cls, {"beta": -1}, "reranker.")
    assert str(info.value) == "reranker.beta must be > 0; got -1.0" and f"`{info.value}`" in DOC
    with pytest.raises(ConfigError, match="Did you mean: beta") as info:
        build_options(config_cls, {"bta": 1}, "reranker.")
    with pytest.raises(ConfigError, match=r"^reranker: cap \(2\) must be at least k \(10\)$"):
        build_options(config_cls, {"cap": 2}, "reranker.")


def test_the_readme_plugin_example_registers_and_keeps_the_contract():
    block = re.search(r"```python\n# mypkg/plugin.py\n(.*?)```", README, flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md plugin example", "exec"), namespace)
    calls = []
    namespace["register_augmenters"](lambda *args: calls.append(args))
    (name, factory, config_cls, _), = calls
    rsbench.testing.check_config(config_cls)
    rsbench.testing.check_augmenter(lambda dataset: factory(config_cls(), dataset))
