"""SynthShapes: a procedural still-life corpus (shapes and everyday objects on patterned backgrounds) with
grammar-made captions, the pretraining corpus of the tiny CLIP; a second domain, unlike SynthRS's aerial scenes.

``build_synthshapes(SynthShapesConfig(...))`` paints it once into a cache folder in the Karpathy JSON layout;
``load_synthshapes(config)`` returns it as a RetrievalDataset and ``load_synthshapes_meta(config)`` the
per-image objects. Importing this package stays light: the painters load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rsbench.data.synthshapes.config import SynthShapesConfig

if TYPE_CHECKING:
    from rsbench.data.synthshapes.build import build_synthshapes
    from rsbench.data.synthshapes.dataset import load_synthshapes, load_synthshapes_meta

__all__ = ["SynthShapesConfig", "build_synthshapes", "load_synthshapes", "load_synthshapes_meta"]

_LAZY = {
    "build_synthshapes": "rsbench.data.synthshapes.build",
    "load_synthshapes": "rsbench.data.synthshapes.dataset",
    "load_synthshapes_meta": "rsbench.data.synthshapes.dataset",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # numpy and PIL load only when a build is asked for
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
