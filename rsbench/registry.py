"""Registries: for each component kind (``rsbench.kinds``), a map from name to (config dataclass, factory).

Plugins (built-in ones included) fill them through the ``register_<kind>s`` hooks and the plugin manager installs
them here (``install``); the rest of rsbench looks components up here by the names users type (``get_registry``),
without importing the plugin manager.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rsbench.errors import RsbenchError, UnknownComponentError
from rsbench.kinds import KINDS
from rsbench.options import check_config_class

__all__ = ["BUILTIN_SOURCE", "KINDS", "Component", "NoOptions", "Registry", "config_description", "get_registry",
           "install", "plural", "registries"]
# Who registers rsbench's own components: their names are reserved, a plugin cannot take one.
BUILTIN_SOURCE = "rsbench.builtin"


def plural(kind: str) -> str:
    """``adapters``, ``losses``, ``strategies``: the plural of a kind name in messages."""
    if kind.endswith(("s", "x", "sh", "ch")):
        return kind + "es"
    if kind.endswith("y") and kind[-2:-1] not in "aeiou":
        return kind[:-1] + "ies"
    return kind + "s"


@dataclass
class NoOptions:
    """Config for a component that has no options."""


def config_description(config_cls: type) -> str:
    """A component's one-line description, written once: the first line of its config class's own docstring.

    ``""`` when there is none to take: for ``NoOptions`` (shared by every component without options), a class
    without a docstring of its own, or the one ``@dataclass`` makes up when none is written (``Foo(a: int = 1)``).
    """
    if config_cls is NoOptions:
        return ""
    doc = inspect.cleandoc(vars(config_cls).get("__doc__") or "")
    if not doc or doc.startswith(f"{config_cls.__name__}("):
        return ""
    return doc.splitlines()[0].strip()


@dataclass(frozen=True)
class Component:
    """One registered component: how to configure it and how to build it."""

    kind: str
    name: str
    factory: Callable[..., Any] | str
    config_cls: type = NoOptions
    description: str = ""
    source: str = "?"

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """Call the factory, importing it first when it was registered as ``"module:attr"``."""
        return self.load_factory()(*args, **kwargs)

    def load_factory(self) -> Callable[..., Any]:
        if callable(self.factory):
            return self.factory
        module_name, _, attr = str(self.factory).partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)

    def config_fields(self) -> list[dict[str, Any]]:
        """Each config field's name, type, default, help text and rules (``rsbench.options.option``)."""
        rows = []
        for f in dataclasses.fields(self.config_cls):
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            else:
                default = None
            type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
            rows.append({"name": f.name, "type": type_name, "default": default, "help": f.metadata.get("help", ""),
                         "rules": dict(f.metadata.get("rules", {}))})
        return rows


@dataclass
class Registry:
    """Name -> Component for one kind. Refuses duplicates; suggests close names for typos.

    ``fallback`` lets a kind accept names it cannot enumerate cheaply (any open_clip model name
    for backbones): it returns a Component for a name or None.
    """

    kind: str
    entries: dict[str, Component] = field(default_factory=dict)
    fallback: Callable[[str], Component | None] | None = None
    fallback_names: Callable[[], list[str]] | None = None

    def register(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        config: type = NoOptions,
        description: str | None = None,
        source: str = "?",
    ) -> Component:
        if name in self.entries:
            raise RsbenchError(self._clash(name, source))
        if isinstance(factory, str) and ":" not in factory:
            raise RsbenchError(f"{self.kind} '{name}' from {source}: a lazy factory must read 'module:attr'")
        check_config_class(config, self.kind, name)
        if description is None:  # written once: the config's docstring (config_description), else the factory's
            description = config_description(config)
            if not description and callable(factory):
                doc = (getattr(factory, "__doc__", None) or "").strip()
                description = doc.splitlines()[0] if doc else ""
        component = Component(self.kind, name, factory, config, description, source)
        self.entries[name] = component
        return component

    def _clash(self, name: str, source: str) -> str:
        """Why ``source`` cannot have ``name``: a built-in's reserved name, or another plugin's (no final period:
        the plugin manager goes on with the way out)."""
        other = self.entries[name].source
        if other == BUILTIN_SOURCE and source != BUILTIN_SOURCE:
            return (f"it registers {self.kind} '{name}', a name reserved for rsbench's built-in {self.kind}; "
                    f"rename the plugin's {self.kind} (`rsbench list {self.kind}` shows the names taken)")
        return (f"{self.kind} '{name}' is registered twice: by {other} and by {source}; rename one of them "
                f"(`rsbench list {self.kind}` shows the names taken)")

    def get(self, name: str) -> Component:
        if name in self.entries:
            return self.entries[name]
        if self.fallback is not None:
            found = self.fallback(name)
            if found is not None:
                return found
        candidates = list(self.entries)
        if self.fallback_names is not None:
            candidates += self.fallback_names()
        candidates = list(dict.fromkeys(candidates))  # a name both registered and a fallback is one suggestion
        close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        known = ", ".join(sorted(self.entries))
        raise UnknownComponentError(
            f"unknown {self.kind} '{name}'.{hint} Registered {plural(self.kind)}: {known}. "
            f"`rsbench list {self.kind}` shows them with their options."
        )

    def list(self, pattern: str = "*") -> list[Component]:
        """Registered components whose name matches a shell-style wildcard, sorted by name."""
        return [c for n, c in sorted(self.entries.items()) if fnmatch.fnmatchcase(n, pattern)]

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def names(self) -> list[str]:
        return sorted(self.entries)


# Where the registries come from: ``source(allow_broken)`` returns them all, filled (the plugin manager installs
# itself here when it is imported). ``PLUGIN_MANAGER`` is imported on first use when nothing has installed a source
# yet: the ground floor names the layer above only as this string, as lazy factories name their modules.
PLUGIN_MANAGER = "rsbench.hooks.manager"
_source: Callable[[bool], dict[str, Registry]] | None = None


def install(source: Callable[[bool], dict[str, Registry]]) -> None:
    """Make ``source(allow_broken)`` the provider of every registry (the plugin manager calls this)."""
    global _source
    _source = source


def registries(*, allow_broken: bool = False) -> dict[str, Registry]:
    """All registries, filled on first use; a ``BrokenPluginError`` when a plugin is broken, unless
    ``allow_broken`` (a broken plugin then provides nothing)."""
    if _source is None:
        importlib.import_module(PLUGIN_MANAGER)  # installs itself
    if _source is None:
        raise RsbenchError(f"no registries: {PLUGIN_MANAGER} did not install them; reinstall rsbench")
    return _source(allow_broken)


def get_registry(kind: str, *, allow_broken: bool = False) -> Registry:
    """The registry of ``kind``; an unknown kind is an error naming the close ones."""
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=2)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise RsbenchError(f"unknown component kind '{kind}'.{hint} Kinds: {', '.join(KINDS)}.")
    return registries(allow_broken=allow_broken)[kind]
