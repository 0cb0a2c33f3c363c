"""The plugin system: hook specifications and the plugin manager that fills the registries."""

from rsbench.hooks.manager import (
    get_registry,
    hookimpl,
    loaded_plugins,
    provider,
    provider_of,
    record_components,
    registries,
)

__all__ = ["get_registry", "hookimpl", "loaded_plugins", "provider", "provider_of", "record_components",
           "registries"]
