"""CMER's Focus-Adapter: a side branch with region attention over a frozen CLIP image tower (config, layer, model)."""

from __future__ import annotations

from rsbench.models.adapters.focus.config import FocusConfig, FocusVisualConfig

__all__ = ["FocusConfig", "FocusVisualConfig"]
