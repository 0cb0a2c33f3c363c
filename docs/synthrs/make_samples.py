"""Regenerate the SynthRS sample images and README snippet: `python docs/synthrs/make_samples.py`.

The samples are images of the default build (seed 0) painted at 128 px; layout and captions do not depend
on the image size, so the default 64 px dataset holds the same scenes with the same captions.
"""

from __future__ import annotations

import re
from pathlib import Path

from rsbench.data.synthrs.build import plan, render
from rsbench.data.synthrs.config import SynthRSConfig

HERE = Path(__file__).resolve().parent
SCENES = ("airport", "harbor", "bridge", "parking", "playground", "storagetanks")
COUNTED = re.compile(r"\b(two|three|four|five|six)\b")


def main() -> None:
    default = SynthRSConfig()
    large = SynthRSConfig(image_size=128)
    for old in HERE.glob("*.png"):
        old.unlink()
    rows = []
    for scene in SCENES:
        # the first image of the class whose captions count something: the grammar at its most specific
        for spec in (s for s in plan(default) if s.scene == scene):
            image, meta, captions = render(spec, large)
            if sum(bool(COUNTED.search(c.lower())) for c in captions) >= 2:
                break
        image.save(HERE / spec.filename, optimize=True)
        sizes: dict[str, float] = {}
        for o in meta["objects"]:
            if o["area_fraction"] < 0.02:
                sizes[o["kind"]] = min(o["area_fraction"], sizes.get(o["kind"], 1.0))
        small = [f"{kind} {area:.1%}" for kind, area in sizes.items()]
        rows.append((spec, captions, small))
    lines = [
        "SynthRS, the built-in dataset, paints aerial scenes of 17 classes with procedural textures and objects,",
        "and writes five captions per image from what it drew (counts, colours, positions, relations). Samples",
        "(seed 0, shown at 128 px; the default build is 64 px; each object's area is recorded for small/large splits):",
        "",
        "| image | captions |",
        "|---|---|",
    ]
    for spec, captions, small in rows:
        text = "<br>".join(f"{i}. {c}" for i, c in enumerate(captions, 1))
        note = f"<br><sub>small objects: {', '.join(small)}</sub>" if small else ""
        picture = f"![{spec.scene}](docs/synthrs/{spec.filename})"
        lines.append(f"| {picture} | **{spec.filename}** ({spec.split})<br>{text}{note} |")
    (HERE / "README-snippet.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
