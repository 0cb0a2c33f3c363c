"""caption_records and the caption cache: reuse, resume, failures counted and asked again, order, bad input."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from rsbench.captioning import CaptionFailure, CaptionSet, caption_records
from rsbench.captioning.cache import CaptionCache
from rsbench.errors import ConfigError, RsbenchError, UnknownComponentError


def sentence(record, retry=False) -> str:
    return f"a picture called {record.image_id}"


def cache_lines(cache_dir) -> list[dict]:
    (path,) = cache_dir.glob("*/captions.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_second_call_finds_everything_in_the_cache(scripted, image_records, tmp_path):
    calls = scripted(sentence)
    first = caption_records(image_records, "scripted", {}, prompt="plain", cache_dir=tmp_path / "c", batch_size=4)
    assert isinstance(first, CaptionSet) and first.failures == 0
    assert first.per_image == [[f"a picture called {r.image_id}"] for r in image_records]
    assert [len(ids) for ids, _ in calls] == [4, 2]
    second = caption_records(image_records, "scripted", {}, prompt="plain", cache_dir=tmp_path / "c", batch_size=4)
    assert len(calls) == 2  # nothing asked again
    assert second.per_image == first.per_image
    assert second.provenance["counts"] | {"images": 6} == {"images": 6, "from_cache": 6, "captioned": 0, "failed": 0,
                                                            "retried": 0, "recovered_by_retry": 0}
    assert first.provenance["counts"]["captioned"] == 6


def test_provenance_names_captioner_model_prompt_and_counts(scripted, image_records, tmp_path):
    scripted(sentence)
    out = caption_records(image_records, "scripted", {"tag": "v7"}, prompt="plain", cache_dir=tmp_path)
    from rsbench.captioning.prompt import load_prompt

    assert out.provenance["captioner"] == "scripted" and out.provenance["model"] == "scripted-v7"
    assert out.provenance["oracle"] is False
    assert out.provenance["prompt"] == {"name": "plain", "digest": load_prompt("plain").digest, "parser": "sentence"}
    json.dumps(out.provenance)  # goes into records as it is


def test_the_cache_is_keyed_by_image_content_not_by_name(scripted, image_records, tmp_path):
    calls = scripted(sentence)
    caption_records(image_records[:2], "scripted", {}, prompt="plain", cache_dir=tmp_path / "c")
    moved = []
    for record in image_records[:2]:
        copy = tmp_path / "elsewhere" / ("renamed_" + record.image.name)
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(record.image, copy)
        moved.append(replace(record, image=copy, image_id=copy.name))
    out = caption_records(moved, "scripted", {}, prompt="plain", cache_dir=tmp_path / "c")
    assert len(calls) == 1 and out.provenance["counts"]["from_cache"] == 2
    assert out.per_image[0] == [f"a picture called {image_records[0].image_id}"]  # what was made for that picture


def test_the_key_holds_the_captioner_identity_and_the_prompt_digest(scripted, image_records, tmp_path):
    calls = scripted(sentence)
    for options, prompt in [({}, "plain"), ({"tag": "v2"}, "plain"), ({}, "trsllava")]:
        caption_records(image_records[:1], "scripted", options, prompt=prompt, cache_dir=tmp_path)
    first_tries = [ids for ids, retry in calls if not retry]  # (the structured prompt cannot parse a sentence)
    assert len(first_tries) == 3 and len(list(tmp_path.glob("*/captions.jsonl"))) == 3
    identity = json.loads(next(tmp_path.glob("scripted-scripted-v2-*/identity.json")).read_text())
    assert identity["identity"] == {"model": "scripted-v2", "oracle": False} and identity["prompt"]["name"] == "plain"


def test_an_empty_reply_of_a_captioner_that_uses_no_prompt_is_a_failure(scripted, image_records, tmp_path):
    scripted(lambda record, retry: "  " if record.image_id == "toy_0.png" else "its caption", uses_prompt=False)
    out = caption_records(image_records[:2], "scripted", {}, cache_dir=tmp_path)
    assert out.per_image == [[], ["its caption"]] and out.failures == 1
    # asked twice, failed the same way twice: the reason is said once
    assert out.provenance["failure_examples"] == [{"image_id": "toy_0.png", "reason": "empty reply"}]


def test_a_captioner_that_uses_no_prompt_shares_one_entry_across_prompts(scripted, image_records, tmp_path):
    calls = scripted(lambda record, retry: ["from a file"], uses_prompt=False)
    for prompt in ("plain", "trsllava"):
        out = caption_records(image_records[:2], "scripted", {}, prompt=prompt, cache_dir=tmp_path)
    assert len(calls) == 1 and out.per_image == [["from a file"]] * 2 and out.provenance["prompt"] is None


def test_an_interrupted_run_keeps_its_finished_batches_and_the_next_run_resumes(scripted, image_records, tmp_path):
    state = {"batches": 0}

    def reply(record, retry):
        return sentence(record)

    calls = scripted(reply)
    from rsbench.captioning.captions import CaptionRun

    run = CaptionRun(image_records, "scripted", {}, prompt="plain", cache_dir=tmp_path, batch_size=2)
    original = run.captioner.caption

    def interrupted(records, prompt, **kwargs):
        state["batches"] += 1
        if state["batches"] == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the third batch
        return original(records, prompt, **kwargs)

    run.captioner.caption = interrupted
    with pytest.raises(KeyboardInterrupt):
        run.run()
    assert [line["image_id"] for line in cache_lines(tmp_path)] == [r.image_id for r in image_records[:4]]
    out = caption_records(image_records, "scripted", {}, prompt="plain", cache_dir=tmp_path, batch_size=2)
    assert calls[-1] == ([r.image_id for r in image_records[4:]], False)  # only the unfinished batch
    assert out.provenance["counts"]["from_cache"] == 4 and out.failures == 0


def test_a_line_cut_short_by_a_crash_is_skipped_and_the_next_write_starts_a_new_line(scripted, image_records,
                                                                                   tmp_path):
    calls = scripted(sentence)
    caption_records(image_records[:2], "scripted", {}, prompt="plain", cache_dir=tmp_path)
    (path,) = tmp_path.glob("*/captions.jsonl")
    with open(path, "a") as handle:
        handle.write('{"image": "abc", "captions": ["half a li')  # killed mid-write
    out = caption_records(image_records[:3], "scripted", {}, prompt="plain", cache_dir=tmp_path)
    assert calls[-1] == ([image_records[2].image_id], False) and out.failures == 0
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["image_id"] == image_records[2].image_id and len(lines) == 4
    cache = CaptionCache(tmp_path, "scripted", {"model": "scripted-v1", "oracle": False}, None)
    cache.path = path
    assert len(cache.load()) == 3 and cache.skipped_lines == 1


def test_a_failure_is_counted_retried_once_and_asked_again_by_the_next_run(scripted, image_records, tmp_path):
    flaky, broken = image_records[1].image_id, image_records[3].image_id

    def reply(record, retry):
        if record.image_id == flaky and not retry:
            return "```\n\n```"  # an empty reply: does not parse
        if record.image_id == broken:
            return CaptionFailure("timed out") if not retry else CaptionFailure("refused")
        return sentence(record)

    calls = scripted(reply)
    out = caption_records(image_records, "scripted", {}, prompt="plain", cache_dir=tmp_path, batch_size=6)
    assert calls == [([r.image_id for r in image_records], False), ([flaky, broken], True)]
    assert out.failures == 1 and out.per_image[3] == [] and out.per_image[1] == [sentence(image_records[1])]
    counts = out.provenance["counts"]
    assert (counts["failed"], counts["retried"], counts["recovered_by_retry"]) == (1, 2, 1)
    assert out.provenance["failure_examples"] == [{"image_id": broken, "reason": "timed out; retry: refused"}]
    assert cache_lines(tmp_path)[3] == {"image": cache_lines(tmp_path)[3]["image"], "image_id": broken,
                                        "failure": "timed out; retry: refused"}
    caption_records(image_records, "scripted", {}, prompt="plain", cache_dir=tmp_path)
    assert calls[2] == ([broken], False)  # the failure is asked again; the rest comes from the cache


def test_an_unparsable_reply_is_a_failure_with_the_parsers_reason(scripted, image_records, tmp_path):
    scripted(lambda record, retry: "not json", retry_failures=False)
    out = caption_records(image_records[:2], "scripted", {}, prompt="trsllava", cache_dir=tmp_path)
    assert out.failures == 2 and out.per_image == [[], []]
    assert out.provenance["failure_examples"][0]["reason"].startswith("reply does not parse: not JSON")
    assert out.provenance["counts"]["retried"] == 0


def test_order_is_kept_and_one_picture_is_asked_once(scripted, image_records, tmp_path):
    calls = scripted(sentence)
    doubled = image_records + [replace(image_records[0], image_id="same_picture_again.png")]
    for batch_size in (1, 4):
        out = caption_records(doubled[::-1], "scripted", {}, prompt="plain", cache_dir=tmp_path / str(batch_size),
                              batch_size=batch_size)
        # the first record of a picture is the one asked; the copy (last here) gets what was made for it
        expected = [[sentence(r)] for r in doubled[::-1]]
        assert out.per_image == expected[:-1] + [expected[0]]
    assert sum(len(ids) for ids, _ in calls) == 2 * 6


def test_an_unreadable_image_is_a_counted_failure(scripted, image_records, tmp_path):
    scripted(sentence)
    gone = replace(image_records[0], image=tmp_path / "missing.png")
    out = caption_records([gone, image_records[1]], "scripted", {}, prompt="plain", cache_dir=tmp_path / "c")
    assert out.failures == 1 and out.per_image[1]
    assert "cannot read image" in out.provenance["failure_examples"][0]["reason"]


def test_options_may_be_the_config_dataclass(scripted, image_records, tmp_path):
    from rsbench.hooks import get_registry

    scripted(sentence)
    options = get_registry("captioner").get("scripted").config_cls(tag="given")
    out = caption_records(image_records[:1], "scripted", options, prompt="plain", cache_dir=tmp_path)
    assert out.provenance["model"] == "scripted-given"


@pytest.mark.parametrize(("name", "options", "prompt", "error", "message"), [
    ("scriptd", {}, "plain", UnknownComponentError, "Did you mean: scripted"),
    ("scripted", {"colour": 1}, "plain", ConfigError, "unknown config key 'captioner.colour'"),
    ("scripted", {"tag": ["a"]}, "plain", ConfigError, "captioner.tag must be a string"),
    ("scripted", {}, "nosuchprompt", RsbenchError, "unknown prompt 'nosuchprompt'"),
    ("scripted", 3, "plain", RsbenchError, "takes options as a dict or a ScriptedOptions"),
])
def test_bad_input_is_one_rsbench_error(scripted, image_records, tmp_path, name, options, prompt, error, message):
    calls = scripted(sentence)
    with pytest.raises(error, match=message):
        caption_records(image_records, name, options, prompt=prompt, cache_dir=tmp_path)
    assert calls == []


def test_an_unwritable_cache_is_an_error_before_any_captioning(scripted, image_records, tmp_path):
    calls = scripted(sentence)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(RsbenchError, match="cannot write the caption cache .* set RSBENCH_CACHE"):
        caption_records(image_records, "scripted", {}, prompt="plain", cache_dir=blocked / "captions")
    assert calls == []


@pytest.mark.parametrize("bad", [["ok", "too many"], 3, [b"bytes"]])
def test_a_plugin_that_breaks_the_reply_contract_is_told_so(scripted, image_records, tmp_path, bad):
    if isinstance(bad, list) and len(bad) == 2:
        from rsbench.captioning.captions import CaptionRun

        scripted(sentence)
        run = CaptionRun(image_records[:1], "scripted", {}, prompt="plain", cache_dir=tmp_path)
        run.captioner.caption = lambda records, prompt, **kw: bad
        with pytest.raises(RsbenchError, match="returned 2 replies for 1 images"):
            run.run()
        return
    scripted(lambda record, retry: bad)
    with pytest.raises(RsbenchError, match="a captioner returns per image a str, a list of str or a CaptionFailure"):
        caption_records(image_records[:1], "scripted", {}, prompt="plain", cache_dir=tmp_path)
