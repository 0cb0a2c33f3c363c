"""Prompt files and their parsers: TRSLLaVA's structured replies are validated as the authors' quality check does."""

from __future__ import annotations

import hashlib
import json

import pytest

from rsbench.captioning.prompt import (
    PROMPT_DIR,
    ReplyError,
    builtin_prompts,
    load_prompt,
    parse_sentence,
    parse_structured,
)
from rsbench.errors import RsbenchError


def variant(i: int, **overrides) -> dict:
    base = {"one_sentence": f"Summary {i}.", "feature": f"feature {i} in the north", "caption": f"Caption {i}."}
    return base | overrides


def reply(variants: list) -> str:
    return json.dumps({"variants": variants})


def test_builtin_prompts_are_shipped_with_their_parsers():
    assert builtin_prompts() == ["plain", "trsllava"]
    trsllava, plain = load_prompt("trsllava"), load_prompt("plain")
    assert (trsllava.parser, trsllava.variants) == ("structured", 5)
    assert plain.parser == "sentence"
    # what the model is sent: the instructions of the paper's prompt, without the front matter
    text = trsllava.text.lower()
    assert not text.startswith("---") and "parser:" not in text
    for phrase in ("north", "west", "percentages", "strict json", "five", "one_sentence", "feature", "caption"):
        assert phrase in text, phrase
    assert "one sentence" in plain.text.lower()


def test_digest_is_the_sha256_of_the_file_text():
    source = (PROMPT_DIR / "trsllava.txt").read_text(encoding="utf-8")
    assert load_prompt("trsllava").digest == hashlib.sha256(source.encode()).hexdigest()
    assert load_prompt("trsllava").digest != load_prompt("plain").digest


def test_prompt_file_by_path_with_and_without_front_matter(tmp_path):
    bare = tmp_path / "mine.txt"
    bare.write_text("Say what you see.\n")
    prompt = load_prompt(str(bare))
    assert (prompt.text, prompt.parser, prompt.name) == ("Say what you see.", "sentence", str(bare))
    structured = tmp_path / "three.txt"
    structured.write_text("---\nparser: structured\nvariants: 3\n---\nGive three.\n")
    prompt = load_prompt(structured)
    assert (prompt.parser, prompt.variants, prompt.text) == ("structured", 3, "Give three.")
    assert len(prompt.parse(reply([variant(i) for i in range(3)]))) == 3
    with pytest.raises(ReplyError, match="exactly 3"):
        prompt.parse(reply([variant(i) for i in range(5)]))


@pytest.mark.parametrize(("content", "message"), [
    ("---\nparser: yaml\n---\ntext", "parser must be one of"),
    ("---\nparser: structured\n", "never closed"),
    ("---\nvariants: none\n---\ntext", "variants must be"),
    ("---\nparser: sentence\n---\n   \n", "holds no prompt text"),
    ("---\njust words\n---\ntext", "key: value"),
])
def test_bad_prompt_files_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(RsbenchError, match=message):
        load_prompt(path)


def test_unknown_prompt_names_the_builtins():
    with pytest.raises(RsbenchError, match="built-in prompts are plain, trsllava"):
        load_prompt("trsllava2")


def test_structured_reply_joins_each_variants_fields_as_the_authors_code():
    out = parse_structured(reply([variant(i) for i in range(5)]))
    assert out[0] == "ONE_SENTENCE: Summary 0.\nFEATURE: feature 0 in the north\nCAPTION: Caption 0."
    assert len(out) == 5 and len(set(out)) == 5


@pytest.mark.parametrize(("variants", "message"), [
    ([variant(i) for i in range(4)], "exactly 5 variants, got 4"),
    ([variant(i) for i in range(6)], "exactly 5 variants, got 6"),
    ([variant(0, feature="  ")] + [variant(i) for i in range(1, 5)], "'feature' is empty"),
    ([variant(0, caption="")] + [variant(i) for i in range(1, 5)], "'caption' is empty"),
    ([variant(i) for i in range(4)] + [variant(1)], "repeats an earlier variant"),
    # duplicates are compared as the authors do: case and runs of spaces do not make a variant new
    ([variant(i) for i in range(4)] + [variant(1, one_sentence="SUMMARY   1.")], "repeats an earlier variant"),
    ([{"one_sentence": "a", "caption": "b"}] + [variant(i) for i in range(1, 5)], "has no 'feature'"),
    ([variant(0, feature=3)] + [variant(i) for i in range(1, 5)], "must be a string"),
    (["just text"] * 5, "is not an object"),
])
def test_structured_reply_is_rejected_when_it_breaks_the_rules(variants, message):
    with pytest.raises(ReplyError, match=message):
        parse_structured(reply(variants))


@pytest.mark.parametrize("text", ["", "not json at all", '{"variants": "five"}', "[1, 2]", '{"variants": [',
                                  "Here it is: " + reply([variant(i) for i in range(5)])])
def test_structured_reply_that_is_not_the_json_asked_for_fails(text):
    with pytest.raises(ReplyError):
        parse_structured(text)


def test_structured_reply_tolerates_a_code_fence_older_field_names_and_feature_lists():
    items = [variant(i) for i in range(4)]
    items.append({"one_sentence_caption": "Summary 4.", "feature_analysis": ["a pond in the west", "a road"],
                  "caption": "Caption 4."})
    out = parse_structured("```json\n" + reply(items) + "\n```")
    assert out[4] == "ONE_SENTENCE: Summary 4.\nFEATURE: a pond in the west; a road\nCAPTION: Caption 4."


def test_sentence_reply():
    assert parse_sentence('  "Two white planes\n  on the apron."  ') == ["Two white planes on the apron."]
    assert parse_sentence("```\nA river.\n```") == ["A river."]
    for empty in ("", "   ", '""', "```\n```"):
        with pytest.raises(ReplyError, match="empty"):
            parse_sentence(empty)
