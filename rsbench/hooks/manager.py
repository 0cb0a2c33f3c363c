"""Loads plugins (the built-in one first, then the ``rsbench`` entry-point group) into the registries.

This is the only module that talks to pluggy; the rest of rsbench asks for a registry by kind.
Set ``RSBENCH_DISABLE_PLUGINS=1`` to load built-ins only, or to a comma-separated list of
entry-point names to skip just those.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from dataclasses import dataclass, field
from typing import Any

import pluggy

from rsbench.errors import RsbenchError
from rsbench.hooks import specs
from rsbench.registry import KINDS, Registry

hookimpl = pluggy.HookimplMarker("rsbench")

HOOK_OF_KIND = {
    "backbone": "register_backbones",
    "adapter": "register_adapters",
    "sampler": "register_samplers",
    "augmenter": "register_augmenters",
    "strategy": "register_strategies",
    "reranker": "register_rerankers",
    "dataset": "register_datasets",
    "loss": "register_losses",
}
DISABLE_ENV = "RSBENCH_DISABLE_PLUGINS"
BUILTIN_NAME = "rsbench.builtin"


@dataclass
class PluginInfo:
    """What ``rsbench plugins`` shows for one loaded plugin."""

    name: str
    version: str
    source: str
    hooks: list[str] = field(default_factory=list)


@dataclass
class _State:
    pm: pluggy.PluginManager
    registries: dict[str, Registry]
    plugins: list[PluginInfo]


def _disabled_names() -> set[str] | None:
    """None: load every plugin. A set: skip those entry-point names ('*' skips all third-party)."""
    value = os.environ.get(DISABLE_ENV, "").strip()
    if not value or value.lower() in {"0", "false", "no"}:
        return None
    if value.lower() in {"1", "true", "yes", "all", "*"}:
        return {"*"}
    return {v.strip() for v in value.split(",") if v.strip()}


def _load_entry_points(pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
    disabled = _disabled_names() or set()
    if "*" in disabled:
        return
    for ep in importlib.metadata.entry_points(group="rsbench"):
        if ep.name in disabled or pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must say which one it is
            raise RsbenchError(
                f"plugin '{ep.name}' ({ep.value}) failed to import: {exc}. "
                f"Fix or uninstall it, or set {DISABLE_ENV}={ep.name}."
            ) from exc
        pm.register(plugin, name=ep.name)
        dist = ep.dist
        infos.append(
            PluginInfo(
                name=ep.name,
                version=dist.version if dist is not None else "?",
                source=f"{dist.metadata['Name'] if dist is not None else '?'} ({ep.value})",
            )
        )


@functools.lru_cache(maxsize=1)
def _state() -> _State:
    from rsbench import __version__, builtin

    pm = pluggy.PluginManager("rsbench")
    pm.add_hookspecs(specs)
    pm.register(builtin, name=BUILTIN_NAME)
    infos = [PluginInfo(BUILTIN_NAME, __version__, "rsbench (built-in components)")]
    _load_entry_points(pm, infos)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise RsbenchError(f"a plugin implements a hook rsbench does not define: {exc}") from exc

    regs = {kind: Registry(kind) for kind in KINDS}
    by_name = {info.name: info for info in infos}
    for kind, hook_name in HOOK_OF_KIND.items():
        # Call each implementation directly so every registration knows which plugin made it.
        for impl in getattr(pm.hook, hook_name).get_hookimpls():  # registration order: built-ins first
            register = functools.partial(regs[kind].register, source=impl.plugin_name)
            impl.function(register=register)
            if impl.plugin_name in by_name:
                by_name[impl.plugin_name].hooks.append(hook_name)
    for impl in pm.hook.register_commands.get_hookimpls():
        if impl.plugin_name in by_name:
            by_name[impl.plugin_name].hooks.append("register_commands")
    builtin.install_fallbacks(regs)
    return _State(pm, regs, infos)


def registries() -> dict[str, Registry]:
    """All registries, filled on first use."""
    return _state().registries


def get_registry(kind: str) -> Registry:
    if kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(kind, KINDS, n=2)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise RsbenchError(f"unknown component kind '{kind}'.{hint} Kinds: {', '.join(KINDS)}.")
    return _state().registries[kind]


def loaded_plugins() -> list[PluginInfo]:
    return list(_state().plugins)


def add_plugin_commands(cli: Any) -> None:
    """Let every plugin add commands to the CLI."""
    _state().pm.hook.register_commands(cli=cli)


def reset() -> None:
    """Forget loaded plugins (tests that install or disable plugins call this)."""
    _state.cache_clear()
