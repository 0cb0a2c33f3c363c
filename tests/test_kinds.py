"""The one table of component kinds (rsbench/kinds.py): each kind has a hook, a config section, a contract check
and a documented section; the places that enumerate kinds read it; ``build`` builds any kind by name. One layout for
a built-in component: its config in the ``config.py`` beside its module, its description written once (the config
docstring's first line), its registration one line."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import re
from collections import Counter
from pathlib import Path

import pytest

import rsbench.builtin
import rsbench.testing
from rsbench import config, registry
from rsbench.components import build
from rsbench.errors import ConfigError, RsbenchError, UnknownComponentError
from rsbench.hooks import manager, specs
from rsbench.kinds import KIND_TABLE, KINDS, Kind

PLUGINS_DOC = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
HOOKSPECS = {name for name, obj in vars(specs).items() if name.startswith("register_") and inspect.isfunction(obj)}


@dataclasses.dataclass(frozen=True)
class Registration:
    """One ``register(...)`` call of the built-in plugin, as written: ``description`` None when none is passed."""

    kind: str
    name: str
    factory: str
    config: type
    description: str | None


def builtin_registrations() -> list[Registration]:
    """What rsbench/builtin.py's hooks register, call by call."""
    calls: list[Registration] = []
    for kind in KIND_TABLE:
        def register(name, factory, config=registry.NoOptions, description=None, _kind=kind.name):
            calls.append(Registration(_kind, name, factory, config, description))

        getattr(rsbench.builtin, kind.hook)(register=register)
    return calls


BUILTINS = builtin_registrations()
# A config class that serves several names (the faiss indexes, rsitmd/ucm/sydney, the backbones) or none of its own
# (NoOptions) cannot say what each of them is: those registrations pass their description.
SHARED_CONFIGS = {config for config, uses in Counter(r.config for r in BUILTINS).items() if uses > 1} | {
    registry.NoOptions}


def referencing_configs(kind: str) -> list[type]:
    """Registered config classes whose options name a ``kind`` (``references``), e.g. strategies naming an index."""
    return [c.config_cls for reg in registry.registries().values() for c in reg.list()
            if kind in getattr(c.config_cls, "references", {})]


@pytest.mark.parametrize("kind", KIND_TABLE, ids=lambda k: k.name)
def test_every_kind_has_a_hook_a_section_a_check_and_docs(kind: Kind) -> None:
    assert kind.hook in HOOKSPECS, f"{kind.name}: no hookspec {kind.hook} in rsbench/hooks/specs.py"
    if kind.top_level:
        sections = config.OPTIONAL_SECTIONS if kind.optional else config.COMPONENT_SECTIONS
        assert kind.section in sections
        if not kind.optional:
            assert kind.section in config.default_config()
    else:  # named in another section's options: some registered config there declares the reference
        section, _, field = kind.section.partition(".")
        configs = referencing_configs(kind.name)
        assert configs, f"{kind.name}: no registered config declares references to it"
        assert all(field in {f.name for f in dataclasses.fields(c)} for c in configs)
        assert section in config.COMPONENT_SECTIONS
    check = kind.load_check()
    assert callable(check) and check.__name__ in rsbench.testing.__all__
    assert re.search(rf"^## {re.escape(kind.doc)}$", PLUGINS_DOC, re.MULTILINE), \
        f"docs/plugins.md has no '## {kind.doc}' section"


def test_every_register_hook_is_a_kind_and_the_table_is_what_enumerates_kinds() -> None:
    assert HOOKSPECS - {"register_commands"} == {k.hook for k in KIND_TABLE}
    assert registry.KINDS == KINDS and len(set(KINDS)) == len(KINDS) == 11
    assert manager.HOOK_OF_KIND == {k.name: k.hook for k in KIND_TABLE}
    assert set(registry.registries()) == set(KINDS)
    assert (*config.COMPONENT_SECTIONS, *config.OPTIONAL_SECTIONS) == tuple(k.section for k in KIND_TABLE
                                                                           if k.top_level)


def test_the_built_in_plugin_is_an_entry_point_like_any_other() -> None:
    builtin, *_ = manager._entry_points()
    assert (builtin.name, builtin.value, builtin.group) == (manager.BUILTIN_NAME, "rsbench.builtin", "rsbench")
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"{manager.BUILTIN_NAME}" = "rsbench.builtin"' in pyproject.split("[project.entry-points.rsbench]")[1]


def test_build_makes_any_kind_by_name_or_section() -> None:
    reranker = build("reranker", {"name": "qb-norm", "beta": 7.0})
    assert type(reranker).__name__ == "QbNorm" and reranker.config.beta == 7.0
    index = build("index", "exact", 6)  # the kind's build argument: the dimension
    assert index.dim == 6 and index.ntotal == 0
    with pytest.raises(UnknownComponentError, match="unknown reranker 'csl'. Did you mean: csls"):
        build("reranker", "csl")
    with pytest.raises(ConfigError, match="unknown config key 'reranker.bta'. Did you mean: beta"):
        build("reranker", {"name": "qb-norm", "bta": 7})
    with pytest.raises(RsbenchError, match="unknown component kind 'rerankers'. Did you mean: reranker"):
        build("rerankers", "csls")


def test_the_old_build_helpers_are_build_under_their_names() -> None:
    from rsbench.data import load_dataset
    from rsbench.retrieval.index import make_index
    from rsbench.retrieval.rerankers import make_reranker
    from rsbench.text.encoders import build_text_encoder

    assert type(make_reranker("csls", k=3)) is type(build("reranker", {"name": "csls", "k": 3}))
    assert make_reranker("csls", k=3).config == build("reranker", {"name": "csls", "k": 3}).config
    assert make_index("hnsw", 4, ef_search=9).config == build("index", {"name": "hnsw", "ef_search": 9}, 4).config
    with pytest.raises(UnknownComponentError, match="unknown dataset 'synthr'. Did you mean: synthrs"):
        load_dataset("synthr")
    with pytest.raises(ConfigError, match="unknown config key 'dataset.num_imgs'. Did you mean: num_images"):
        load_dataset("synthrs", {"num_imgs": 3})
    with pytest.raises(ConfigError, match="unknown config key 'strategy.text_encoder_options.modle'"):
        build_text_encoder("clip-text", {"modle": "x"}, where="strategy.text_encoder_options.")


def test_references_are_checked_when_the_config_resolves_not_in_post_init() -> None:
    from rsbench.retrieval.strategies.config import DualStreamConfig

    assert DualStreamConfig(index="no-such-index").index == "no-such-index"  # a config class looks nothing up
    with pytest.raises(ConfigError, match="^strategy.index: unknown index 'hnws'. Did you mean: hnsw"):
        config.build_config(None, {}, ["strategy.index=hnws"])
    with pytest.raises(ConfigError, match="^strategy.index_options: index hnsw has no option nprobe"):
        config.build_config(None, {}, ["strategy.index=hnsw", "strategy.index_options.nprobe=4"])
    with pytest.raises(ConfigError, match="^unknown config key 'strategy.text_encoder_options.modle'"):
        config.build_config(None, {}, ["strategy.name=text-to-text", "strategy.text_encoder_options.modle=x"])
    with pytest.raises(ConfigError, match="^strategy.text_encoder_options must be a mapping, got 3"):
        config.build_config(None, {}, ["strategy.name=hybrid", "strategy.text_encoder_options=3"])


def config_module_of(factory: str) -> str:
    """Where a component's config class belongs: the ``config`` module of the package holding its factory's module
    (``rsbench.train.losses.hinge:build`` -> ``rsbench.train.losses.config``; a factory in a package's
    ``__init__``, ``rsbench.models.backbones:build_backbone``, -> ``rsbench.models.backbones.config``)."""
    module = factory.partition(":")[0]
    spec = importlib.util.find_spec(module)  # imports the parent packages only, never the (torch) module itself
    assert spec is not None, f"no module {module}"
    package = module if spec.submodule_search_locations is not None else module.rpartition(".")[0]
    return f"{package}.config"


def test_the_builtin_plugin_registers_every_builtin_component_once() -> None:
    assert len(BUILTINS) > 40 and all(isinstance(r.factory, str) and ":" in r.factory for r in BUILTINS)
    names = {(c.kind, c.name) for reg in registry.registries().values() for c in reg.list()
             if c.source == registry.BUILTIN_SOURCE}
    assert names == {(r.kind, r.name) for r in BUILTINS} and len(names) == len(BUILTINS)


@pytest.mark.parametrize("reg", BUILTINS, ids=lambda r: f"{r.kind}:{r.name}")
def test_a_builtin_config_lives_in_the_config_py_beside_its_component(reg: Registration) -> None:
    """The rule: the ``config.py`` of the folder that holds the factory's module. NoOptions (a component without
    options) is the one exception; the backbones' shared config follows the rule (their factory is the package's)."""
    if reg.config is registry.NoOptions:
        return
    expected = config_module_of(reg.factory)
    assert reg.config.__module__ == expected, (
        f"{reg.kind} '{reg.name}': config {reg.config.__name__} is defined in {reg.config.__module__}; "
        f"it belongs in {expected} (the config.py beside {reg.factory.partition(':')[0]})")


@pytest.mark.parametrize("reg", BUILTINS, ids=lambda r: f"{r.kind}:{r.name}")
def test_a_builtin_description_is_written_once_in_the_config_docstring(reg: Registration) -> None:
    listed = registry.get_registry(reg.kind).get(reg.name).description
    if reg.config in SHARED_CONFIGS:
        assert reg.description, f"{reg.kind} '{reg.name}': {reg.config.__name__} serves several names; pass the " \
                                "description"
        assert listed == reg.description
        return
    assert reg.description is None, (
        f"{reg.kind} '{reg.name}': the description is written in rsbench/builtin.py; make it the first line of "
        f"{reg.config.__name__}'s docstring instead")
    first_line = inspect.cleandoc(reg.config.__doc__ or "").splitlines()[0]
    assert listed == first_line == registry.config_description(reg.config)
    assert first_line and not first_line.startswith(f"{reg.config.__name__}("), \
        f"{reg.config.__name__} has no docstring of its own"
