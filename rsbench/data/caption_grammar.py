"""Words and helpers both procedural caption grammars (SynthRS, SynthShapes) use, so that they say places the
same way: pretraining on one domain should carry its generic words ("in the top left corner") to the other.
"""

from __future__ import annotations

import re

# How a place in the image is said, by the label ``position_label`` gives it ("center", "top left", ...).
WHERE: dict[str, tuple[str, ...]] = {
    "center": ("in the center", "in the middle of the image", "at the center of the image"),
    "top": ("at the top", "in the upper part of the image", "at the top of the image"),
    "bottom": ("at the bottom", "in the lower part of the image", "at the bottom of the image"),
    "left": ("on the left", "on the left side", "on the left of the image"),
    "right": ("on the right", "on the right side", "on the right of the image"),
    "top left": ("in the top left corner", "at the upper left", "in the upper left corner"),
    "top right": ("in the top right corner", "at the upper right", "in the upper right corner"),
    "bottom left": ("in the bottom left corner", "at the lower left", "in the lower left corner"),
    "bottom right": ("in the bottom right corner", "at the lower right", "in the lower right corner"),
}


def tokens(sentence: str) -> list[str]:
    """Karpathy-style tokens: the lower-cased words, punctuation dropped."""
    return re.findall(r"[a-z]+", sentence.lower())


def article(word: str) -> str:
    """ "a" or "an" before ``word`` (by its first letter, which is right for every word the grammars use)."""
    return "an" if word[:1] in "aeiou" else "a"


def capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]
