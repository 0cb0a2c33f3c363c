"""Ground textures for SynthRS backgrounds: value noise, grass, water with waves, dunes, field rows, asphalt.

Every function draws a resolution-independent number of random values (noise grids, not pixels), so a
scene's random stream, and hence its layout and captions, is the same at every image size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

RGB = tuple[float, float, float]


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y) in unit space, each of shape (size, size)."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(axis, axis)


def value_noise(rng: np.random.Generator, size: int, cells: int, octaves: int = 3) -> np.ndarray:
    """Smooth fractal noise in [0, 1]: bicubic upsampled random grids, each octave twice as fine and half as strong."""
    total = np.zeros((size, size), dtype=np.float32)
    weight_sum = 0.0
    weight = 1.0
    for octave in range(octaves):
        n = cells * 2**octave + 1
        coarse = rng.random((n, n), dtype=np.float32)
        total += weight * np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))
        weight_sum += weight
        weight *= 0.5
    total /= weight_sum
    low, high = float(total.min()), float(total.max())
    return (total - low) / max(high - low, 1e-6)


def resize(values: np.ndarray, size: int) -> np.ndarray:
    """A 2-D float field resampled to (size, size): lets geometry defined on a fixed grid be drawn at any size."""
    return np.asarray(Image.fromarray(values.astype(np.float32)).resize((size, size), Image.Resampling.BILINEAR))


def tinted(colour: RGB, noise: np.ndarray, amount: float) -> np.ndarray:
    """A flat colour modulated by noise: brightness varies by ±amount around ``colour``."""
    factor = 1.0 + amount * (noise - 0.5) * 2
    return np.asarray(colour, dtype=np.float32)[None, None, :] * factor[..., None]


def blend(base: np.ndarray, other: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-pixel mix of two images; ``weight`` (H, W) in [0, 1] is the share of ``other``."""
    return base * (1 - weight[..., None]) + other * weight[..., None]


def jitter(rng: np.random.Generator, colour: RGB, amount: float = 12.0) -> RGB:
    """A colour nudged a little per channel, so that no two scenes of a class share the exact palette."""
    return tuple(float(c) for c in np.clip(np.asarray(colour) + rng.uniform(-amount, amount, 3), 0, 255))


def grass(rng: np.random.Generator, size: int, colour: RGB = (96, 128, 66), amount: float = 0.18) -> np.ndarray:
    """Grass or scrub: a green with blotches of lighter and darker vegetation."""
    coarse = value_noise(rng, size, 3, 2)
    fine = value_noise(rng, size, 12, 2)
    return tinted(jitter(rng, colour), 0.6 * coarse + 0.4 * fine, amount)


def bare_ground(rng: np.random.Generator, size: int, colour: RGB = (150, 135, 110)) -> np.ndarray:
    """Bare soil or gravel: a dull brown-grey with fine grain."""
    return tinted(jitter(rng, colour), 0.5 * value_noise(rng, size, 4, 2) + 0.5 * value_noise(rng, size, 24, 1), 0.14)


def asphalt(rng: np.random.Generator, size: int, colour: RGB = (92, 94, 98)) -> np.ndarray:
    """Asphalt or concrete: nearly flat grey with a little stain noise."""
    return tinted(jitter(rng, colour, 8), value_noise(rng, size, 5, 3), 0.08)


def water(
    rng: np.random.Generator, size: int, colour: RGB = (38, 84, 112), angle: float = 0.0, waves: float = 1.0
) -> np.ndarray:
    """Water: a blue-green whose depth varies smoothly, crossed by faint parallel wave crests along ``angle``."""
    x, y = grid(size)
    depth = value_noise(rng, size, 3, 2)
    warp = value_noise(rng, size, 4, 2)
    frequency = rng.uniform(45, 70)
    u = x * np.cos(angle) + y * np.sin(angle)
    crest = np.sin(2 * np.pi * (frequency * u + 3.0 * warp)) ** 8  # sharp, sparse crests
    base = tinted(jitter(rng, colour, 8), depth, 0.18)
    return base + waves * 22.0 * crest[..., None]


def dunes(rng: np.random.Generator, size: int, colour: RGB = (212, 176, 120), angle: float = 0.0) -> np.ndarray:
    """Sand dunes whose crests run across ``angle``: warped ridges, sunlit on one side, over rippled sand."""
    x, y = grid(size)
    frequency = rng.uniform(3.5, 7.0)
    warp = value_noise(rng, size, 3, 2)
    u = x * np.cos(angle) + y * np.sin(angle) + 0.35 * warp
    phase = (frequency * u) % 1.0
    # a dune is a slow windward climb and a steep lee drop: a sawtooth, smoothed
    ridge = np.where(phase < 0.8, phase / 0.8, (1.0 - phase) / 0.2)
    ripples = np.sin(2 * np.pi * (rng.uniform(40, 60) * u + 2 * warp)) * 0.5 + 0.5
    shade = 0.72 + 0.38 * ridge + 0.05 * ripples + 0.1 * (value_noise(rng, size, 5, 2) - 0.5)
    return np.asarray(jitter(rng, colour, 10), dtype=np.float32)[None, None, :] * shade[..., None]


def crop_rows(rng: np.random.Generator, size: int, colour: RGB, angle: float, spacing: float) -> np.ndarray:
    """A field of crop rows: stripes every ``spacing`` units along ``angle``, with slight unevenness."""
    x, y = grid(size)
    u = x * np.cos(angle) + y * np.sin(angle)
    rows = 0.5 + 0.5 * np.sin(2 * np.pi * u / spacing)
    return tinted(colour, 0.55 * rows + 0.45 * value_noise(rng, size, 6, 2), 0.16)


def canopy(rng: np.random.Generator, size: int, colour: RGB = (44, 78, 40)) -> np.ndarray:
    """Dense tree canopy seen from above: dark green with crown-sized bright and shaded spots."""
    crowns = value_noise(rng, size, 22, 1)
    patches = value_noise(rng, size, 4, 2)
    return tinted(jitter(rng, colour, 8), 0.7 * crowns + 0.3 * patches, 0.35)
