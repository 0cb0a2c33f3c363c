"""Patterned backgrounds for SynthShapes: stripes, checks, polka dots, gradients, paper and fabric, light or dark.

``choose`` draws a background's parameters from the layout generator; ``paint`` renders them at any size
without further random draws (its noise comes from grids of fixed size), so layout and captions are the
same at every image size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

RGB = tuple[int, int, int]

# Pairs of tones per palette: pastel papers and deep inks, none of them the greens and browns of the ground.
LIGHT_TONES: tuple[tuple[RGB, RGB], ...] = (
    ((252, 240, 214), (240, 222, 188)),  # cream
    ((204, 246, 226), (172, 230, 206)),  # mint
    ((228, 216, 252), (206, 190, 242)),  # lavender
    ((204, 230, 255), (176, 210, 248)),  # sky
    ((255, 222, 202), (250, 200, 176)),  # peach
    ((255, 250, 196), (246, 236, 160)),  # lemon
    ((255, 218, 232), (246, 196, 216)),  # blush
    ((232, 232, 238), (212, 212, 222)),  # silver
)
DARK_TONES: tuple[tuple[RGB, RGB], ...] = (
    ((26, 32, 74), (42, 52, 104)),  # navy
    ((62, 22, 64), (88, 36, 88)),  # plum
    ((40, 40, 46), (62, 62, 70)),  # charcoal
    ((10, 60, 72), (22, 86, 98)),  # teal
    ((82, 16, 28), (108, 32, 44)),  # wine
)

PATTERNS = ("plain", "stripes", "checks", "dots", "gradient", "paper", "fabric")
STRIPE_DIRECTIONS = ("horizontal", "vertical", "diagonal")
NOISE_GRID = 24  # side of the random grid paper and fabric noise is upsampled from


@dataclass
class Background:
    """A background's drawn parameters; ``to_json`` is what the captions and the metadata know of it."""

    pattern: str
    tone: str  # "light" or "dark"
    colours: tuple[RGB, RGB]
    direction: str | None = None  # stripes only
    period: float = 0.0  # stripe, check or dot spacing, in image widths
    angle: float = 0.0  # gradient direction
    noise: np.ndarray | None = field(default=None, repr=False)

    @property
    def mean_colour(self) -> np.ndarray:
        return (np.asarray(self.colours[0], dtype=np.float64) + np.asarray(self.colours[1])) / 2

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pattern": self.pattern, "tone": self.tone}
        if self.direction is not None:
            out["direction"] = self.direction
        return out


def choose(rng: np.random.Generator) -> Background:
    """A random background: its pattern, tone and the parameters that fix how it looks."""
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    dark = rng.random() < 0.3
    palette = DARK_TONES if dark else LIGHT_TONES
    colours = palette[int(rng.integers(len(palette)))]
    if pattern == "gradient":  # a gradient spans two palettes of the same tone, so it shows
        other = palette[int(rng.integers(len(palette)))]
        colours = (colours[0], other[1])
    if rng.random() < 0.5:
        colours = (colours[1], colours[0])
    background = Background(pattern, "dark" if dark else "light", colours)
    if pattern == "stripes":
        background.direction = STRIPE_DIRECTIONS[int(rng.integers(len(STRIPE_DIRECTIONS)))]
        background.period = float(rng.uniform(0.09, 0.2))
    elif pattern == "checks":
        background.period = float(rng.uniform(0.1, 0.2))
    elif pattern == "dots":
        background.period = float(rng.uniform(0.11, 0.18))
    elif pattern == "fabric":
        background.period = float(rng.uniform(0.06, 0.09))
    background.angle = float(rng.uniform(0, 2 * math.pi))
    background.noise = rng.random((NOISE_GRID, NOISE_GRID), dtype=np.float32)
    return background


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(axis, axis)


def _noise(background: Background, size: int) -> np.ndarray:
    assert background.noise is not None
    return np.asarray(Image.fromarray(background.noise).resize((size, size), Image.Resampling.BICUBIC))


def _mix(background: Background, weight: np.ndarray) -> np.ndarray:
    """Per pixel, the first colour where ``weight`` is 0 and the second where it is 1."""
    first, second = (np.asarray(c, dtype=np.float32) for c in background.colours)
    return first[None, None, :] + (second - first)[None, None, :] * np.clip(weight, 0, 1)[..., None]


def paint(background: Background, size: int) -> Image.Image:
    """The background as an RGB image of ``size`` pixels."""
    x, y = _grid(size)
    p = background.period
    if background.pattern == "stripes":
        u = {"horizontal": y, "vertical": x, "diagonal": (x + y) / math.sqrt(2)}[background.direction or "vertical"]
        weight = ((u / p) % 1.0 < 0.5).astype(np.float32)
    elif background.pattern == "checks":
        weight = ((np.floor(x / p) + np.floor(y / p)) % 2).astype(np.float32)
    elif background.pattern == "dots":
        row = np.floor(y / p)
        shifted = x / p + 0.5 * (row % 2)  # every other row of dots is shifted by half a step
        dx, dy = shifted % 1.0 - 0.5, (y / p) % 1.0 - 0.5
        weight = (np.hypot(dx, dy) < 0.28).astype(np.float32)
    elif background.pattern == "gradient":
        u = (x - 0.5) * math.cos(background.angle) + (y - 0.5) * math.sin(background.angle)
        weight = u / math.sqrt(2) + 0.5
    elif background.pattern == "paper":
        weight = _noise(background, size)
    elif background.pattern == "fabric":
        weave = np.sin(2 * math.pi * x / p) * np.sin(2 * math.pi * y / p)
        weight = 0.5 + 0.3 * weave + 0.3 * (_noise(background, size) - 0.5)
    else:
        weight = 0.15 * _noise(background, size)
    return Image.fromarray(np.clip(np.rint(_mix(background, weight)), 0, 255).astype(np.uint8))
