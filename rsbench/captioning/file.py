"""The ``file`` captioner: captions made elsewhere (another tool, a release such as TRSLLaVA's RSRT), read from a file.

Formats: JSON ``{filename: [captions...]}`` or ``{filename: caption}``, or JSONL lines ``{"image": filename,
"captions": [...]}`` / ``"caption": "..."`` / ``"variants": [{one_sentence, feature, caption}, ...]`` (RSRT; joined
as the structured prompt's parser joins them). Several lines for one image add up. A key matches a record by its
image id (the path under the image folder) or, when no other key shares it, by its file name. An image the file
does not name is a counted failure; a file that names none of the images is an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from rsbench.captioning.base import Captioner, CaptionFailure, Reply
from rsbench.captioning.config import FileCaptionerConfig
from rsbench.captioning.prompt import FIELD_ALIASES, FIELDS, VARIANT_TEMPLATE
from rsbench.errors import ConfigError, DataError
from rsbench.safe_load import MAX_DEPTH, MiB, json_depth

MAX_CAPTIONS_BYTES = 1024 * MiB

if TYPE_CHECKING:
    from rsbench.captioning.prompt import Prompt
    from rsbench.data.record import Record

IMAGE_KEYS = ("image", "filename", "image_path", "file")


def _normal_key(key: str) -> str:
    return str(PurePosixPath(key.replace("\\", "/"))).removeprefix("./")


def _variant_text(item: Any, where: str) -> str:
    if isinstance(item, str):
        return item.strip()
    if isinstance(item, dict):
        fields = {}
        for field in FIELDS:
            key = next((k for k in FIELD_ALIASES[field] if k in item), None)
            value = item.get(key) if key else None
            if not isinstance(value, str):
                raise DataError(f"{where}: a variant needs string fields {', '.join(FIELDS)}")
            fields[field] = " ".join(value.split())
        return VARIANT_TEMPLATE.format(**fields)
    raise DataError(f"{where}: captions must be strings or RSRT variants, got {type(item).__name__}")


def _captions_of(value: Any, where: str) -> list[str]:
    """A JSON value's captions: a string, a list of strings, or a list of RSRT variant objects."""
    items = value if isinstance(value, list) else [value]
    return [text for text in (_variant_text(item, where) for item in items) if text]


def _parse(text: str, where: str) -> Any:
    """``json.loads`` with a depth limit: a captions file nests a few levels, never hundreds."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
    else:
        if json_depth(value, MAX_DEPTH) <= MAX_DEPTH:
            return value
    raise DataError(f"captions file {where} is JSON nested too deeply (more than {MAX_DEPTH} levels) to be a "
                    f"captions file; check that it is the file you meant")


def read_captions_file(path: Path) -> dict[str, list[str]]:
    """``{key: [captions]}`` from a JSON or JSONL captions file; DataError naming the line for malformed content."""
    try:
        if path.stat().st_size > MAX_CAPTIONS_BYTES:
            raise DataError(f"captions file {path} is {path.stat().st_size / MiB:,.0f} MiB, more than the "
                            f"{MAX_CAPTIONS_BYTES / MiB:,.0f} MiB a captions file can be; split it or check the path")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"captions file not found: {path} (captioner.path)") from None
    except UnicodeDecodeError:
        raise DataError(f"captions file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise DataError(f"cannot read captions file {path}: {exc.strerror or exc}") from None
    entries: list[tuple[Any, str]] = []  # (entry object, where)
    data: Any = None
    if path.suffix.lower() != ".jsonl":
        try:
            data = _parse(text, str(path))
        except json.JSONDecodeError as exc:
            if path.suffix.lower() == ".json" and "\n" not in text.strip():
                raise DataError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if data is None:  # JSON lines
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    entries.append((_parse(line, f"{path}:{number}"), f"{path}:{number}"))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number} is neither JSON nor a JSON line ({exc.msg})") from None
    elif isinstance(data, dict) and not any(k in data for k in IMAGE_KEYS):
        return {_normal_key(str(k)): _captions_of(v, f"{path}: {k}") for k, v in data.items()}
    else:
        entries = [(item, f"{path}: item {i}") for i, item in enumerate(data if isinstance(data, list) else [data])]
    out: dict[str, list[str]] = {}
    for entry, where in entries:
        if not isinstance(entry, dict):
            raise DataError(f"{where}: expected an object with 'image' and 'captions'")
        key = next((entry[k] for k in IMAGE_KEYS if isinstance(entry.get(k), str)), None)
        if key is None:
            raise DataError(f"{where}: no image file name (one of {', '.join(IMAGE_KEYS)})")
        value = next((entry[k] for k in ("captions", "caption", "variants") if k in entry), None)
        if value is None:
            raise DataError(f"{where}: no 'captions', 'caption' or 'variants'")
        out.setdefault(_normal_key(key), []).extend(_captions_of(value, where))
    return out


class FileCaptioner(Captioner):
    """Looks each record's captions up in a file; needs no prompt and no model."""

    uses_prompt = False
    retry_failures = False  # a second look-up finds the same nothing

    def __init__(self, config: FileCaptionerConfig) -> None:
        if not config.path:
            raise ConfigError("captioner file needs captioner.path: the JSON or JSONL file of captions")
        self.config = config
        self.path = Path(config.path).expanduser().resolve()
        self._captions: dict[str, list[str]] | None = None
        self._by_name: dict[str, list[str]] = {}
        self._digest: str | None = None

    @property
    def captions(self) -> dict[str, list[str]]:
        if self._captions is None:
            self._captions = read_captions_file(self.path)
            for key in self._captions:
                self._by_name.setdefault(PurePosixPath(key).name, []).append(key)
        return self._captions

    def describe(self) -> dict[str, Any]:
        if self._digest is None:
            try:
                self._digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
            except OSError as exc:
                raise ConfigError(f"cannot read captions file {self.path} (captioner.path): "
                                  f"{exc.strerror or exc}") from None
        return {"model": f"file:{self.path.name}", "oracle": False, "file_sha256": self._digest}

    def lookup(self, record: Record) -> list[str] | None:
        """The file's captions for ``record`` (by image id, else by an unambiguous file name), or None."""
        captions = self.captions
        key = _normal_key(record.image_id)
        if key in captions:
            return captions[key]
        keys = self._by_name.get(PurePosixPath(key).name, [])
        return captions[keys[0]] if len(keys) == 1 else None

    def check(self, records: Sequence[Record]) -> None:
        """One error when the file names none of the records (a wrong file, or another dataset's)."""
        if records and not self.captions:
            raise DataError(f"captions file {self.path} holds no captions")
        if records and not any(self.lookup(r) is not None for r in records):
            theirs = ", ".join(sorted(self.captions)[:3])
            ours = ", ".join(r.image_id for r in records[:3])
            raise DataError(f"captions file {self.path} names none of the {len(records)} images (the file has "
                            f"{theirs}, ...; the dataset has {ours}, ...): is it the file for this dataset?")

    def caption(self, records: Sequence[Record], prompt: Prompt, *, device: str = "cpu",
                retry: bool = False) -> list[Reply]:
        replies: list[Reply] = []
        for record in records:
            found = self.lookup(record)
            if found is None:
                replies.append(CaptionFailure(f"{self.path.name} has no captions for {record.image_id}"))
            elif not found:
                replies.append(CaptionFailure(f"{self.path.name} lists {record.image_id} with no captions"))
            else:
                replies.append(list(found))
        return replies


def build(config: FileCaptionerConfig) -> FileCaptioner:
    """Captions read from a JSON/JSONL file keyed by image filename."""
    return FileCaptioner(config)
