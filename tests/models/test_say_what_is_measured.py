"""Say what is measured: a run from random weights says so in yellow before training, an open_clip tag that is
not in the cache fails at once when its host cannot be reached (no retry loop), and contact sheets fit long file
names."""

from __future__ import annotations

import io
import socket
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw
from rich.console import Console

from rsbench.errors import RsbenchError
from rsbench.models.backbones import hub
from rsbench.retrieval.archive import Hit, contact_sheet, middle_ellipsis

OPENAI_B32 = {"url": "https://openaipublic.azureedge.net/clip/models/40d3/ViT-B-32.pt",
              "hf_hub": "timm/vit_base_patch32_clip_224.openai/"}


def announced(pretrained: str | None) -> str:
    from rsbench.engine import announce

    dataset = SimpleNamespace(name="synthrs", synthetic=True, split_sizes=lambda: {"train": 1}, problems=[])
    exp = SimpleNamespace(dataset=dataset, backbone=SimpleNamespace(name="ViT-B-32", pretrained=pretrained),
                          device="cpu")
    out = io.StringIO()
    announce(exp, Console(file=out, width=300, force_terminal=True, color_system="standard"))
    return out.getvalue()


def test_a_run_from_random_weights_says_so_in_yellow_and_a_pretrained_one_does_not():
    text = announced(None)
    line = next(line for line in text.splitlines() if "starts from random weights" in line)
    assert "\x1b[33m" in line and "--pretrained TAG|FILE" in line and "(random init)" in line
    assert "starts from random weights" not in announced("openai")


@pytest.fixture
def offline(monkeypatch):
    """No host answers, and a download would be a failure of the test: the refusal must come before it."""
    from open_clip import pretrained

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (test)")

    def never(*args, **kwargs):
        raise AssertionError("download_pretrained was called: the retry loop was not skipped")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(pretrained, "download_pretrained", never)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.mark.parametrize("source", ["hf_hub", "url"])
def test_an_uncached_tag_fails_at_once_with_the_clear_line_when_its_host_cannot_be_reached(tmp_path, offline,
                                                                                            source):
    tag_cfg = {source: OPENAI_B32[source]}
    with pytest.raises(RsbenchError, match=r"could not fetch open_clip weights ViT-B-32 / openai: they are not in "
                                           r"the cache and .* cannot be reached .*pass its path as pretrained"):
        hub.fetch_pretrained("ViT-B-32", "openai", tag_cfg, str(tmp_path))


def test_weights_in_the_hub_cache_are_used_without_the_network(tmp_path, offline):
    snapshot = tmp_path / "models--timm--vit_base_patch32_clip_224.openai" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    path = hub.fetch_pretrained("ViT-B-32", "openai", {"hf_hub": OPENAI_B32["hf_hub"]}, str(tmp_path))
    assert path.endswith("snapshots/abc123/open_clip_model.safetensors")


def test_build_backbone_with_an_uncached_tag_offline_is_the_clear_error(tmp_path, offline):
    from rsbench.models.backbones.config import BackboneConfig
    from rsbench.models.backbones.open_clip_backbone import build_backbone

    with pytest.raises(RsbenchError, match="could not fetch open_clip weights ViT-B-32 / openai: .*cannot be reached"):
        build_backbone(BackboneConfig(name="ViT-B-32", pretrained="openai", cache_dir=str(tmp_path)))


def test_long_file_names_are_shortened_in_the_middle_to_fit_a_thumbnail():
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength
    name = "denseresidential_with_a_very_long_descriptive_suffix_4.tif"
    short = middle_ellipsis(name, 160, measure)
    assert measure(short) <= 160 < measure(name)
    assert short.startswith("dense") and short.endswith("_4.tif") and "..." in short
    assert middle_ellipsis("airport_2.png", 160, measure) == "airport_2.png"  # one that fits stays whole


def test_a_contact_sheet_draws_each_long_name_with_its_end_and_within_its_thumbnail(tmp_path, monkeypatch):
    drawn: list[tuple[str, float]] = []
    original = ImageDraw.ImageDraw.text

    def text(self, xy, string, *args, **kwargs):
        drawn.append((string, self.textlength(string)))
        return original(self, xy, string, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    paths = []
    for n in range(2):
        path = tmp_path / f"denseresidential_with_a_very_long_descriptive_suffix_{n}.png"
        Image.new("RGB", (16, 16), (200, 30 * n, 40)).save(path)
        paths.append(path)
    sheet = contact_sheet("two dense residential areas", [Hit(i + 1, p, 0.5) for i, p in enumerate(paths)],
                          tmp_path / "sheet.png", columns=2)
    assert sheet.is_file()
    for n in range(2):
        label, width = next((s, w) for s, w in drawn if s.endswith(f"_{n}.png"))  # the number tells them apart
        assert label.startswith("dense") and width <= 160
