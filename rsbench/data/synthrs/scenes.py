"""One painter per SynthRS scene class: a procedural background plus the class's characteristic objects.

A painter takes a seeded ``numpy.random.Generator`` and the render size and returns the canvas and the
``Scene`` listing what it drew. All geometry is in unit coordinates and every random draw is independent
of the render size, so one seed gives the same layout (and captions) at every image size. The painters live
in ``rsbench.data.synthrs.painters``, one module per family of classes; this module maps class names to them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from rsbench.data.synthrs.canvas import Canvas
from rsbench.data.synthrs.objects import Scene
from rsbench.data.synthrs.painters.built import (
    paint_baseballfield,
    paint_industrial,
    paint_playground,
    paint_residential,
    paint_storagetanks,
)
from rsbench.data.synthrs.painters.land import (
    paint_desert,
    paint_farmland,
    paint_forest,
    paint_meadow,
)
from rsbench.data.synthrs.painters.transport import (
    paint_airport,
    paint_bridge,
    paint_intersection,
    paint_parking,
)
from rsbench.data.synthrs.painters.water import (
    paint_beach,
    paint_harbor,
    paint_pond,
    paint_river,
)

Painter = Callable[[np.random.Generator, int], tuple[Canvas, Scene]]


PAINTERS: dict[str, Painter] = {
    "airport": paint_airport,
    "baseballfield": paint_baseballfield,
    "beach": paint_beach,
    "bridge": paint_bridge,
    "desert": paint_desert,
    "farmland": paint_farmland,
    "forest": paint_forest,
    "harbor": paint_harbor,
    "industrial": paint_industrial,
    "intersection": paint_intersection,
    "meadow": paint_meadow,
    "parking": paint_parking,
    "playground": paint_playground,
    "pond": paint_pond,
    "residential": paint_residential,
    "river": paint_river,
    "storagetanks": paint_storagetanks,
}


def paint(
    name: str, rng: np.random.Generator, grain_rng: np.random.Generator, image_size: int
) -> tuple[Image.Image, Scene]:
    """Paint one image of scene class ``name``: supersampled drawing, lighting and haze, sensor grain, downsampling.

    ``grain_rng`` supplies the per-pixel noise, whose number of draws depends on the size; keeping it apart
    from ``rng`` is what makes the layout independent of ``image_size``.
    """
    render = max(128, 2 * image_size)  # supersampling smooths the edges of small objects
    canvas, scene = PAINTERS[name](rng, render)
    pixels = canvas.to_array()
    brightness = float(rng.uniform(0.86, 1.12))
    tint = rng.uniform(0.95, 1.05, 3).astype(np.float32)
    haze = float(rng.uniform(0.0, 0.12))  # a thin atmospheric veil, as in images taken on hazy days
    pixels = pixels * brightness * tint[None, None, :]
    pixels = pixels * (1 - haze) + haze * np.float32(200.0)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize(
        (image_size, image_size), Image.Resampling.LANCZOS
    )
    grain = grain_rng.normal(0.0, 2.0, (image_size, image_size, 1)).astype(np.float32)
    noisy = np.asarray(image, dtype=np.float32) + grain
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8)), scene
