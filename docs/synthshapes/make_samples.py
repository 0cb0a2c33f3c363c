"""Regenerate the SynthShapes sample images and README snippet: `python docs/synthshapes/make_samples.py`.

The samples are images of the default build (seed 0) painted at 128 px; layout and captions do not depend
on the image size, so the default 64 px corpus holds the same sheets with the same captions.
"""

from __future__ import annotations

from pathlib import Path

from rsbench.data.synthshapes.build import plan, render
from rsbench.data.synthshapes.config import SynthShapesConfig

HERE = Path(__file__).resolve().parent
RELATION_WORDS = (" above ", " below ", " under ", " left of ", " right of ", " next to ", " beside ", "side by side")


def _relates(captions: list[str]) -> bool:
    return any(word in caption for caption in captions for word in RELATION_WORDS)


# What each sample shows: the first image of the default build that fits, in this order.
WANTED = (
    lambda meta, captions: len(meta["objects"]) == 1,
    lambda meta, captions: any(" inside " in caption for caption in captions),
    lambda meta, captions: len(meta["objects"]) in (2, 3) and _relates(captions),
    lambda meta, captions: len(meta["objects"]) >= 4 and _relates(captions),
)


def main() -> None:
    default = SynthShapesConfig()
    large = SynthShapesConfig(image_size=128)
    for old in HERE.glob("*.png"):
        old.unlink()
    rows = []
    specs = plan(default)
    for wanted in WANTED:
        taken = {row[0].number for row in rows}
        for spec in specs:
            image, meta, captions = render(spec, large)
            if spec.number not in taken and wanted(meta, captions):
                break
        image.save(HERE / spec.filename, optimize=True)
        rows.append((spec, meta, captions))
    lines = [
        "| image | captions |",
        "|---|---|",
    ]
    for spec, meta, captions in sorted(rows, key=lambda row: row[0].number):
        text = "<br>".join(f"{i}. {c}" for i, c in enumerate(captions, 1))
        drawn = ", ".join(f"{o['size']} {o['colour']} {o['kind']} {o['area_fraction']:.1%}" for o in meta["objects"])
        background = f"{meta['background']['tone']} {meta['background']['pattern']}"
        picture = f"![{spec.filename}](docs/synthshapes/{spec.filename})"
        lines.append(
            f"| {picture} | **{spec.filename}** ({spec.split})<br>{text}<br><sub>{background}: {drawn}</sub> |"
        )
    (HERE / "README-snippet.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
