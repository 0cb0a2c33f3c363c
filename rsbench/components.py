"""Build any registered component by its kind and name: ``build(kind, name_or_section, *args)``.

The one way to build a component outside a run (a run builds its sections with ``RunConfig.build``): the name
and options are checked like a config section, then the registered factory is called with the options and
``args`` (the kind's build arguments, ``rsbench.kinds``). ``load_dataset``, ``build_text_encoder``,
``build_captioner``, ``make_reranker`` and ``make_index`` are this function under the names they had before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rsbench.config import resolve_component
from rsbench.registry import get_registry


def build(kind: str, name_or_section: str | Mapping[str, Any], *args: Any, where: str | None = None,
          **kwargs: Any) -> Any:
    """The registered ``kind`` named by ``name_or_section`` (a name, or a section ``{"name": ..., option: ...}``
    whose options go over the defaults), built as ``factory(options, *args, **kwargs)``.

    An unknown kind, name or option, or a value of the wrong type, is an ``RsbenchError`` (``ConfigError``)
    naming what is registered or accepted; ``where`` prefixes option errors (default ``kind.``)."""
    spec = dict(name_or_section) if isinstance(name_or_section, Mapping) else {"name": name_or_section}
    if isinstance(spec.get("name"), str):  # an unknown kind or name: UnknownComponentError naming the close ones
        get_registry(kind).get(spec["name"])
    name, options = resolve_component(kind, spec, where)
    return get_registry(kind).get(name).build(options, *args, **kwargs)
