"""SynthRS: rsbench's built-in procedural aerial-scene dataset with grammar-made captions (the embedded default).

``build_synthrs(SynthRSConfig(...))`` paints it once into a cache folder in the Karpathy JSON layout and
returns the folder. Importing this package stays light: the painters load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rsbench.data.synthrs.config import SCENE_CLASSES, SynthRSConfig

if TYPE_CHECKING:
    from rsbench.data.synthrs.build import build_synthrs

__all__ = ["SCENE_CLASSES", "SynthRSConfig", "build_synthrs"]


def __getattr__(name: str) -> Any:
    if name == "build_synthrs":  # numpy and PIL load only when a build is asked for
        from rsbench.data.synthrs.build import build_synthrs

        return build_synthrs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
