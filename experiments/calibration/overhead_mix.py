"""Calibration experiment, not part of rsbench: SynthShapes plus overhead tiles painted by SynthRS's painters.

Writes a Karpathy-format corpus to OUT: SynthShapes (its own splits) and, in train only, TILES SynthRS images
from another seed than the benchmark's, whose captions keep no scene label. Class sentences ("This is an
airport.") are dropped, the places of count sentences ("in the airport") become "in the image", and any caption
that still names a scene, a place or a scene-defining thing (runway, baseball, storage, ...) is dropped. It
asks what issue 4's item 1 rules out (a corpus that shares SynthRS's visual domain), to measure how far such
a corpus carries zero-shot transfer; see leaderboard/README.md. Usage:

    python experiments/calibration/overhead_mix.py --tiles 2000 --out /tmp/mix
    rsbench pretrain --out-dir /tmp/px-mix --epochs 3 --set dataset.name=karpathy \\
        --set dataset.data_root=/tmp/mix --set dataset.annotation=dataset.json --set dataset.scene_rule=none
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from rsbench.data.caption_grammar import tokens
from rsbench.data.synthrs import SynthRSConfig
from rsbench.data.synthrs.captions import GENERIC, PLACES
from rsbench.data.synthrs.config import SCENE_CLASSES
from rsbench.data.synthrs.dataset import load_synthrs
from rsbench.data.synthshapes import SynthShapesConfig, load_synthshapes

# Words a caption may not keep: scene names, their places (bar the generic ones) and scene-defining things.
GENERIC_PLACE_WORDS = {"area", "image", "green", "land"}
SCENE_THINGS = {"baseball", "football", "storage", "parking", "runway", "depot", "port", "playground",
                "crossroads", "dunes"}  # fmt: skip


PLACE_NAMES = sorted({p for names in PLACES.values() for p in names}, key=len, reverse=True)  # longest first
PLACE_PATTERN = re.compile(r"\bthe (" + "|".join(map(re.escape, PLACE_NAMES)) + r")\b")
BANNED = set(SCENE_CLASSES) | SCENE_THINGS | ({w for p in PLACE_NAMES for w in tokens(p)} - GENERIC_PLACE_WORDS)
CLASS_SENTENCES = {sentence for sentences in GENERIC.values() for sentence, _ in sentences}


def scene_free(captions: tuple[str, ...]) -> list[str]:
    """The captions of one SynthRS tile with every hint of its scene class removed (see the module text)."""
    neutral = (PLACE_PATTERN.sub("the image", c) for c in captions if c not in CLASS_SENTENCES)
    return [c for c in neutral if not set(tokens(c)) & BANNED]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiles", type=int, default=2000, help="SynthRS tiles painted for the corpus")
    parser.add_argument("--tile-seed", type=int, default=1, help="their seed (the benchmark is seed 0)")
    parser.add_argument("--shapes", type=int, default=4000, help="SynthShapes images")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (replaced)")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    (args.out / "images").mkdir(parents=True)
    entries = []
    for record in load_synthshapes(SynthShapesConfig(num_images=args.shapes)).records:
        name = "shapes_" + record.image.name
        shutil.copy(record.image, args.out / "images" / name)
        entries.append({"filename": name, "split": record.split, "sentences": [{"raw": c} for c in record.captions]})
    kept = dropped = 0
    for record in load_synthrs(SynthRSConfig(seed=args.tile_seed, num_images=args.tiles)).records:
        captions = scene_free(record.captions)
        kept, dropped = kept + len(captions), dropped + len(record.captions) - len(captions)
        if captions:
            name = "aerial_" + record.image.name
            shutil.copy(record.image, args.out / "images" / name)
            entries.append({"filename": name, "split": "train", "sentences": [{"raw": c} for c in captions]})
    (args.out / "dataset.json").write_text(json.dumps({"images": entries}))
    print(f"{len(entries)} images; tile captions kept {kept}, dropped {dropped}; wrote {args.out / 'dataset.json'}")


if __name__ == "__main__":
    main()
