"""Every registered built-in component keeps the plugin contract: ``rsbench.testing`` run over the registry.

Parametrized over the registries, so a component is checked the moment it is registered; datasets
that read files get a tiny copy of their public layout written here.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from PIL import Image

from rsbench.hooks import registries
from rsbench.hooks.manager import BUILTIN_NAME
from rsbench.testing import check_component, tiny_backbone

BUILTINS = [(kind, c.name) for kind, registry in registries().items() for c in registry.list()
            if c.source == BUILTIN_NAME]
CAPTIONS = ["a plane on the runway", "two white planes", "a grey terminal"]
# (file name, split) per dataset, named as that dataset's scene rule expects.
FILES = {
    "rsitmd": ["airport_1.tif", "beach_2.tif", "airport_3.tif"],
    "rsicd": ["airport_1.jpg", "beach_2.jpg", "airport_3.jpg"],
    "ucm": ["1.tif", "101.tif", "201.tif"],
    "sydney": ["1.tif", "250.tif", "300.tif"],
    "karpathy": ["a.png", "b.png", "c.png"],
}
LAYOUT = {  # annotation file, image folder
    "rsitmd": ("dataset_RSITMD.json", "images"), "rsicd": ("dataset_rsicd.json", "RSICD_images"),
    "ucm": ("dataset.json", "imgs"), "sydney": ("dataset.json", "imgs"), "karpathy": ("ann.json", "images"),
}
SMALL = {"synthrs": {"num_images": 60, "image_size": 32}, "synthshapes": {"num_images": 30, "image_size": 32}}


def dataset_options(name: str, root: Path) -> dict:
    """Options that load dataset ``name``: small synthetic builds, or a tiny folder in its public layout."""
    if name in SMALL:
        return SMALL[name]
    splits = ("train", "val", "test")
    if name in LAYOUT:
        annotation, folder = LAYOUT[name]
        images = [{"filename": f, "split": s, "sentences": [{"raw": c} for c in CAPTIONS]}
                  for f, s in zip(FILES[name], splits, strict=True)]
        (root / annotation).write_text(json.dumps({"images": images}))
        for f in FILES[name]:
            (root / folder).mkdir(exist_ok=True)
            Image.new("RGB", (8, 8)).save(root / folder / f)
        return {"data_root": str(root)} | ({"annotation": annotation} if name == "karpathy" else {})
    if name == "precomp":
        for i, split in enumerate(splits):
            (root / f"{split}_caps.txt").write_text("".join(f"{c} {i}\n" for c in CAPTIONS + CAPTIONS[:2]))
            (root / f"{split}_filename.txt").write_text(f"img_{i}.png\n")
            (root / "images").mkdir(exist_ok=True)
            Image.new("RGB", (8, 8)).save(root / "images" / f"img_{i}.png")
        return {"data_root": str(root)}
    if name == "nwpu":
        entries = {"airport": [{"filename": f"airport_{i}.jpg", "split": s, "raw": CAPTIONS[i]}
                               for i, s in enumerate(splits)]}
        (root / "dataset_nwpu.json").write_text(json.dumps(entries))
        (root / "NWPU_images" / "airport").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8)).save(root / "NWPU_images" / "airport" / f"airport_{i}.jpg")
        return {"data_root": str(root)}
    raise AssertionError(f"no test layout for built-in dataset {name!r}: add one to dataset_options")


def captioner_setup(name: str, root: Path, stack: contextlib.ExitStack) -> tuple[dict, object]:
    """Options (and the dataset whose test images it captions, or None for toy images) for built-in captioner
    ``name``: a captions file for the toy images, a local endpoint, a tiny saved VLM, a small SynthRS."""
    if name == "file":
        (root / "captions.json").write_text(json.dumps({f"toy_{i}.png": [f"toy {i}"] for i in range(4)}))
        return {"path": str(root / "captions.json")}, None
    if name == "openai":
        from rsbench.testing.openai_server import OpenAICompatibleServer

        server = stack.enter_context(OpenAICompatibleServer())
        return {"base_url": server.url, "max_retries": 0}, None
    if name == "transformers":
        from rsbench.testing.tiny_vlm import write_tiny_vlm

        return {"model": str(write_tiny_vlm(root / "vlm")), "max_new_tokens": 4}, None
    if name == "oracle":
        from rsbench.data import load_dataset

        return {}, load_dataset("synthrs", SMALL["synthrs"])
    if name == "tiny":  # the shipped captioner file, on toy images
        return {"variants": 2}, None
    raise AssertionError(f"no test setup for built-in captioner {name!r}: add one to captioner_setup")


def test_every_kind_is_covered():
    assert {kind for kind, _ in BUILTINS} == set(registries())


@pytest.mark.parametrize(("kind", "name"), BUILTINS, ids=[f"{k}:{n}" for k, n in BUILTINS])
def test_builtin_component_keeps_the_contract(kind, name, tmp_path):
    options = {"pretrained": None} if kind == "backbone" else {}
    if kind == "dataset":
        options = dataset_options(name, tmp_path)
    with contextlib.ExitStack() as stack:
        dataset = None
        if kind == "captioner":
            options, dataset = captioner_setup(name, tmp_path, stack)
        if (kind, name) == ("text_encoder", "openai"):  # a real endpoint on 127.0.0.1, not the network
            from rsbench.testing.openai_server import OpenAICompatibleServer

            options = {"base_url": stack.enter_context(OpenAICompatibleServer()).url, "backoff": 0.0}
        # adapters change the backbone they wrap (LoRA, frozen weights): each gets a fresh one
        check_component(kind, name, options, backbone=tiny_backbone() if kind == "adapter" else None,
                        dataset=dataset)
