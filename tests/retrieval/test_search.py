"""Search over a folder of images: a saved model that loads back as trained, an archive index that resumes,
rankings equal to brute force over the model's own embeddings, contact sheets, and every bad request."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from rsbench.cli import app
from rsbench.config import build_config
from rsbench.data.synthrs import SynthRSConfig
from rsbench.data.synthrs.dataset import load_synthrs
from rsbench.engine import build, run_experiment
from rsbench.errors import RsbenchError
from rsbench.retrieval import archive as archive_module
from rsbench.retrieval.archive import build_archive, contact_sheet, search_archive
from rsbench.retrieval.saved_model import load_model, model_from_config

SMALL_RUN = ["dataset.num_images=60", "dataset.image_size=32", "train.epochs=1", "train.max_steps=2",
             "train.batch_size=8", "eval.batch_size=64", "device=cpu"]  # as tests/conftest.py's SMALL_RUN
FROZEN = {"adapter": {"name": "frozen"}, "device": "cpu"}


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    dataset = load_synthrs(SynthRSConfig(num_images=60, image_size=32,
                                         data_root=str(tmp_path_factory.mktemp("src") / "synthrs")))
    folder = tmp_path_factory.mktemp("archive") / "tiles"
    (folder / "sub").mkdir(parents=True)
    chosen = dataset.records[:20]
    for n, record in enumerate(chosen):
        shutil.copy(record.image, folder / ("sub" if n % 2 else ".") / record.image.name)
    return folder, chosen


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    cfg = build_config(None, {"adapter": {"name": "clip-bitfit"}}, [*SMALL_RUN, f"results_dir={out / 'r'}",
                                                                     f"checkpoint_dir={out / 'c'}"])
    run_experiment(cfg, Console(file=io.StringIO()), save_model=out / "model")
    return out / "model", cfg


def test_saved_model_loads_back_with_the_trained_weights(saved_model):
    directory, cfg = saved_model
    assert sorted(p.name for p in directory.iterdir()) == ["config.yaml", "model.json", "trainable.safetensors"]
    loaded = load_model(directory, "cpu")
    fresh = build(cfg, "adapter", build(cfg, "backbone"))
    trained = {n: p for n, p in loaded.adapter.named_parameters() if p.requires_grad}
    initial = dict(fresh.named_parameters())
    assert trained and any(not torch.equal(p, initial[n]) for n, p in trained.items())  # training changed them
    tokens = loaded.backbone.tokenizer(["a red car"])
    with torch.no_grad():
        assert not torch.allclose(loaded.adapter.encode_text(tokens), fresh.eval().encode_text(tokens))


def test_search_ranks_the_archive_as_brute_force_over_the_models_embeddings(saved_model, image_folder, tmp_path):
    directory, _ = saved_model
    folder, chosen = image_folder
    out = tmp_path / "index"
    manifest = build_archive(folder, out, {"model_dir": str(directory)}, "exact", "cpu")
    assert len(manifest["paths"]) == 20 and not (out / ".parts").exists()
    model = load_model(directory, "cpu")
    query = chosen[3].captions[0]
    hits = search_archive(out, query, k=20, device="cpu")
    images = [Image.open(folder / p).convert("RGB") for p in manifest["paths"]]
    encoder = model.encoder()
    scores = (encoder.texts([query]).embeddings @ encoder.pil_images(images).T)[0].numpy()
    order = sorted(range(20), key=lambda j: (-scores[j], j))
    assert [str(h.path.relative_to(folder.resolve())) for h in hits] == [manifest["paths"][j] for j in order]
    assert np.allclose([h.score for h in hits], scores[order], atol=1e-5)
    sheet = contact_sheet(query, hits[:7], tmp_path / "sheet.png", outlined={hits[0].path})
    assert Image.open(sheet).size == (5 * 168 + 8, 28 + 2 * (160 + 30 + 8) + 8)  # two label lines a thumbnail


def test_cli_builds_with_a_frozen_config_and_searches_with_a_contact_sheet(image_folder, tmp_path):
    folder, chosen = image_folder
    runner = CliRunner()
    built = runner.invoke(app, ["index", "build", "--images", str(folder), "--out", str(tmp_path / "ix"),
                                "--set", "device=cpu", "--index", "hnsw", "--device", "cpu"])
    assert built.exit_code == 0, built.output
    found = runner.invoke(app, ["search", chosen[0].captions[0], "--index", str(tmp_path / "ix"), "-k", "5",
                                "--show", str(tmp_path / "hits.png"), "--device", "cpu", "--json"])
    assert found.exit_code == 0, found.output
    assert (tmp_path / "hits.png").is_file() and found.stdout.count('"rank"') == 5
    # a damaged faiss file never reaches faiss (which may allocate without bound on one flipped size bit)
    index_file = tmp_path / "ix" / "index.hnsw"
    data = bytearray(index_file.read_bytes())
    data[len(data) // 3] ^= 0x10
    index_file.write_bytes(bytes(data))
    damaged = runner.invoke(app, ["search", "a red car", "--index", str(tmp_path / "ix"), "--device", "cpu"])
    message = str(damaged.exception)  # the app raises the project's error; rsbench's main prints it, exit 2
    assert isinstance(damaged.exception, RsbenchError) and "\n" not in message
    assert "is not the file its manifest records" in message and "rsbench index build" in message


def test_an_interrupted_build_resumes_without_embedding_finished_chunks(image_folder, tmp_path, monkeypatch):
    folder, _ = image_folder
    monkeypatch.setattr(archive_module, "CHUNK", 8)  # 20 images: chunks of 8, 8, 4
    model = model_from_config(FROZEN, "cpu")
    calls = []

    def flaky(images):
        calls.append(len(images))
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the last chunk
        return original(images)

    encoder = model.encoder()
    original = encoder.pil_images
    monkeypatch.setattr(archive_module, "load_model_spec", lambda spec, device: model)
    monkeypatch.setattr(model, "encoder", lambda: encoder)
    monkeypatch.setattr(encoder, "pil_images", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_archive(folder, tmp_path / "ix", {"config": FROZEN}, "exact", "cpu")
    assert not (tmp_path / "ix" / "manifest.json").exists()  # nothing half-written
    calls.clear()
    counted = []
    monkeypatch.setattr(encoder, "pil_images", lambda images: counted.append(len(images)) or original(images))
    build_archive(folder, tmp_path / "ix", {"config": FROZEN}, "exact", "cpu")
    assert counted == [4]  # only the unfinished chunk


def test_bad_requests_are_clear_errors(saved_model, image_folder, tmp_path):
    directory, _ = saved_model
    folder, _ = image_folder
    out = tmp_path / "ix"
    build_archive(folder, out, {"config": FROZEN}, "exact", "cpu")
    with pytest.raises(RsbenchError, match="between 1 and"):
        search_archive(out, "a red car", k=21, device="cpu")
    with pytest.raises(RsbenchError, match="no words"):
        search_archive(out, " ?! ", device="cpu")
    with pytest.raises(RsbenchError, match="no archive index"):
        search_archive(tmp_path / "nowhere", "a red car", device="cpu")
    with pytest.raises(RsbenchError, match="built with model"):
        search_archive(out, "a red car", device="cpu", model=load_model(directory, "cpu"))
    with pytest.raises(RsbenchError, match="no images"):
        build_archive(tmp_path, tmp_path / "other", {"config": FROZEN}, "exact", "cpu")
    with pytest.raises(RsbenchError, match="not a saved model"):
        load_model(tmp_path, "cpu")
    (out / "index.exact").unlink()
    with pytest.raises(RsbenchError, match="missing"):
        search_archive(out, "a red car", device="cpu")
    result = CliRunner().invoke(app, ["run", "--save-model", str(directory), *sum([["--set", s] for s in SMALL_RUN],
                                                                                   [])])
    assert result.exit_code != 0 and "already exists" in str(result.exception or result.output)


def test_example_sheets_outline_the_true_image_where_it_ranks(image_folder, tmp_path):
    from rsbench.retrieval.examples import write_examples
    from rsbench.retrieval.scores import RetrievalScores

    _, chosen = image_folder
    records = chosen[:12]
    similarity = torch.zeros(3, 12)
    similarity[0, 4], similarity[0, 0] = 1.0, 0.5  # caption 0 (of image 0): its image second
    similarity[2, 11] = -1.0  # caption 2 (of image 11): its image last, outside the top 10
    sheets = write_examples(RetrievalScores.from_similarity(similarity), ["a", "b", "c"], [0, 5, 11], records, 2,
                            tmp_path)
    assert [p.name for p in sheets] == ["query-01.png", "query-02.png"]
    first = Image.open(sheets[0]).convert("RGB")
    x, y = 8 + 168, 28  # the second thumbnail: the true image, framed in green
    assert first.getpixel((x - 2, y + 40)) == (0, 170, 0)
    assert first.getpixel((8 - 2, 28 + 40)) == (255, 255, 255)  # the first is not framed
    last = Image.open(sheets[1]).convert("RGB")
    assert (0, 170, 0) not in {last.getpixel((x - 2, y + 40)) for x in range(8, 5 * 168, 168)}


def test_run_draws_example_queries_beside_its_record(tmp_path, quiet_console):
    cfg = build_config(None, {"adapter": {"name": "frozen"}}, [*SMALL_RUN, f"results_dir={tmp_path / 'r'}"])
    _, path = run_experiment(cfg, quiet_console, examples=3)
    sheets = sorted(path.with_name(path.stem + "-examples").glob("*.png"))
    assert len(sheets) == 3 and all(Image.open(s).size[0] == 5 * 168 + 8 for s in sheets)
