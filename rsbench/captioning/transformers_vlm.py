"""The ``transformers`` captioner: any image-text-to-text model a user has, from a hub id or a local folder.

Loaded with ``AutoProcessor`` and ``AutoModelForImageTextToText`` (``AutoModelForVision2Seq`` on transformers 4, and
``AutoModelForCausalLM`` for remote-code models), bf16 on CUDA and fp32 on the CPU. A batch is one processor call
with the tokenizer padding on the **left**, so every prompt ends where generation starts; decoding is greedy. The
prompt goes through the processor's chat template (a user turn: the image, then the prompt's text) when it has one,
else it is the text input as it is (BLIP-style captioners continue it). A reply that does not parse is asked once
more with sampling at ``retry_temperature``, seeded, since greedy decoding would repeat it.

The cache key holds the model's name, a fingerprint of a local folder (config.json, and each weight file's size and
first and last 4 MiB) and the options, not the device: captions made on a GPU are reused on the CPU.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsbench.captioning.base import Captioner, CaptionFailure, Reply
from rsbench.captioning.config import TransformersCaptionerConfig
from rsbench.captioning.images import open_rgb
from rsbench.errors import ConfigError, DataError, RsbenchError

if TYPE_CHECKING:
    from rsbench.captioning.prompt import Prompt
    from rsbench.data.record import Record

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
FINGERPRINT_BYTES = 4 << 20


def looks_like_path(model: str) -> bool:
    """A folder (existing, or written as a path) rather than a hub id (``org/name``)."""
    return (Path(model).expanduser().exists() or model.startswith((".", "/", "~")) or model.count("/") > 1
            or "\\" in model)


def folder_fingerprint(folder: Path) -> str:
    """A digest of a model folder that changes when its weights do, without reading gigabytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if path.name == "config.json":
            digest.update(rel.encode() + path.read_bytes())
        elif path.suffix in WEIGHT_SUFFIXES:
            size = path.stat().st_size
            digest.update(f"{rel}:{size}".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read(FINGERPRINT_BYTES))
                if size > 2 * FINGERPRINT_BYTES:
                    handle.seek(-FINGERPRINT_BYTES, os.SEEK_END)
                    digest.update(handle.read(FINGERPRINT_BYTES))
    return digest.hexdigest()[:16]


class TransformersCaptioner(Captioner):
    """A local image-text-to-text model (Qwen2-VL, LLaVA(-NeXT), BLIP, Idefics, ...) through transformers."""

    def __init__(self, config: TransformersCaptionerConfig) -> None:
        if not config.model.strip():
            raise ConfigError("captioner transformers needs captioner.model: a hub id (Qwen/Qwen2-VL-2B-Instruct) "
                              "or a local model folder")
        self.config = config
        self.retry_failures = config.retry_temperature > 0
        self.local = looks_like_path(config.model)
        self.path = Path(config.model).expanduser().resolve() if self.local else None
        if self.path is not None and not self.path.is_dir():
            raise ConfigError(f"captioner.model: model folder not found: {self.path}")
        self._identity: dict[str, Any] | None = None
        self._loaded: tuple[Any, Any, Any] | None = None  # (model, processor, device)

    def describe(self) -> dict[str, Any]:
        if self._identity is None:
            c = self.config
            self._identity = {
                "model": str(self.path) if self.path is not None else c.model, "oracle": False,
                "revision": folder_fingerprint(self.path) if self.path is not None else (c.revision or "default"),
                "settings": {"max_new_tokens": c.max_new_tokens, "dtype": c.dtype,
                             "retry_temperature": c.retry_temperature, "seed": c.seed},
            }
        return self._identity

    def _from_pretrained_kwargs(self) -> dict[str, Any]:
        c = self.config
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        local_only = c.local_files_only if c.local_files_only is not None else (self.local or offline)
        kwargs: dict[str, Any] = {"local_files_only": local_only, "trust_remote_code": c.trust_remote_code}
        if c.revision and not self.local:
            kwargs["revision"] = c.revision
        return kwargs

    def load(self, device_name: str) -> tuple[Any, Any, Any]:
        """The model (eval mode, on the device) and its processor, loaded once."""
        from rsbench.runtime import resolve_device

        device = resolve_device(device_name)
        if self._loaded is not None and self._loaded[2] == device:
            return self._loaded
        import torch
        import transformers

        where = str(self.path) if self.path is not None else self.config.model
        kwargs = self._from_pretrained_kwargs()
        dtypes = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
        dtype = dtypes.get(self.config.dtype) or (torch.bfloat16 if device.type == "cuda" else torch.float32)
        transformers.utils.logging.disable_progress_bar()
        try:
            processor = transformers.AutoProcessor.from_pretrained(where, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            raise RsbenchError(self._cannot_load(where, exc)) from None
        if not hasattr(processor, "image_processor") and not hasattr(processor, "tokenizer"):
            raise RsbenchError(f"{where} is not an image-to-text model: its processor "
                               f"({type(processor).__name__}) takes no images")
        model = self._auto_model(transformers, where, kwargs, dtype)
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = "left"  # generation continues every prompt from its last token
            if tokenizer.pad_token is None and tokenizer.eos_token is not None:
                tokenizer.pad_token = tokenizer.eos_token
        model.to(device).eval()
        self._loaded = (model, processor, device)
        return self._loaded

    def _auto_model(self, transformers: Any, where: str, kwargs: dict[str, Any], dtype: Any) -> Any:
        major = int(transformers.__version__.split(".")[0])
        dtype_kwarg = {"dtype": dtype} if major >= 5 else {"torch_dtype": dtype}
        classes = [getattr(transformers, n) for n in ("AutoModelForImageTextToText", "AutoModelForVision2Seq")
                   if hasattr(transformers, n)]
        if self.config.trust_remote_code:
            classes.append(transformers.AutoModelForCausalLM)
        problem: Exception | None = None
        for auto_class in classes:
            try:
                return auto_class.from_pretrained(where, **kwargs, **dtype_kwarg)
            except ValueError as exc:  # "Unrecognized configuration class": try the next auto class
                problem = exc
            except OSError as exc:
                raise RsbenchError(self._cannot_load(where, exc)) from None
        model_type = "?"
        try:
            model_type = transformers.AutoConfig.from_pretrained(where, **kwargs).model_type
        except (OSError, ValueError):
            pass
        hint = "" if self.config.trust_remote_code else "; a model with its own code needs captioner.trust_remote_code"
        raise RsbenchError(f"{where} is not an image-text-to-text model (its config is '{model_type}'): the "
                           f"transformers captioner needs one AutoModelForImageTextToText loads (Qwen2-VL, LLaVA, "
                           f"BLIP, ...){hint} ({' '.join(str(problem).split())[:120]})")

    def _cannot_load(self, where: str, exc: Exception) -> str:
        reason = " ".join(str(exc).split())[:200]
        if self.local:
            return f"cannot load the model in {where}: {reason}"
        return (f"cannot load '{where}': {reason}. A hub id needs the hub or a copy in the local Hugging Face cache "
                f"(offline: download it elsewhere and give the folder as captioner.model)")

    def prompt_text(self, processor: Any, prompt: Prompt) -> str:
        """The text input for one image: the chat template's user turn (image, then prompt) or the prompt itself."""
        if getattr(processor, "chat_template", None):
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt.text}]}]
            return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return prompt.text

    def generate(self, images: list[Any], prompt: Prompt, device_name: str, sample: bool) -> list[str]:
        """One reply per image, generated as one left-padded batch."""
        import torch

        model, processor, device = self.load(device_name)
        texts = [self.prompt_text(processor, prompt)] * len(images)
        try:
            inputs = processor(images=images, text=texts, return_tensors="pt", padding=True)
        except (ValueError, TypeError):  # processors of multi-image models (Idefics, SmolVLM) want a list per text
            inputs = processor(images=[[image] for image in images], text=texts, return_tensors="pt", padding=True)
        inputs = {k: (v.to(device, dtype=model.dtype) if v.is_floating_point() else v.to(device))
                  if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
        options: dict[str, Any] = {"max_new_tokens": self.config.max_new_tokens, "do_sample": sample}
        if sample:
            options["temperature"] = self.config.retry_temperature
        tokenizer = getattr(processor, "tokenizer", None)
        if getattr(model.generation_config, "pad_token_id", None) is None and tokenizer is not None:
            options["pad_token_id"] = tokenizer.pad_token_id
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.inference_mode():
            torch.manual_seed(self.config.seed)
            out = model.generate(**inputs, **options)
        prompt_ids = inputs.get("input_ids")
        if prompt_ids is not None and out.shape[1] >= prompt_ids.shape[1] \
                and torch.equal(out[:, :prompt_ids.shape[1]].cpu(), prompt_ids.cpu()):
            out = out[:, prompt_ids.shape[1]:]  # decoder-only models return the prompt before the reply
        decode = getattr(processor, "batch_decode", None) or tokenizer.batch_decode
        return [text.strip() for text in decode(out, skip_special_tokens=True)]

    def caption(self, records: Sequence[Record], prompt: Prompt, *, device: str = "cpu",
                retry: bool = False) -> list[Reply]:
        replies: list[Reply] = [CaptionFailure("not captioned")] * len(records)
        images, where = [], []
        for i, record in enumerate(records):
            try:
                images.append(open_rgb(record.image))
                where.append(i)
            except DataError as exc:
                replies[i] = CaptionFailure(str(exc))
        if images:
            for i, text in zip(where, self.generate(images, prompt, device, sample=retry), strict=True):
                replies[i] = text
        return replies


def build(config: TransformersCaptionerConfig) -> TransformersCaptioner:
    """Image-text-to-text model (hub id or local folder) through transformers."""
    return TransformersCaptioner(config)
