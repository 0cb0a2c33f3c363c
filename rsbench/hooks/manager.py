"""Loads plugins (the built-in one first, then the rest of the ``rsbench`` entry-point group) into the registries,
and installs them in ``rsbench.registry``.

This is the only module that talks to pluggy; the rest of rsbench asks ``rsbench.registry`` for a registry by kind.
The built-in plugin is an entry point like any other (``rsbench.builtin`` in pyproject.toml); this module never
imports it.
A plugin that fails (cannot be imported, implements a hook rsbench does not define, raises in a
hook, registers a name another plugin has) is kept as *broken* with the reason: ``rsbench plugins``
still lists everything, and every command that needs components stops with that reason.
Set ``RSBENCH_DISABLE_PLUGINS=1`` to load built-ins only, or to a comma-separated list of
entry-point names to skip just those.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

import rsbench.hooks.specs as specs
from rsbench import registry as _registry
from rsbench.errors import BrokenPluginError, RsbenchError
from rsbench.kinds import KIND_TABLE, KINDS
from rsbench.registry import BUILTIN_SOURCE, Component, Registry

hookimpl = pluggy.HookimplMarker("rsbench")

HOOK_OF_KIND: dict[str, str] = {kind.name: kind.hook for kind in KIND_TABLE}
DISABLE_ENV = "RSBENCH_DISABLE_PLUGINS"
BUILTIN_NAME = BUILTIN_SOURCE
ALL_OFF = frozenset({"1", "true", "yes", "on", "all", "*"})
ALL_ON = frozenset({"", "0", "false", "no", "off"})
# The built-in plugin's entry point as pyproject.toml declares it, used when the installed metadata predates it
# (an editable install made before the entry point was added, not reinstalled since).
BUILTIN_ENTRY_POINT = importlib.metadata.EntryPoint(name=BUILTIN_NAME, value="rsbench.builtin", group="rsbench")


@dataclass
class PluginInfo:
    """What ``rsbench plugins`` shows for one plugin: where it is from and whether it works."""

    name: str
    version: str
    source: str
    hooks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why it is broken: commands needing components stop
    warnings: list[str] = field(default_factory=list)  # what was refused without breaking it (a command name)

    @property
    def status(self) -> str:
        return "broken" if self.problems else "ok"


@dataclass
class _State:
    pm: pluggy.PluginManager
    registries: dict[str, Registry]
    plugins: list[PluginInfo]


def disabled_names(installed: list[str]) -> set[str]:
    """Entry-point names ``RSBENCH_DISABLE_PLUGINS`` turns off (all of ``installed`` for ``1``/``true``).

    A name that is not an installed plugin is an error: a typo would otherwise load the plugin
    the user meant to switch off.
    """
    value = os.environ.get(DISABLE_ENV, "").strip()
    if value.lower() in ALL_ON:
        return set()
    if value.lower() in ALL_OFF:
        return set(installed)
    names = {v.strip() for v in value.split(",") if v.strip()}
    if BUILTIN_NAME in names:
        raise RsbenchError(f"{DISABLE_ENV} names {BUILTIN_NAME}, rsbench's own components, which cannot be "
                           f"disabled; name third-party plugins only ({_installed_list(installed)})")
    unknown = sorted(names - set(installed))
    if unknown:
        close = [m for n in unknown for m in difflib.get_close_matches(n, installed, n=1)]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise RsbenchError(
            f"{DISABLE_ENV}={value} names {', '.join(repr(n) for n in unknown)}, which "
            f"{'is not an installed plugin' if len(unknown) == 1 else 'are not installed plugins'}.{hint} "
            f"Installed plugins: {_installed_list(installed)}. Use 1 to disable them all."
        )
    return names


def _installed_list(installed: list[str]) -> str:
    return ", ".join(sorted(installed)) or "none"


def _is_builtin(ep: importlib.metadata.EntryPoint) -> bool:
    """rsbench's own entry point (a third-party package cannot pass off its plugin as the built-in one)."""
    return ep.name == BUILTIN_NAME and ep.dist is not None and ep.dist.metadata["Name"] == "rsbench"


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """The ``rsbench`` group, the built-in plugin first (its names are reserved: it must register before others)."""
    found = list(importlib.metadata.entry_points(group="rsbench"))
    builtin = next((ep for ep in found if _is_builtin(ep)), BUILTIN_ENTRY_POINT)
    return [builtin, *(ep for ep in found if not _is_builtin(ep))]


def _load_entry_points(pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
    from rsbench import __version__

    builtin, *entry_points = _entry_points()
    skip = disabled_names([ep.name for ep in entry_points])
    for ep in [builtin, *entry_points]:
        if ep.name in skip or pm.has_plugin(ep.name) or any(i.name == ep.name for i in infos):
            continue
        dist = ep.dist
        if ep is builtin:
            info = PluginInfo(BUILTIN_NAME, __version__, "rsbench (built-in components)")
        else:
            info = PluginInfo(
                name=ep.name,
                version=dist.version if dist is not None else "?",
                source=f"{dist.metadata['Name'] if dist is not None else '?'} ({ep.value})",
            )
        infos.append(info)
        try:
            plugin = ep.load()
        except SystemExit as exc:  # a plugin that exits at import must not end every command with it
            info.problems.append(f"exited at import of {ep.value} (sys.exit({exc.code!r})); rsbench went on "
                                 f"without it")
            continue
        except Exception as exc:  # a broken third-party plugin must say which one it is
            info.problems.append(f"failed to import {ep.value}: {type(exc).__name__}: {exc}")
            continue
        try:
            pm.register(plugin, name=ep.name)
        except ValueError as exc:  # the same module under two entry-point names
            info.problems.append(f"cannot be registered: {exc}")


def _check_hook_names(pm: pluggy.PluginManager, by_name: dict[str, PluginInfo]) -> None:
    """pluggy's ``check_pending`` for every plugin at once: a misspelt hook marks its plugin broken."""
    known = [name for name in vars(pm.hook) if not name.startswith("_")]
    for name, caller in list(vars(pm.hook).items()):
        if name.startswith("_") or caller.has_spec():
            continue
        close = difflib.get_close_matches(name, [k for k in known if getattr(pm.hook, k).has_spec()], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        for impl in caller.get_hookimpls():
            info = by_name.get(impl.plugin_name)
            if info is not None and not impl.optionalhook:  # pluggy's own rule: optional hooks may be unknown
                info.problems.append(f"implements hook '{name}', which rsbench does not define{hint}")


def _fill_registries(pm: pluggy.PluginManager, by_name: dict[str, PluginInfo]) -> dict[str, Registry]:
    regs = {kind: Registry(kind) for kind in KINDS}
    for kind, hook_name in HOOK_OF_KIND.items():
        # Call each implementation directly so every registration knows which plugin made it.
        for impl in getattr(pm.hook, hook_name).get_hookimpls():  # registration order: built-ins first
            info = by_name[impl.plugin_name]
            if info.problems:
                continue

            def register(*args: Any, _info: PluginInfo = info, _reg: Registry = regs[kind], **kwargs: Any) -> Any:
                try:
                    return _reg.register(*args, **kwargs, source=_info.name)
                except RsbenchError as exc:  # a duplicate name or a bad config class
                    _info.problems.append(str(exc))
                    return None

            try:
                impl.function(register=register)
            except (Exception, SystemExit) as exc:  # SystemExit too: a plugin's exit is not the command's
                info.problems.append(f"hook {hook_name} raised {type(exc).__name__}: {exc}")
            info.hooks.append(hook_name)
    for impl in pm.hook.register_commands.get_hookimpls():
        by_name[impl.plugin_name].hooks.append("register_commands")
    broken = {name for name, info in by_name.items() if info.problems}
    for registry in regs.values():  # a broken plugin provides nothing, not the half it registered before failing
        for name in [n for n, c in registry.entries.items() if c.source in broken]:
            del registry.entries[name]
    return regs


@functools.lru_cache(maxsize=1)
def _state() -> _State:
    pm = pluggy.PluginManager("rsbench")
    pm.add_hookspecs(specs)
    infos: list[PluginInfo] = []
    _load_entry_points(pm, infos)
    by_name = {info.name: info for info in infos}
    _check_hook_names(pm, by_name)
    regs = _fill_registries(pm, by_name)
    _install_backbone_fallback(regs["backbone"])
    return _State(pm, regs, infos)


def _install_backbone_fallback(backbones: Registry) -> None:
    """Backbones accept any open_clip architecture name (and hf-hub:/local-dir: ids) besides the registered ones."""
    from rsbench.models.backbones import is_backbone_name, known_model_names
    from rsbench.models.backbones.config import BackboneConfig

    def open_clip_backbone(name: str) -> Component | None:
        if not is_backbone_name(name):
            return None
        return Component("backbone", name, "rsbench.models.backbones:build_backbone", BackboneConfig,
                         f"open_clip architecture {name}", "open_clip")

    backbones.fallback = open_clip_backbone
    backbones.fallback_names = known_model_names


def broken_plugin_message(info: PluginInfo) -> str:
    """One line: which plugin is broken, its first problem, and the way out."""
    more = f" (and {len(info.problems) - 1} more problem(s))" if len(info.problems) > 1 else ""
    way_out = "Fix or uninstall it" if info.name != BUILTIN_NAME else "Reinstall rsbench"
    problem = info.problems[0].rstrip(". ")  # problems come from plugins and pluggy: no doubled period
    disable = f", or set {DISABLE_ENV}={info.name}" if info.name != BUILTIN_NAME else ""
    return (f"plugin '{info.name}' is broken: {problem}{more}. {way_out}{disable}; `rsbench plugins` shows the "
            f"state of every plugin")


def raise_for_broken_plugins() -> None:
    """A ``BrokenPluginError`` naming the first broken plugin, what is wrong and the way out."""
    for info in _state().plugins:
        if info.problems:
            raise BrokenPluginError(broken_plugin_message(info))


def registries(*, allow_broken: bool = False) -> dict[str, Registry]:
    """All registries, filled on first use; an error when a plugin is broken, unless ``allow_broken`` (for
    ``rsbench list``, which shows what the working plugins provide; a broken plugin provides nothing)."""
    if not allow_broken:
        raise_for_broken_plugins()
    return _state().registries


get_registry = _registry.get_registry  # the ground floor's, reading what this module installs below
_registry.install(lambda allow_broken: registries(allow_broken=allow_broken))


def loaded_plugins() -> list[PluginInfo]:
    """Every plugin found, broken ones included (their ``problems`` say why)."""
    return list(_state().plugins)


def provider(component: Component) -> dict[str, str | None]:
    """Which plugin provided ``component``, and that plugin's version: what a record stores."""
    if component.source == "open_clip":  # backbones accepted by name through the open_clip fallback
        try:
            version = importlib.metadata.version("open_clip_torch")
        except importlib.metadata.PackageNotFoundError:
            version = None
        return {"provider": "open_clip", "version": version}
    info = next((i for i in _state().plugins if i.name == component.source), None)
    return {"provider": component.source, "version": info.version if info is not None else None}


def provider_of(kind: str, name: str) -> dict[str, str | None]:
    """``provider`` of the registered ``kind`` called ``name``."""
    return provider(get_registry(kind).get(name))


# Kinds a component section may name in its options (a strategy's ``text_encoder`` and ``index``): the record's
# ``components`` names their providers too, under the kind.
REFERENCED_KINDS: tuple[str, ...] = ("text_encoder", "index", "captioner")


def record_components(config: dict[str, Any], provider_of: Callable[[str, str], dict] = provider_of) -> dict:
    """The record's ``components``: ``{kind: {name, provider, version}}`` for every component a resolved config
    (``RunConfig.to_dict()``) names: each section (the captioner too, when the run has one) and each component a
    section's options name (``strategy.text_encoder``, ``strategy.index``)."""
    named: dict[str, str] = {}
    for section in KINDS:
        value = config.get(section)
        name = value.get("name") if isinstance(value, dict) else value
        if not isinstance(name, str):
            continue
        named[section] = name
        for kind in REFERENCED_KINDS:
            if isinstance(value, dict) and isinstance(value.get(kind), str):
                named.setdefault(kind, value[kind])
    return {kind: {"name": name, **provider_of(kind, name)} for kind, name in named.items()}


def add_plugin_commands(cli: Any) -> list[str]:
    """Let every working plugin add commands to the CLI; return warnings for the ones refused.

    Each plugin's hook receives a ``typer.Typer`` of its own; its commands are then added to
    ``cli`` unless a built-in command or an earlier plugin already has the name (never replaced).
    Calling this again on the same ``cli`` adds nothing twice.
    """
    import typer

    state = _state()
    mounted: dict[str, str] = cli.__dict__.setdefault("_rsbench_plugin_commands", {})
    existing = _command_names_of(cli.registered_commands) + _group_names_of(cli.registered_groups)
    owner = {name: "rsbench's built-in command" for name in existing if name not in mounted}
    owner |= {name: f"plugin '{plugin}'" for name, plugin in mounted.items()}
    by_name = {info.name: info for info in state.plugins}
    warnings: list[str] = []
    for impl in state.pm.hook.register_commands.get_hookimpls():
        info = by_name[impl.plugin_name]
        if info.problems:
            continue
        own = typer.Typer()
        try:
            impl.function(cli=own)
        except Exception as exc:
            info.problems.append(f"hook register_commands raised {type(exc).__name__}: {exc}")
            continue
        additions = [(n, c, "command") for n, c in zip(_command_names_of(own.registered_commands),
                                                        own.registered_commands, strict=True)]
        additions += [(n, g, "group") for n, g in zip(_group_names_of(own.registered_groups),
                                                      own.registered_groups, strict=True)]
        for name, entry, what in additions:
            if mounted.get(name) == info.name:
                continue  # added by an earlier call
            if name in owner:
                message = (f"plugin '{info.name}' registers command '{name}', which is {owner[name]}; "
                           f"it was not added. Rename the plugin's command, or set {DISABLE_ENV}={info.name}.")
                if message not in info.warnings:
                    info.warnings.append(message)
                warnings.append(message)
                continue
            (cli.registered_commands if what == "command" else cli.registered_groups).append(entry)
            mounted[name] = info.name
            owner[name] = f"plugin '{info.name}'"
    return warnings


def _command_names_of(commands: list[Any]) -> list[str]:
    """The names typer gives registered commands (an explicit name, else the function's, dashed)."""
    from typer.main import get_command_name

    return [c.name or get_command_name(c.callback.__name__) for c in commands]


def _group_names_of(groups: list[Any]) -> list[str]:
    """The names of registered sub-apps (``add_typer(..., name=)`` or the sub-app's own name)."""
    return [g.name or g.typer_instance.info.name or "?" for g in groups]


def reset() -> None:
    """Forget loaded plugins (tests that install or disable plugins call this)."""
    _state.cache_clear()
