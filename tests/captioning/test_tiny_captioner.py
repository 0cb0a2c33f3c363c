"""The ``tiny`` captioner: `rsbench pretrain-captioner` trains it, the file loads back as trained, captions are
seeded per image, the shipped file is what its card says, and caption quality is scored as BLEU and CIDEr-D."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from rsbench.captioning import caption_records
from rsbench.captioning.config import TinyCaptionerConfig
from rsbench.captioning.quality import caption_quality
from rsbench.captioning.tiny import (
    CARD_FILE,
    CARD_JSON,
    SHIPPED_DIR,
    WEIGHTS_FILE,
    CaptionDecoder,
    TinyCaptioner,
    Vocabulary,
    detokenize,
    load_captioner,
    save_captioner,
    words,
)
from rsbench.captioning.tiny_train import MAX_BYTES, CaptionerRecipe, _dataset, _features, _mean_loss, _pairs
from rsbench.cli import main
from rsbench.errors import ConfigError, RsbenchError

TINY_CORPUS = {"name": "synthshapes", "num_images": 40, "overhead_tiles": 8, "image_size": 32}
TINY_SYNTHRS = {"name": "synthrs", "num_images": 51, "image_size": 32}


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short training on a 48-image corpus: (card, output folder)."""
    from rich.console import Console

    from rsbench.captioning.tiny_train import train_captioner

    out = tmp_path_factory.mktemp("tiny-captioner")
    recipe = CaptionerRecipe(dataset=TINY_CORPUS, eval_dataset=TINY_SYNTHRS, epochs=3, batch_size=16, lr=3e-3,
                             width=32, layers=1, heads=2, max_length=32)
    card = train_captioner(recipe, out, Console(quiet=True))
    return card, out


def test_training_lowers_the_loss_and_the_file_holds_the_trained_decoder(trained):
    card, out = trained
    history = card["training"]["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] - 0.5  # it learned the corpus's words
    weights = out / WEIGHTS_FILE
    assert weights.stat().st_size <= MAX_BYTES and card["model"]["sha256"] == sha256(weights)
    assert json.loads((out / CARD_JSON).read_text()) == card
    # Loaded back as a user loads it, the decoder has the card's final corpus-val loss (to float16 precision),
    # so the file holds the trained weights, not the initial ones.
    decoder, vocabulary, identity = load_captioner(weights)
    from rsbench.captioning.tiny import image_tokens_for

    val = _dataset(TINY_CORPUS).split("val")
    from rich.console import Console

    features = _features(val, image_tokens_for(identity), Console(quiet=True), "val")
    loss = _mean_loss(decoder, features, *_pairs(val, vocabulary, decoder.shape.max_length))
    assert loss == pytest.approx(history[-1]["val_loss"], abs=0.05)
    assert loss < history[0]["val_loss"] - 0.5
    # the card scores that file on SynthRS test, and says so
    q = card["quality"]
    assert q["dataset"] == "synthrs" and q["split"] == "test" and q["images"] == len(_dataset(TINY_SYNTHRS)
                                                                                      .split("test"))
    assert f"{q['cider']:.3f}" in (out / CARD_FILE).read_text()


def test_captions_use_the_corpus_words_and_do_not_depend_on_the_batch(trained, image_records):
    _, out = trained
    captioner = TinyCaptioner(TinyCaptionerConfig(weights=str(out / WEIGHTS_FILE), variants=4, temperature=1.0))
    paths = [r.image for r in image_records]
    together = captioner.write(paths)
    alone = [captioner.write([p])[0] for p in paths]
    assert together == alone
    vocabulary = set(captioner.vocabulary.itos)
    assert all(1 <= len(c) <= 4 and len(set(c)) == len(c) for c in together)
    assert all(set(words(caption)) <= vocabulary for c in together for caption in c)
    # The greedy caption does not depend on the seed; the sampled ones do.
    other = TinyCaptioner(TinyCaptionerConfig(weights=str(out / WEIGHTS_FILE), variants=4, temperature=1.0,
                                              seed=1)).write(paths)
    assert [c[0] for c in other] == [c[0] for c in together]
    assert [c[1:] for c in other] != [c[1:] for c in together]
    # the describe() that keys the cache names the file's digest and the sampling settings
    assert captioner.describe()["weights_sha256"] == sha256(out / WEIGHTS_FILE)
    assert captioner.describe()["settings"] != TinyCaptioner(TinyCaptionerConfig(
        weights=str(out / WEIGHTS_FILE), variants=4, temperature=1.0, seed=1)).describe()["settings"]


def test_the_shipped_captioner_is_the_file_its_card_describes(image_records, tmp_path):
    weights = SHIPPED_DIR / WEIGHTS_FILE
    card = json.loads((SHIPPED_DIR / CARD_JSON).read_text())
    assert weights.stat().st_size <= MAX_BYTES and card["model"]["sha256"] == sha256(weights)
    assert card["data"]["corpus"] == "synthshapes" and card["data"]["options"]["name"] != "synthrs"
    assert card["training"]["history"][-1]["val_loss"] < card["training"]["history"][0]["val_loss"]
    assert (SHIPPED_DIR / CARD_FILE).is_file()
    # the default `tiny` captioner is the shipped file, and it captions through the cache like any captioner
    out = caption_records(image_records, "tiny", {}, cache_dir=tmp_path)
    assert out.failures == 0 and all(out.per_image)
    assert out.provenance["model"] == f"rsbench-tiny-captioner@{sha256(weights)[:12]}"
    assert out.provenance["oracle"] is False


@pytest.mark.slow
def test_the_shipped_cards_caption_quality_is_reproduced():
    """The card's BLEU and CIDEr-D come from the shipped file on SynthRS test, scored again here."""
    from rich.console import Console

    from rsbench.captioning.tiny_train import score_file

    card = json.loads((SHIPPED_DIR / CARD_JSON).read_text())
    again = score_file(SHIPPED_DIR / WEIGHTS_FILE, card["quality"]["options"], "cpu", Console(quiet=True))
    for key in ("bleu1", "bleu4", "cider", "images"):
        assert again[key] == pytest.approx(card["quality"][key], abs=1e-4), key


def test_save_and_load_round_trip_and_bad_files(tmp_path):
    vocabulary = Vocabulary.from_captions(["A red box.", "Two red boxes, left."])
    from rsbench.captioning.tiny import DecoderShape

    decoder = CaptionDecoder(DecoderShape(len(vocabulary), width=16, layers=1, heads=2))
    identity = {"name": "rsbench-tiny", "pretrained": "synthetic", "sha256": "0" * 64}
    path = save_captioner(decoder, vocabulary, identity, tmp_path / "c.safetensors")
    loaded, vocab2, identity2 = load_captioner(path)
    assert vocab2.itos == vocabulary.itos and identity2 == identity
    for key, value in decoder.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value.half().float(), rtol=0, atol=0)
    # trained on other backbone weights: refused when built, in one line that says what to do
    with pytest.raises(ConfigError, match="pretrain-captioner"):
        TinyCaptioner(TinyCaptionerConfig(weights=str(path)))
    with pytest.raises(ConfigError, match="no such file"):
        load_captioner(tmp_path / "missing.safetensors")
    with pytest.raises(ConfigError, match="not a tiny captioner"):  # a CLIP's weights are not a captioner
        load_captioner(SHIPPED_DIR.parent.parent / "models/backbones/weights/rsbench-tiny-synthetic.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(ConfigError, match="not a safetensors file"):
        load_captioner(tmp_path / "junk.safetensors")


def test_vocabulary_encodes_and_decodes_sentences():
    vocabulary = Vocabulary.from_captions(["Three small white planes, in the north.", "A white plane."])
    ids = vocabulary.encode("Three white planes, in the north.", max_length=32)
    assert vocabulary.decode(ids[1:]) == "Three white planes, in the north."
    assert vocabulary.encode("a purple plane", max_length=32)[2] == 3  # <unk>
    assert len(vocabulary.encode(" ".join(["plane"] * 40), max_length=8)) == 8
    assert detokenize(["two", "boxes", ",", "left", "."]) == "Two boxes, left."


def test_caption_quality_matches_hand_computed_bleu_and_ranks_captions():
    # BLEU-1 of "a b c d" against "a b c e": 3 of 4 words match, no brevity penalty -> 0.75
    scores = caption_quality(["A b, c d."], [["a b c e"]])
    assert scores["bleu1"] == pytest.approx(0.75, abs=1e-6)
    refs = [["a red plane on a grey runway", "a plane is parked near the runway"],
            ["a green meadow with a small pond", "a pond in a meadow"],
            ["three white storage tanks near a road", "storage tanks beside a road"]]
    right = caption_quality(["a red plane on a grey runway", "a green meadow with a pond", "white storage tanks"],
                            refs)
    swapped = caption_quality(["white storage tanks", "a red plane on a grey runway", "a green meadow with a pond"],
                              refs)
    assert right["cider"] > swapped["cider"] + 1 and right["bleu4"] > swapped["bleu4"]
    assert caption_quality(["", "", ""], refs)["cider"] == pytest.approx(0.0)
    with pytest.raises(RsbenchError, match="one hypothesis per image"):
        caption_quality(["one"], refs)


def invoke(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


@pytest.mark.parametrize(("argv", "message"), [
    (["--set", "dataset.name=synthrs"], "never on SynthRS"),
    (["--set", "width=30", "--set", "heads=4"], "must divide by heads"),
    (["--set", "depth=3"], "depth"),
])
def test_pretrain_captioner_refuses_bad_recipes_in_one_line(capsys, tmp_path, argv, message):
    code, _, err = invoke(capsys, "pretrain-captioner", "--out-dir", str(tmp_path / "out"), *argv)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_pretrain_captioner_checks_the_output_folder_before_training(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, err = invoke(capsys, "pretrain-captioner", "--out-dir", str(tmp_path / "file" / "out"))
    assert code == 2 and "is a file" in err and len(err.strip().splitlines()) == 1


def test_caption_command_scores_against_the_dataset_captions(capsys, tmp_path):
    code, out, err = invoke(capsys, "caption", "--captioner", "tiny", "--set", "captioner.variants=1", "--set",
                            "dataset.num_images=51", "--set", "dataset.image_size=32", "--split", "test",
                            "--cache-dir", str(tmp_path), "--score", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["counts"]["failed"] == 0 and 0 <= summary["quality"]["bleu4"] <= 1
    assert summary["quality"]["images"] == summary["counts"]["images"]


def test_without_the_scorers_pretrain_captioner_stops_before_training(capsys, tmp_path, monkeypatch):
    import sys

    from rsbench.captioning import tiny_train

    monkeypatch.setitem(sys.modules, "pycocoevalcap", None)  # as if the `captions` extra were not installed
    monkeypatch.setattr(tiny_train, "_dataset", lambda spec: pytest.fail("the corpus was loaded"))
    code, _, err = invoke(capsys, "pretrain-captioner", "--out-dir", str(tmp_path / "out"))
    assert code == 2 and "pip install 'rsbench[captions]'" in err and len(err.strip().splitlines()) == 1


def test_a_captioner_over_the_size_ceiling_is_refused_before_training(capsys, tmp_path, monkeypatch):
    from rsbench.captioning import tiny_train

    monkeypatch.setattr(tiny_train, "_fit", lambda *args: pytest.fail("training started"))
    code, _, err = invoke(capsys, "pretrain-captioner", "--out-dir", str(tmp_path / "out"),
                          "--set", "dataset.num_images=40", "--set", "dataset.overhead_tiles=8",
                          "--set", "dataset.image_size=32", "--set", "width=512", "--set", "layers=4")
    assert code == 2 and "over the 10 MB a shipped file may take" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
