"""Declarative config options: a field's type, default, help and rules written once, on the field, and checked by
one mechanism.

A component's config is a dataclass. Each field is annotated, has a default and a help text, and may carry rules::

    @dataclass
    class QbNormConfig(Options):
        \"\"\"QB-Norm: dynamic inverted softmax over a query bank (Bogolin et al. 2022).\"\"\"

        k: int = option(1, "bank activations per gallery item", ge=1)
        beta: float = option(20.0, "inverse temperature", gt=0)

        def validate(self) -> None:  # only rules that involve several fields
            ...

``option(default, help, ge=, gt=, le=, lt=, nonempty=, choices=, prefix=, finite=)`` is ``dataclasses.field`` with
the help text and the rules in its metadata. ``Options.__post_init__`` converts each value to its annotation where
nothing is lost (``1`` to ``1.0`` for a float, YAML's ``'1e-4'`` string to a number), checks each field's rules, then
calls ``validate()``. ``build_options`` builds a config from a user's mapping: an unknown key gets a did-you-mean, and
every message names the full key (``reranker.beta must be > 0; got -1``).

``check_config_class`` is what registration asks of a config class: every attribute annotated, every field with a
default of its own type that obeys its own rules, and a help text. Plain dataclasses with
``field(metadata={"help": ...})`` and checks in ``__post_init__`` keep working; they only miss the declared rules.

This module is on the ground floor: it imports nothing of rsbench but its errors.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import types
import typing
from typing import Any, Literal

from rsbench.errors import ConfigError, RsbenchError

__all__ = ["Options", "build_options", "check_config_class", "check_fields", "coerce", "describe_rules", "option",
           "unknown_key"]

_MISSING = dataclasses.MISSING


def option(default: Any = _MISSING, help: str = "", *, default_factory: Any = _MISSING, ge: float | None = None,
           gt: float | None = None, le: float | None = None, lt: float | None = None, nonempty: bool = False,
           choices: tuple[Any, ...] | list[Any] | None = None, prefix: str | tuple[str, ...] | None = None,
           finite: bool = True,
           **metadata: Any) -> Any:
    """A config field: its default, its help text (``rsbench list`` shows it) and the rules its value obeys.

    Bounds (``ge``/``gt``/``le``/``lt``), ``finite`` (numbers only; on by default) and ``choices``/``prefix`` apply
    to the value, or to each item of a list value; ``nonempty`` asks a string or a list to hold something (and a
    list of strings, each string). ``None`` passes every rule (a field annotated ``X | None``). A mutable default
    (a list, a dict) is copied for each instance."""
    if default is not _MISSING and default_factory is _MISSING and isinstance(default, list | dict | set):
        default, default_factory = _MISSING, _copier(default)
    rules = {"ge": ge, "gt": gt, "le": le, "lt": lt, "nonempty": nonempty or None,
             "choices": tuple(choices) if choices is not None else None,
             "prefix": (prefix,) if isinstance(prefix, str) else tuple(prefix) if prefix is not None else None,
             "finite": None if finite else False}  # finite unless said otherwise
    meta = {"help": help, "rules": {k: v for k, v in rules.items() if v is not None}, **metadata}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copier(value: Any) -> Any:
    return lambda: copy.deepcopy(value)


def unknown_key(key: str, valid: list[str], where: str) -> ConfigError:
    """``unknown config key 'reranker.bta'. Did you mean: beta? Valid keys here: ...``"""
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ConfigError(f"unknown config key '{where}{key}'.{hint} Valid keys here: {', '.join(sorted(valid))}.")


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check ``value`` against a type annotation, converting only where no information is lost."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, args, where)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(repr, args))}; got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list; got {value!r}")
        item_type = args[0] if args else Any
        items = [coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping; got {value!r}")
        return dict(value)
    scalar = _SCALARS.get(annotation)
    return scalar(value, where) if scalar is not None else value


def _coerce_union(value: Any, args: tuple[Any, ...], where: str) -> Any:
    if value is None and type(None) in args:
        return None
    options = [a for a in args if a is not type(None)]
    errors = []
    for arg in options:
        try:
            return coerce(value, arg, where)
        except ConfigError as exc:
            errors.append(str(exc))
    if len(errors) == 1:  # `int | None`: the int's message, saying that null is fine too
        return _raise(f"{errors[0]} (or null)" if type(None) in args else errors[0])
    names = " or ".join(getattr(a, "__name__", str(a)) for a in options)
    return _raise(f"{where} must be {names}{' or null' if type(None) in args else ''}; got {value!r}")


def _raise(message: str) -> Any:
    raise ConfigError(message)


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    return _raise(f"{where} must be true or false; got {value!r}")


def _int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _raise(f"{where} must be an integer; got {value!r}")


def _float(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):  # YAML 1.1 reads '1e-4' as a string
        try:
            return float(value)
        except ValueError:
            pass
    return _raise(f"{where} must be a number; got {value!r}")


def _str(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _raise(f"{where} must be a string; got {value!r}")


_SCALARS = {bool: _bool, int: _int, float: _float, str: _str}


def check_rules(value: Any, rules: dict[str, Any] | None, where: str) -> None:
    """Raise a ``ConfigError`` naming ``where`` when ``value`` breaks one of an ``option``'s rules."""
    if value is None or rules is None:  # None: a field declared without option(), which has no rules
        return
    if rules.get("nonempty"):
        if isinstance(value, str | list | tuple | dict) and not (value.strip() if isinstance(value, str) else value):
            raise ConfigError(f"{where} must not be empty; got {value!r}")
        if isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, str) and not item.strip():
                    raise ConfigError(f"{where}[{i}] must not be empty; got {item!r}")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_scalar(item, rules, f"{where}[{i}]")
    else:
        _check_scalar(value, rules, where)


_BOUNDS = (("ge", ">=", lambda v, b: v >= b), ("gt", ">", lambda v, b: v > b),
           ("le", "<=", lambda v, b: v <= b), ("lt", "<", lambda v, b: v < b))


def _bounds(rules: dict[str, Any]) -> list[str]:
    """``[">= 0", "< 1"]``: an option's bounds as its messages and ``rsbench list`` write them."""
    return [f"{sign} {rules[key]:g}" for key, sign, _ in _BOUNDS if key in rules]


def describe_rules(rules: dict[str, Any] | None) -> list[str]:
    """An option's declared rules in words (``rsbench list``): ``[">= 1"]``, ``["one of 'a', 'b'"]``, ``[]``."""
    if not rules:
        return []
    parts = _bounds(rules)
    if "choices" in rules:
        parts.append("one of " + ", ".join(map(repr, rules["choices"])))
    if "prefix" in rules:
        parts.append("starts with " + " or ".join(map(repr, rules["prefix"])))
    if rules.get("nonempty"):
        parts.append("not empty")
    return parts


def _check_scalar(value: Any, rules: dict[str, Any], where: str) -> None:
    if value is None:
        return
    if "choices" in rules and value not in rules["choices"]:
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, rules['choices']))}; got {value!r}")
    prefixes = rules.get("prefix", ())
    if prefixes and isinstance(value, str) and not value.startswith(prefixes):
        raise ConfigError(f"{where} must start with {' or '.join(map(repr, prefixes))}; got {value!r}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    wanted = " and ".join(_bounds(rules))
    if rules.get("finite", True) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number{' ' + wanted if wanted else ''}; got {value!r}")
    if any(not test(value, rules[key]) for key, _, test in _BOUNDS if key in rules):
        raise ConfigError(f"{where} must be {wanted}; got {value!r}")


@functools.cache  # every construction of an Options config reads them: once per class
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:  # a forward reference that does not resolve
        raise RsbenchError(f"config {cls.__name__}: cannot read its field types ({type(exc).__name__}: {exc})") from exc


def check_fields(config: Any, where: str = "") -> None:
    """Convert each field of a config instance to its annotation and check its rules, in place."""
    hints = _hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        converted = coerce(value, hints.get(f.name, Any), f"{where}{f.name}")
        check_rules(converted, f.metadata.get("rules"), f"{where}{f.name}")
        if converted is not value:
            object.__setattr__(config, f.name, converted)  # frozen dataclasses too


class Options:
    """Base class of a config dataclass whose fields declare their rules with ``option``.

    Construction converts and checks every field, then calls ``validate()`` for the rules that involve several
    fields (override it; raise ``ConfigError``). Subclasses are still declared with ``@dataclass``."""

    def __post_init__(self) -> None:
        check_fields(self)
        self.validate()

    def validate(self) -> None:
        """Rules across fields; the single-field ones belong on the fields (``option(ge=...)``)."""


def build_options(cls: type, data: Any, where: str) -> Any:
    """Build config dataclass ``cls`` from a user's mapping, every message naming its key (``where`` ends in '.')."""
    section = where.rstrip(".")
    if not isinstance(data, dict):
        raise ConfigError(f"'{section}' must be a mapping of options; got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = _hints(cls)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise unknown_key(str(key), list(fields), where)
        kwargs[key] = coerce(value, hints.get(key, Any), f"{where}{key}")
        check_rules(kwargs[key], fields[key].metadata.get("rules"), f"{where}{key}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{section}: {exc}" if section else str(exc)) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{section}: {exc}" if section else str(exc)) from exc


def check_config_class(cls: type, kind: str, name: str) -> None:
    """What registration asks of a config class; an ``RsbenchError`` naming the component and the field if not.

    Every public class attribute is annotated (a field) or a ``ClassVar``; every field has a default, of its
    annotated type and within its own rules, and a help text (``name``, which receives the component's name, needs
    none); the defaults build an instance."""
    what = f"{kind} '{name}': config {cls.__name__}"
    if not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
        raise RsbenchError(f"{kind} '{name}': config must be a dataclass class, got {cls!r}")
    own = vars(cls).get("__annotations__", {})
    annotated = {key for klass in cls.__mro__ for key in vars(klass).get("__annotations__", {})}
    fields = {f.name for f in dataclasses.fields(cls)}
    for key, value in vars(cls).items():
        if key.startswith("_") or key in own or _is_method(value):
            continue
        if key in fields:  # a dataclass keeps the inherited field's default: the new value would change nothing
            raise RsbenchError(f"{what}: attribute '{key}' redefines an inherited option without a type annotation, "
                               f"so its default stays the parent's (write '{key}: {type(value).__name__} = "
                               f"option(...)')")
        if key in annotated:
            continue
        raise RsbenchError(f"{what}: attribute '{key}' has no type annotation, so it is not an option "
                           f"(write '{key}: {type(value).__name__} = option(...)', or ClassVar for a constant)")
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        _check_field(f, hints.get(f.name, Any), what)
    try:
        cls()
    except (RsbenchError, TypeError, ValueError) as exc:
        raise RsbenchError(f"{what}: its defaults do not build a config ({exc})") from exc


def _check_field(f: dataclasses.Field, annotation: Any, what: str) -> None:
    if f.default is _MISSING and f.default_factory is _MISSING:  # type: ignore[misc]
        raise RsbenchError(f"{what}: field '{f.name}' has no default (every option needs one)")
    default = f.default if f.default is not _MISSING else f.default_factory()  # type: ignore[misc]
    try:
        converted = coerce(default, annotation, f.name)
        check_rules(converted, f.metadata.get("rules"), f.name)
    except ConfigError as exc:
        raise RsbenchError(f"{what}: the default of field '{f.name}' is wrong: {exc}") from exc
    if f.name != "name" and not str(f.metadata.get("help", "")).strip():
        raise RsbenchError(f"{what}: field '{f.name}' has no help text (write option(default, 'what it does'))")


def _is_method(value: Any) -> bool:
    return callable(value) or isinstance(value, classmethod | staticmethod | property)
