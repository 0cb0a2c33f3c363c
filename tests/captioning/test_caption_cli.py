"""`rsbench caption` as a user meets it, the `captioner` config section, and `rsbench list captioner`."""

from __future__ import annotations

import json

import pytest

from rsbench.cli import main
from rsbench.config import build_config, merge
from rsbench.errors import ConfigError
from rsbench.testing.openai_server import OpenAICompatibleServer

SMALL_SYNTHRS = ["--set", "dataset.num_images=60", "--set", "dataset.image_size=32"]


def invoke(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def test_caption_then_reuse_the_cache_without_calling_the_endpoint(capsys, tmp_path):
    with OpenAICompatibleServer() as server:
        argv = ["caption", "--captioner", "openai", "--set", f"captioner.base_url={server.url}", "--set",
                "captioner.model=local-vlm", *SMALL_SYNTHRS, "--split", "test", "--limit", "5", "--cache-dir",
                str(tmp_path), "--json"]
        code, out, err = invoke(capsys, *argv)
        assert code == 0, err
        first = json.loads(out)
        assert server.count("/chat/completions") == 5
        code, out, _ = invoke(capsys, *argv)
        assert code == 0 and server.count() == 5  # the second run asked nothing
    second = json.loads(out)
    assert first["counts"]["captioned"] == 5 and first["counts"]["failed"] == 0
    assert second["counts"]["from_cache"] == 5 and second["counts"]["captioned"] == 0
    assert first["model"] == "local-vlm" and first["prompt"]["name"] == "trsllava" and first["oracle"] is False
    lines = (tmp_path / first["cache"]).read_text().splitlines()
    assert len(lines) == 5 and all(len(json.loads(line)["captions"]) == 5 for line in lines)


def test_the_summary_says_what_was_done(capsys, tmp_path):
    code, out, err = invoke(capsys, "caption", "--captioner", "oracle", *SMALL_SYNTHRS, "--split", "val",
                            "--split", "test", "--prompt", "plain", "--cache-dir", str(tmp_path))
    assert code == 0, err
    text = " ".join(out.split())
    assert "oracle: the upper bound of caption quality" in text
    assert "0 from the cache" in text and "0 failed" in text and "prompt: plain (sha256" in text
    assert f"captions: {tmp_path}" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["--captioner", "oracel"], "unknown captioner 'oracel'. Did you mean: oracle"),
    (["--captioner", "openai", "--set", "captioner.temprature=1"], "unknown config key 'captioner.temprature'"),
    (["--captioner", "openai", "--set", "captioner.concurrency=0"], "concurrency must be >= 1"),
    (["--captioner", "oracle", "--set", "train.lr=1"], "takes --set captioner.KEY=VALUE or dataset.KEY=VALUE"),
    (["--captioner", "oracle", "--prompt", "fancy"], "unknown prompt 'fancy'"),
    (["--captioner", "oracle", "--split", "dev"], "--split must be one of train, val, test, all"),
    (["--captioner", "file"], "captioner file needs captioner.path"),
    (["--captioner", "file", "--set", "captioner.path=/nonexistent/caps.json"], "/nonexistent/caps.json"),
    (["--captioner", "transformers", "--set", "captioner.model=/nonexistent/vlm"], "model folder not found"),
    (["--captioner", "oracle", "--dataset", "rsitmd"], "unknown config key 'dataset.num_images'"),
    ([], "Missing option '--captioner'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    code, out, err = invoke(capsys, "caption", *SMALL_SYNTHRS, "--cache-dir", str(tmp_path), *argv)
    assert code == 2, (out, err)
    assert message in " ".join(err.split())
    assert "Traceback" not in err and err.strip().startswith("error:") and len(err.strip().splitlines()) == 1


def test_a_captions_file_for_another_dataset_is_exit_2(capsys, tmp_path):
    (tmp_path / "caps.json").write_text(json.dumps({"P0001.png": "a harbor"}))
    code, _, err = invoke(capsys, "caption", "--captioner", "file", "--set", f"captioner.path={tmp_path}/caps.json",
                          *SMALL_SYNTHRS, "--cache-dir", str(tmp_path))
    assert code == 2 and "names none of the" in err and "is it the file for this dataset?" in " ".join(err.split())


def test_an_unwritable_cache_is_exit_2(capsys, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    code, _, err = invoke(capsys, "caption", "--captioner", "oracle", *SMALL_SYNTHRS, "--cache-dir",
                          str(blocked / "sub"))
    assert code == 2 and "cannot write the caption cache" in err


def test_ctrl_c_exits_130_and_keeps_the_finished_batches(capsys, tmp_path, monkeypatch):
    from rsbench.captioning.oracle import OracleCaptioner

    calls = {"n": 0}
    original = OracleCaptioner.caption

    def interrupted(self, records, prompt, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, records, prompt, **kwargs)

    monkeypatch.setattr(OracleCaptioner, "caption", interrupted)
    argv = ["caption", "--captioner", "oracle", *SMALL_SYNTHRS, "--batch-size", "3", "--cache-dir", str(tmp_path)]
    code, _, err = invoke(capsys, *argv)
    assert code == 130 and "the same command continues after them" in " ".join(err.split())
    (cache,) = tmp_path.glob("*/captions.jsonl")
    assert len(cache.read_text().splitlines()) == 3
    code, out, _ = invoke(capsys, *argv, "--json")
    assert code == 0 and json.loads(out)["counts"]["from_cache"] == 3


def test_list_shows_the_captioners(capsys):
    code, out, _ = invoke(capsys, "list", "captioner", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) >= {"file", "oracle", "openai", "transformers"}
    assert "api_key_env" in {o["name"] for o in rows["openai"]["options"]}


def test_the_captioner_section_is_there_only_when_a_run_names_one():
    plain = build_config()
    assert not plain.has("captioner") and "captioner" not in plain.to_dict()
    named = build_config(flags={"captioner": {"name": "openai"}}, sets=["captioner.model=qwen2-vl"])
    assert named.has("captioner") and named.name("captioner") == "openai"
    assert named.to_dict()["captioner"]["model"] == "qwen2-vl"
    assert named.run_key() != plain.run_key()  # a captioner can shape training (the rich-caption augmenter)
    assert build_config(flags={"captioner": {"name": "oracle"}}).to_dict()["captioner"] == {"name": "oracle",
                                                                                            "metadata": ""}


def test_choosing_another_captioner_drops_the_old_ones_options():
    raw = merge({"captioner": {"name": "openai", "model": "x"}}, {"captioner": {"name": "oracle"}})
    assert raw["captioner"] == {"name": "oracle"}


@pytest.mark.parametrize(("sets", "message"), [
    (["captioner.model=x"], "'captioner' needs a 'name'"),
    (["captioner.name=nope"], "unknown captioner 'nope'"),
])
def test_bad_captioner_sections(sets, message):
    with pytest.raises(ConfigError, match=message):
        build_config(sets=sets)


def test_run_takes_a_captioner_flag(capsys):
    code, out, err = invoke(capsys, "run", "--captioner", "oracle", "--print-config")
    assert code == 0, err
    assert "captioner:\n  name: oracle" in out
