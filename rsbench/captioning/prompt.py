"""Prompts are template files, each with the parser that reads the replies it asks for.

A prompt file is plain text with an optional front matter between two ``---`` lines (``parser: structured`` or
``parser: sentence``, ``variants: N``); the rest is what the model is sent. Built-ins live in ``prompts/``:
``trsllava`` (TRSLLaVA's structured prompt: five variants of one sentence / visible features with positions /
detailed caption, north-up, qualitative sizes, strict JSON) and ``plain`` (one sentence). A file without front
matter is read with the ``sentence`` parser. The digest (SHA-256 of the whole file) keys the caption cache.

Image-query prompts, in ``prompts/queries/``, ask for one description of an image used as a query (text-to-text's
image→text under ``image_queries: description``): ``trsllava-query``, our wording of the authors' image-query
prompt (``image_query_prompt`` in TRSLLaVA's ``vlm/prompt.py``). ``load_prompt`` finds them by name too.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsbench.errors import RsbenchError

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"
QUERY_PROMPT_DIR = PROMPT_DIR / "queries"
PARSERS = ("structured", "sentence")

# The authors' field names (TRSLLaVA's RSRT schema), and the older names their converter also reads.
FIELDS = ("one_sentence", "feature", "caption")
FIELD_ALIASES = {"one_sentence": ("one_sentence", "one_sentence_caption"), "feature": ("feature", "feature_analysis"),
                 "caption": ("caption",)}
# How the three fields of a variant become the one string that is embedded, as the authors' code writes it.
VARIANT_TEMPLATE = "ONE_SENTENCE: {one_sentence}\nFEATURE: {feature}\nCAPTION: {caption}"

_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
_SPACE = re.compile(r"\s+")


class ReplyError(ValueError):
    """A model's reply that does not give what the prompt asked for (a per-image failure, never a crash)."""


def builtin_prompts() -> list[str]:
    """Names of the captioning prompts shipped with rsbench (``trsllava``, ``plain``)."""
    return sorted(p.stem for p in PROMPT_DIR.glob("*.txt"))


def builtin_query_prompts() -> list[str]:
    """Names of the image-query prompts shipped with rsbench (``trsllava-query``)."""
    return sorted(p.stem for p in QUERY_PROMPT_DIR.glob("*.txt"))


@dataclass(frozen=True)
class Prompt:
    """A prompt's text, where it came from, its digest and how its replies are parsed."""

    name: str
    text: str
    digest: str
    parser: str = "sentence"
    variants: int = 5

    def parse(self, reply: str) -> list[str]:
        """The caption variants in ``reply``; ``ReplyError`` when it does not hold what the prompt asked for."""
        if self.parser == "structured":
            return parse_structured(reply, self.variants)
        return parse_sentence(reply)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "digest": self.digest, "parser": self.parser}


def load_prompt(prompt: str | Path) -> Prompt:
    """A built-in prompt by name (``trsllava``, ``plain``) or a prompt file by path; RsbenchError otherwise."""
    text_prompt = str(prompt)
    builtin = next((folder / f"{text_prompt}.txt" for folder in (PROMPT_DIR, QUERY_PROMPT_DIR)
                    if (folder / f"{text_prompt}.txt").is_file()), None)
    if "/" not in text_prompt and "\\" not in text_prompt and builtin is not None:
        path, name = builtin, text_prompt
    else:
        path, name = Path(text_prompt).expanduser(), str(prompt)
        if not path.is_file():
            names = ", ".join(builtin_prompts() + builtin_query_prompts())
            raise RsbenchError(f"unknown prompt '{prompt}': built-in prompts are {names}, "
                               f"or give the path of a prompt file (docs/captioning.md says its format)")
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RsbenchError(f"prompt file {path} is not UTF-8 text; save it as UTF-8") from exc
    except OSError as exc:
        raise RsbenchError(f"cannot read prompt file {path}: {exc.strerror or exc}") from exc
    header, body = _front_matter(source, path)
    parser = header.get("parser", "sentence")
    if parser not in PARSERS:
        raise RsbenchError(f"prompt file {path}: parser must be one of {', '.join(PARSERS)}; got {parser!r}")
    try:
        variants = int(header.get("variants", 5))
    except ValueError:
        variants = 0
    if variants < 1:
        raise RsbenchError(f"prompt file {path}: variants must be a whole number of at least 1")
    if not body.strip():
        raise RsbenchError(f"prompt file {path} holds no prompt text")
    return Prompt(name=name, text=body.strip(), digest=hashlib.sha256(source.encode("utf-8")).hexdigest(),
                  parser=parser, variants=variants)


def _front_matter(source: str, path: Path) -> tuple[dict[str, str], str]:
    lines = source.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, source
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise RsbenchError(f"prompt file {path}: the front matter opened by '---' is never closed") from None
    header = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if line.strip() and not sep:
            raise RsbenchError(f"prompt file {path}: front matter lines read 'key: value'; got {line.strip()!r}")
        if sep:
            header[key.strip()] = value.strip()
    return header, "\n".join(lines[end + 1:])


def _unfence(reply: str) -> str:
    """The reply without a markdown code fence around it (local models often add one despite the prompt)."""
    match = _FENCE.match(reply)
    return match.group(1) if match else reply


def _text(value: Any, field: str, index: int) -> str:
    # A list of strings (a common way to write "features") is joined: our reading, the authors' schema wants a str.
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "; ".join(v.strip() for v in value if v.strip())
    if not isinstance(value, str):
        raise ReplyError(f"variant {index}: '{field}' must be a string")
    text = _SPACE.sub(" ", value).strip()
    if not text:
        raise ReplyError(f"variant {index}: '{field}' is empty")
    return text


def parse_structured(reply: str, variants: int = 5) -> list[str]:
    """TRSLLaVA's reply: ``{"variants": [{one_sentence, feature, caption} x N]}``, each variant joined into one string.

    Rejected (as the authors' quality check rejects them): not JSON, not exactly ``variants`` items, an empty
    field, two variants equal once lower-cased with spaces collapsed.
    """
    try:
        data = json.loads(_unfence(reply))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ReplyError(f"not JSON ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    items = data.get("variants") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ReplyError('no "variants" list in the reply')
    if len(items) != variants:
        raise ReplyError(f"expected exactly {variants} variants, got {len(items)}")
    out, seen = [], set()
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ReplyError(f"variant {index} is not an object")
        fields = {}
        for field in FIELDS:
            key = next((k for k in FIELD_ALIASES[field] if k in item), None)
            if key is None:
                raise ReplyError(f"variant {index} has no '{field}'")
            fields[field] = _text(item[key], field, index)
        signature = tuple(fields[f].lower() for f in FIELDS)
        if signature in seen:
            raise ReplyError(f"variant {index} repeats an earlier variant")
        seen.add(signature)
        out.append(VARIANT_TEMPLATE.format(**fields))
    return out


def parse_sentence(reply: str) -> list[str]:
    """A one-sentence reply as one caption: fences and surrounding quotes removed, spaces collapsed; empty fails."""
    text = _SPACE.sub(" ", _unfence(reply)).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    if not text:
        raise ReplyError("empty reply")
    return [text]
